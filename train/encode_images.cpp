#include "train/encode_images.h"

#include <torch/torch.h>

#include "core/progress.h"
#include "data/image_prefetcher.h"
#include "data/image_tensor.h"
#include "dist/autocast.h"

namespace spn {

torch::Tensor encode_image_rows(CirModel& model, const ImageRows& images, const ShardRange& rows,
                                const ExperimentConfig& config, const std::string& label, bool show_progress) {
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
        for (int64_t row = chunk(k).begin; row < chunk(k).end; ++row) list.push_back(row);
        return list;
      },
      chunks, loader_options_of(config.data, model.device_type() == c10::kCUDA));
  torch::NoGradGuard no_grad;
  const Autocast autocast(config.precision, model.device_type());
  const bool training = model.is_training();
  model.eval();
  std::vector<int64_t> empty_shape = {0};  // an empty shard's, [0, D] or [0, T, D]
  for (int64_t size : model.target_row_shape()) empty_shape.push_back(size);
  std::vector<torch::Tensor> encoded = {torch::empty(empty_shape)};
  Progress progress(label, rows.size(), show_progress);
  for (int64_t k = 0; k < chunks; ++k) {
    // Pixels go to the model's device (from pinned memory when it is a GPU); the
    // embeddings come back to the host, where banks, mining and metrics read them.
    encoded.push_back(model.encode_target(normalize_images(pixels.take(k).to(model.device(), true))).cpu());
    progress.update(chunk(k).end - rows.begin);
  }
  progress.finish();
  model.train(training);
  return torch::cat(encoded);
}

}  // namespace spn
