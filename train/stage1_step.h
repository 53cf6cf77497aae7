#pragma once
// One stage-1 optimisation step on this rank's slice of the global batch: encode,
// all-gather features with gradient (more in-batch negatives with more ranks), InfoNCE
// over the configured negative types, backward, gradient sum over ranks, AdamW.
#include <torch/optim/adamw.h>

#include <memory>

#include "config/stage1_config.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "models/cir_model.h"
#include "train/negative_types.h"

namespace spn {

// This rank's slice of a batch of triplets; images already normalised floats.
struct TripletBatch {
  torch::Tensor reference_images;
  torch::Tensor tokens;
  torch::Tensor target_images;
};

class Stage1Step {
 public:
  Stage1Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage1Config& config);

  // Forward, backward and gradient sum over ranks; leaves the gradients in the model.
  // Returns the mean loss over the global batch (the same on every rank).
  double compute_gradients(const TripletBatch& local, int64_t global_batch);
  // compute_gradients, then an AdamW update with learning rate `lr`.
  double run(const TripletBatch& local, int64_t global_batch, double lr);

  torch::optim::AdamW& optimizer() { return optimizer_; }

 private:
  Communicator& comm_;
  std::shared_ptr<CirModel> model_;
  torch::optim::AdamW optimizer_;
  GradientSync gradient_sync_;
  std::vector<NegativeType> negatives_;
};

}  // namespace spn
