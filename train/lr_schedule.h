#pragma once
// The learning rate of each step of a stage, and for OneCycle AdamW's beta1 as well
// (lr_schedule in [stage1] / [stage2], config/optimizer_config.h). A pure function of
// the step, so a resumed run continues the same curve.
#include <cstdint>
#include <optional>

#include "config/optimizer_config.h"

namespace spn {

struct ScheduledStep {
  double lr = 0;
  std::optional<double> beta1;  // set only by schedules that move it (OneCycle)
};

// Step `step` (from 0) of `total_steps`, for a stage whose configured lr is `base_lr`:
//   warmup_cosine  linear warm-up over the first 5% of steps (at least one), then cosine to 0;
//   onecycle       PyTorch's OneCycleLR with cos annealing and momentum cycling
//                  (base_momentum 0.85, max_momentum 0.95, final_div_factor 1e4), the lr
//                  that scheduler gives the optimizer's step `step`;
//   constant       base_lr.
ScheduledStep scheduled_step(const OptimizerConfig& optimizer, int64_t step, int64_t total_steps, double base_lr);

}  // namespace spn
