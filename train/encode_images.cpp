#include "train/encode_images.h"

#include <torch/torch.h>

#include "core/progress.h"
#include "data/image_tensor.h"
#include "dist/autocast.h"

namespace spn {

torch::Tensor encode_image_rows(CirModel& model, const PixelRows& pixels, const ShardRange& rows,
                                const ExperimentConfig& config, const std::string& label, bool show_progress) {
  const int64_t batch = config.eval.batch_size;
  torch::NoGradGuard no_grad;
  const Autocast autocast(config.precision, model.device_type());
  const bool training = model.is_training();
  model.eval();
  std::vector<torch::Tensor> chunks = {torch::empty({0, config.model.embed_dim})};
  Progress progress(label, rows.size(), show_progress);
  for (int64_t begin = rows.begin; begin < rows.end; begin += batch) {
    const int64_t end = std::min(rows.end, begin + batch);
    chunks.push_back(model.encode_target(normalize_images(pixels(begin, end))));
    progress.update(end - rows.begin);
  }
  progress.finish();
  model.train(training);
  return torch::cat(chunks);
}

PixelRows rows_of(const torch::Tensor& images) {
  return [images](int64_t begin, int64_t end) { return images.narrow(0, begin, end - begin); };
}

}  // namespace spn
