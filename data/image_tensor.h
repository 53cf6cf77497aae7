#pragma once
// Images as tensors: decoding a split's images into memory, and the transform from
// stored pixels to encoder input.
#include <ATen/core/Tensor.h>

#include <vector>

#include "config/data_config.h"
#include "data/cirr.h"
#include "data/image_transform.h"
#include "dist/communicator.h"

namespace spn {

// The transform [data] describes (image_size, preprocess, target_ratio).
ImageTransform image_transform_of(const DataConfig& data);

// Decodes the split images `indices` on this rank into a uint8 tensor
// [n, 3, size, size] through `transform`.
at::Tensor decode_split_images(const CirrSplit& split, const std::vector<int64_t>& indices,
                               const ImageTransform& transform);

// The same tensor on every rank, with the decoding sharded across ranks and the
// results all-gathered.
at::Tensor load_split_images(Communicator& comm, const CirrSplit& split, const std::vector<int64_t>& indices,
                             const ImageTransform& transform, bool show_progress);

// uint8 [n, 3, h, w] -> float [n, 3, h, w] scaled to [-1, 1].
at::Tensor normalize_images(const at::Tensor& pixels);

}  // namespace spn
