#include "train/step_result.h"

namespace spn {

StepResult finish_step(torch::optim::Optimizer& optimizer, LossScaler& scaler, bool finite_gradients, double loss,
                       double lr) {
  if (finite_gradients) {
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
    optimizer.step();
  }
  scaler.update(finite_gradients);
  StepResult result;
  result.loss = loss;
  result.skipped = !finite_gradients;
  if (scaler.enabled()) result.loss_scale = scaler.scale();
  return result;
}

}  // namespace spn
