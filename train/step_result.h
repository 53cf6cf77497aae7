#pragma once
// The end of an optimisation step, shared by stages 1 and 2: the optimizer's update
// (unless fp16 loss scaling found overflowed gradients and the step is skipped), the
// scaler's adjustment, and what the training loop learns of the step.
#include <torch/optim/optimizer.h>

#include <map>
#include <optional>
#include <string>

#include "train/loss_scaler.h"

namespace spn {

struct StepResult {
  double loss = 0;                   // mean loss of the global batch, the same on every rank
  bool skipped = false;              // no update: the gradients overflowed on some rank (fp16 only)
  std::optional<double> loss_scale;  // the scale after this step, when fp16 scales losses
  // The named terms of an objective that sums several (SPRC's itc, rtc, align), each the
  // global batch's mean and unweighted; empty for single-term objectives.
  std::map<std::string, double> loss_terms;
};

// The optimizer's step at learning rate `lr` when `finite_gradients`, then the
// scaler's update.
StepResult finish_step(torch::optim::Optimizer& optimizer, LossScaler& scaler, bool finite_gradients, double loss,
                       double lr);

}  // namespace spn
