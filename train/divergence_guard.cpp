#include "train/divergence_guard.h"

#include <cmath>

#include "core/error.h"

namespace spn {

void DivergenceGuard::check(const StepResult& result, int64_t step, int64_t total) {
  const std::string at = " at step " + std::to_string(step) + " of " + std::to_string(total);
  if (!std::isfinite(result.loss) && !result.skipped)
    throw UserError(stage_ + ": the loss is not finite" + at + " (" + std::to_string(result.loss) +
                    "): training diverged; lower its learning rate or check the inputs");
  skipped_in_a_row_ = result.skipped ? skipped_in_a_row_ + 1 : 0;
  if (skipped_in_a_row_ == kMaxSkippedStepsInARow)
    throw UserError(stage_ + ": fp16 loss scaling skipped " + std::to_string(skipped_in_a_row_) +
                    " steps in a row up to step " + std::to_string(step) + " of " + std::to_string(total) + " (loss " +
                    std::to_string(result.loss) + ", scale " + std::to_string(result.loss_scale.value_or(1)) +
                    "): the gradients overflow at any scale, training diverged; lower its learning rate or use "
                    "precision = \"bf16\"");
}

}  // namespace spn
