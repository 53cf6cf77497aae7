#include "train/loss_scaler.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace spn {

LossScaler::LossScaler(bool enabled, LossScalerOptions options)
    : enabled_(enabled), options_(options), scale_(enabled ? options.initial_scale : 1.0) {}

at::Tensor LossScaler::scale_loss(const at::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }

bool LossScaler::unscale_and_check(Communicator& comm, const std::vector<at::Tensor>& parameters) {
  if (!enabled_) return true;
  at::NoGradGuard no_grad;
  bool finite = true;
  for (const at::Tensor& p : parameters) {
    if (!p.grad().defined()) continue;
    at::Tensor grad = p.mutable_grad();
    grad.mul_(1.0 / scale_);
    if (finite && !at::isfinite(grad).all().item<bool>()) finite = false;
  }
  // The summed gradients are the same on every rank, but a rank must not rely on its
  // MPI library rounding the same everywhere: one flag decides for all.
  at::Tensor overflow = at::full({1}, finite ? 0.0 : 1.0, at::kDouble);
  comm.all_reduce(overflow, ReduceOp::Max);
  return overflow.item<double>() == 0.0;
}

void LossScaler::restore(const State& state) {
  if (!enabled_) return;
  scale_ = state.scale;
  clean_steps_ = state.clean_steps;
}

void LossScaler::update(bool finite) {
  if (!enabled_) return;
  if (!finite) {
    scale_ *= options_.backoff_factor;
    clean_steps_ = 0;
    return;
  }
  if (++clean_steps_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    clean_steps_ = 0;
  }
}

}  // namespace spn
