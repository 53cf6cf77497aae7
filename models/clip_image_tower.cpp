#include "models/clip_image_tower.h"

#include <torch/torch.h>

#include "core/error.h"

namespace spn {

torch::Tensor ClipImageTower::encode(const torch::Tensor& pixels) {
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != image_size_ || pixels.size(3) != image_size_)
    throw UserError("the CLIP image tower takes [B, 3, " + std::to_string(image_size_) + ", " +
                    std::to_string(image_size_) + "] images, got " + std::string(c10::str(pixels.sizes())) +
                    " (set data.image_size to the model's)");
  return encode_pixels(pixels);
}

torch::Tensor clip_normalize(const torch::Tensor& images) {
  auto options = images.options();
  torch::Tensor mean = torch::tensor({kClipMean[0], kClipMean[1], kClipMean[2]}, options).view({1, 3, 1, 1});
  torch::Tensor std = torch::tensor({kClipStd[0], kClipStd[1], kClipStd[2]}, options).view({1, 3, 1, 1});
  return ((images + 1) * 0.5 - mean) / std;
}

torch::Tensor ClipImageTower::forward(const torch::Tensor& images) { return encode(clip_normalize(images)); }

}  // namespace spn
