#include "data/image_tensor.h"

#include <ATen/ATen.h>

namespace spn {
ImageTransform image_transform_of(const DataConfig& data) {
  return ImageTransform{data.image_size, data.preprocess, data.target_ratio};
}

at::Tensor normalize_images(const at::Tensor& pixels) { return pixels.to(at::kFloat).div_(127.5).sub_(1.0); }

}  // namespace spn
