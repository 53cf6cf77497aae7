#pragma once
// Whether a training run has diverged, judged step by step (a broken run never reports
// success). A loss that is not finite means divergence, except on a step that fp16 loss
// scaling skipped: an overflow in fp16 is what the scaler handles, by skipping the
// update and halving the scale, and the weights are untouched. A run that keeps
// overflowing however small the scale gets has diverged all the same: after
// kMaxSkippedStepsInARow skipped steps in a row it is stopped.
#include <cstdint>
#include <string>

#include "train/step_result.h"

namespace spn {

// 32 halvings take GradScaler's initial 2^16 to 2^-16: gradients that overflow fp16
// even then exceed 10^9, and a forward pass that overflows is not helped by any scale.
inline constexpr int64_t kMaxSkippedStepsInARow = 32;

class DivergenceGuard {
 public:
  explicit DivergenceGuard(std::string stage) : stage_(std::move(stage)) {}

  // Throws a UserError naming the stage and the step (1-based, of `total`) when the
  // run has diverged. Every rank sees the same results, so all stop together.
  void check(const StepResult& result, int64_t step, int64_t total);

 private:
  std::string stage_;
  int64_t skipped_in_a_row_ = 0;
};

}  // namespace spn
