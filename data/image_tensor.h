#pragma once
// Images as tensors: the transform [data] describes, and the step from stored pixels to
// encoder input.
#include <ATen/core/Tensor.h>

#include "config/data_config.h"
#include "data/image_transform.h"

namespace spn {

// The transform [data] describes (image_size, preprocess, target_ratio).
ImageTransform image_transform_of(const DataConfig& data);

// uint8 [n, 3, h, w] -> float [n, 3, h, w] scaled to [-1, 1].
at::Tensor normalize_images(const at::Tensor& pixels);

}  // namespace spn
