#include "train/encode_images.h"

#include <torch/torch.h>

#include "core/progress.h"
#include "data/image_prefetcher.h"
#include "data/image_tensor.h"
#include "dist/autocast.h"

namespace spn {

torch::Tensor encode_item_rows(CirModel& model, const ImageRows& images, const ShardRange& rows,
                               const std::function<int64_t(int64_t)>& image_of, const std::vector<int64_t>& row_shape,
                               const ItemEncoder& encode, const ExperimentConfig& config, const std::string& label,
                               bool show_progress) {
  const int64_t batch = config.eval.batch_size;
  const auto chunk = [&](int64_t k) {
    const int64_t begin = rows.begin + k * batch;
    return ShardRange{begin, std::min(rows.end, begin + batch)};
  };
  const int64_t chunks = (rows.size() + batch - 1) / batch;
  ImagePrefetcher pixels(
      images,
      [&](int64_t k) {
        std::vector<int64_t> list;
        for (int64_t row = chunk(k).begin; row < chunk(k).end; ++row) list.push_back(image_of(row));
        return list;
      },
      chunks, loader_options_of(config.data, model.device_type() == c10::kCUDA));
  torch::NoGradGuard no_grad;
  const Autocast autocast(config.precision, model.device_type());
  const bool training = model.is_training();
  model.eval();
  std::vector<int64_t> empty_shape = {0};  // an empty shard's, [0, row_shape...]
  empty_shape.insert(empty_shape.end(), row_shape.begin(), row_shape.end());
  std::vector<torch::Tensor> encoded = {torch::empty(empty_shape)};
  Progress progress(label, rows.size(), show_progress);
  for (int64_t k = 0; k < chunks; ++k) {
    // Pixels go to the model's device (from pinned memory when it is a GPU); the
    // rows come back to the host, where banks, mining and metrics read them.
    encoded.push_back(encode(normalize_images(pixels.take(k).to(model.device(), true)), chunk(k)).cpu());
    progress.update(chunk(k).end - rows.begin);
  }
  progress.finish();
  model.train(training);
  return torch::cat(encoded);
}

torch::Tensor encode_image_rows(CirModel& model, const ImageRows& images, const ShardRange& rows,
                                const ExperimentConfig& config, const std::string& label, bool show_progress) {
  return encode_item_rows(
      model, images, rows, [](int64_t row) { return row; }, model.target_row_shape(),
      [&](const torch::Tensor& pixels, const ShardRange&) { return model.encode_target(pixels); }, config, label,
      show_progress);
}

}  // namespace spn
