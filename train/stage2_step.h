#pragma once
// One stage-2 step on this rank's slice of the global batch: queries from frozen
// reference rows (CirModel::encode_query_from_reference_row) and the trainable query side, scored by the exact softmax
// over the whole candidate bank, backward, gradient sum of the query side over ranks, AdamW on the query side only.
//   sharded bank:    queries all-gathered with gradient; every rank scores all queries
//                    against its rows and the softmax is reduced across ranks.
//   replicated bank: every rank scores its own queries against the whole bank (data
//                    parallel); no collective inside the loss.
// The queries are encoded in `precision` (dist/autocast.h); the softmax over the bank
// runs outside autocast, in float32 on float32 queries and bank rows.
#include <torch/optim/adamw.h>

#include <memory>

#include "config/choices.h"
#include "config/stage2_config.h"
#include "dist/communicator.h"
#include "dist/distributed_softmax.h"
#include "dist/gradient_sync.h"
#include "models/cir_model.h"
#include "train/candidate_bank.h"
#include "train/loss_scaler.h"
#include "train/step_result.h"

namespace spn {

class Stage2Step {
 public:
  // Freezes the model's target side (CirModel::freeze_target_side) before it reads the
  // query-side parameters.
  Stage2Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage2Config& config, CandidateBank bank,
             Precision precision = Precision::Fp32);

  // Returns the mean loss of the global batch. `targets` covers every query of the
  // global batch; this rank's queries are its shard_range slice of it.
  double compute_gradients(const torch::Tensor& local_reference_rows, const torch::Tensor& local_tokens,
                           const SoftmaxTargets& targets);
  // compute_gradients, then AdamW on the query side unless fp16's gradients overflowed.
  StepResult run(const torch::Tensor& local_reference_rows, const torch::Tensor& local_tokens,
                 const SoftmaxTargets& targets, double lr);

  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  LossScaler& scaler() { return scaler_; }

 private:
  torch::Tensor sharded_loss(const torch::Tensor& local_queries, const SoftmaxTargets& targets);
  torch::Tensor replicated_loss(const torch::Tensor& local_queries, const SoftmaxTargets& targets);

  Communicator& comm_;
  std::unique_ptr<Communicator> this_process_;  // the loss's communicator in replicated mode
  std::shared_ptr<CirModel> model_;
  int64_t chunk_;
  MultiPositive multi_positive_;
  CandidateBank bank_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;  // AdamW, sharded or not
  GradientSync gradient_sync_;
  Precision precision_;
  LossScaler scaler_;
  bool finite_gradients_ = true;  // of the last compute_gradients, agreed by all ranks
};

}  // namespace spn
