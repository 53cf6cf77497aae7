#pragma once
#include <cstdint>

namespace spn {

// Learning rate at `step` of `total_steps`: linear warm-up over the first 5% of steps
// (at least one), then cosine decay to zero.
double learning_rate_at(int64_t step, int64_t total_steps, double base_lr);

}  // namespace spn
