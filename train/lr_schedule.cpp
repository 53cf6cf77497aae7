#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace spn {

double learning_rate_at(int64_t step, int64_t total_steps, double base_lr) {
  const int64_t warmup = std::max<int64_t>(1, total_steps / 20);
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
  return base_lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

}  // namespace spn
