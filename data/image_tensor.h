#pragma once
// Images as tensors: decoding a split's images into memory, and the transform from
// stored pixels to encoder input.
#include <ATen/core/Tensor.h>

#include <vector>

#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

// Decodes the split images `indices` on this rank into a uint8 tensor
// [n, 3, size, size], resizing (bilinear) any image of another size.
at::Tensor decode_split_images(const CirrSplit& split, const std::vector<int64_t>& indices, int64_t size);

// The same tensor on every rank, with the decoding sharded across ranks and the
// results all-gathered.
at::Tensor load_split_images(Communicator& comm, const CirrSplit& split, const std::vector<int64_t>& indices,
                             int64_t size, bool show_progress);

// uint8 [n, 3, h, w] -> float [n, 3, h, w] scaled to [-1, 1].
at::Tensor normalize_images(const at::Tensor& pixels);

}  // namespace spn
