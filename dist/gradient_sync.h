#pragma once
// Data-parallel gradient synchronisation. Gradients are summed over ranks (not
// averaged): each rank's loss is already divided by the global batch size, so the sum
// is the single-process gradient. Parameters are coalesced into buckets so a model
// with many small tensors needs few collectives; bucket buffers are allocated once.
#include <ATen/core/Tensor.h>

#include <vector>

#include "dist/communicator.h"

namespace spn {

class GradientSync {
 public:
  GradientSync(Communicator& comm, std::vector<at::Tensor> parameters, int64_t bucket_bytes);
  // Sums every parameter's .grad() over ranks in place. A parameter without a gradient
  // on this rank takes part with zeros, so all ranks run the same collectives.
  void all_reduce();
  size_t bucket_count() const { return buckets_.size(); }

 private:
  Communicator& comm_;
  std::vector<at::Tensor> parameters_;
  std::vector<std::vector<size_t>> buckets_;  // parameter indices per bucket
  std::vector<at::Tensor> buffers_;           // one flat buffer per bucket
};

// Copies rank `root`'s parameter values (and buffers) to every rank.
void broadcast_tensors(Communicator& comm, const std::vector<at::Tensor>& tensors, int root = 0);

}  // namespace spn
