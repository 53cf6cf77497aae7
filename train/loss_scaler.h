#pragma once
// Dynamic loss scaling for fp16, as torch.cuda.amp.GradScaler does it: the loss is
// multiplied by a scale before backward so small gradients do not flush to zero in
// fp16; the gradients are divided by it before the optimizer step. A step whose
// gradients hold inf or NaN on any rank is skipped by every rank and halves the scale;
// `growth_interval` clean steps in a row double it. bf16 has fp32's range and fp32
// needs nothing: the scaler is then off and every call is a no-op.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "dist/communicator.h"

namespace spn {

struct LossScalerOptions {
  double initial_scale = 65536.0;  // 2^16, GradScaler's default
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  explicit LossScaler(bool enabled, LossScalerOptions options = {});

  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }

  // What backward runs on: loss * scale (the loss itself when off).
  at::Tensor scale_loss(const at::Tensor& loss) const;

  // Divides the gradients of `parameters` by the scale in place and says whether every
  // rank's gradients are finite, the same answer on every rank (a collective when on).
  // Call after the gradients are summed over ranks.
  bool unscale_and_check(Communicator& comm, const std::vector<at::Tensor>& parameters);

  // After a step: backoff when its gradients were not finite, growth after
  // growth_interval finite steps in a row.
  void update(bool finite);

  // What a checkpoint keeps, so a resumed run continues with the scale it had reached
  // (and its count towards the next growth) instead of 2^16 and the overflows that
  // bring it back down.
  struct State {
    double scale = 1;
    int64_t clean_steps = 0;
  };
  State state() const { return {scale_, clean_steps_}; }
  void restore(const State& state);

 private:
  bool enabled_;
  LossScalerOptions options_;
  double scale_;
  int64_t clean_steps_ = 0;
};

}  // namespace spn
