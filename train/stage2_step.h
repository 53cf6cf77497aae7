#pragma once
// One stage-2 step on this rank's slice of the global batch: queries from frozen
// reference features and trainable text side, all-gathered with gradient, scored by
// the exact softmax over the whole sharded bank, backward, gradient sum of the query
// side over ranks, AdamW on the query side only.
#include <torch/optim/adamw.h>

#include <memory>

#include "dist/communicator.h"
#include "dist/distributed_softmax.h"
#include "dist/gradient_sync.h"
#include "launcher/config.h"
#include "models/cir_model.h"

namespace spn {

class Stage2Step {
 public:
  // `bank_shard` holds global bank rows [shard_begin, shard_begin + rows).
  Stage2Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage2Config& config,
             torch::Tensor bank_shard, int64_t shard_begin);

  // Returns the mean loss of the global batch; `targets` covers every query of it.
  double compute_gradients(const torch::Tensor& local_reference_features, const torch::Tensor& local_tokens,
                           const SoftmaxTargets& targets);
  double run(const torch::Tensor& local_reference_features, const torch::Tensor& local_tokens,
             const SoftmaxTargets& targets, double lr);

  torch::optim::AdamW& optimizer() { return optimizer_; }

 private:
  Communicator& comm_;
  std::shared_ptr<CirModel> model_;
  int64_t chunk_;
  torch::Tensor bank_shard_;
  int64_t shard_begin_;
  torch::optim::AdamW optimizer_;
  GradientSync gradient_sync_;
};

}  // namespace spn
