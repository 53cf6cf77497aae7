#pragma once
// One stage-1 optimisation step on this rank's slice of the global batch: encode,
// all-gather features with gradient (more in-batch negatives with more ranks), the model
// family's objective (the dual encoder: InfoNCE over the configured negative types;
// SPRC: train/sprc_loss.h; Pic2Word: train/pic2word_loss.h on images alone, whose
// batches have no target images; RTD: rtd_loss_shard (train/rtd_stage1.h) on text triplets, whose token rows
// are [B, 4, L] and batches have no images), backward, gradient sum over ranks, AdamW on the parameters
// that require gradients (SPRC's ViT is frozen). The
// forward pass computes in `precision` (dist/autocast.h); with fp16 the loss is scaled
// (train/loss_scaler.h).
#include <torch/optim/adamw.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/choices.h"
#include "config/stage1_config.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "models/cir_model.h"
#include "train/loss_scaler.h"
#include "train/negative_types.h"
#include "train/step_result.h"

namespace spn {

// This rank's slice of a batch of triplets; images already normalised floats.
struct TripletBatch {
  torch::Tensor reference_images;
  torch::Tensor tokens;
  torch::Tensor target_images;
};

class Stage1Step {
 public:
  // This rank's share of the loss and of its named terms, from its slice on the model's
  // device, its first global row and the global batch size.
  struct LossShares {
    torch::Tensor total;
    std::vector<std::pair<std::string, torch::Tensor>> terms;
  };
  using Loss = std::function<LossShares(const TripletBatch&, int64_t, int64_t)>;

  Stage1Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage1Config& config,
             Precision precision = Precision::Fp32);
  // With an objective of the caller's (SEARLE's phi distillation, whose rows carry
  // targets a TripletBatch has no place for: train/searle_stage1.h).
  Stage1Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage1Config& config, Precision precision,
             Loss loss);

  // Forward, backward and gradient sum over ranks; leaves the (unscaled) gradients in
  // the model. Returns the mean loss over the global batch (the same on every rank).
  double compute_gradients(const TripletBatch& local, int64_t global_batch);
  // The loss terms of the last compute_gradients (StepResult::loss_terms).
  const std::map<std::string, double>& loss_terms() const { return loss_terms_; }
  // compute_gradients, then an AdamW update with learning rate `lr` unless fp16's
  // gradients overflowed.
  StepResult run(const TripletBatch& local, int64_t global_batch, double lr);

  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  LossScaler& scaler() { return scaler_; }

 private:
  Communicator& comm_;
  std::shared_ptr<CirModel> model_;
  std::vector<torch::Tensor> trained_;
  Loss loss_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;  // AdamW, sharded or not
  GradientSync gradient_sync_;
  Precision precision_;
  LossScaler scaler_;
  bool finite_gradients_ = true;  // of the last compute_gradients, agreed by all ranks
  std::map<std::string, double> loss_terms_;
};

}  // namespace spn
