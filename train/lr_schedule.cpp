#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace spn {
namespace {

double warmup_cosine(int64_t step, int64_t total_steps, double base_lr) {
  const int64_t warmup = std::max<int64_t>(1, total_steps / 20);
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
  return base_lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

// OneCycleLR's "cos" annealing from `start` (pct 0) to `end` (pct 1).
double cos_anneal(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1);
}

// PyTorch's two phases: up to step pct_start * total - 1, then down to the last step. A
// phase of zero length (PyTorch divides by zero there) is taken as already complete.
ScheduledStep one_cycle(const OptimizerConfig& optimizer, int64_t step, int64_t total_steps, double base_lr) {
  constexpr double kBaseMomentum = 0.85, kMaxMomentum = 0.95, kFinalDivFactor = 1e4;
  const double initial_lr = base_lr / optimizer.onecycle_div_factor;
  const double min_lr = initial_lr / kFinalDivFactor;
  const double rise_end = optimizer.onecycle_pct_start * static_cast<double>(total_steps) - 1;
  const double last = static_cast<double>(total_steps - 1);
  const double x = static_cast<double>(step);
  const auto fraction = [](double done, double length) { return length > 0 ? std::min(1.0, done / length) : 1.0; };
  if (x <= rise_end) {
    const double pct = fraction(x, rise_end);
    return {cos_anneal(initial_lr, base_lr, pct), cos_anneal(kMaxMomentum, kBaseMomentum, pct)};
  }
  const double pct = fraction(x - rise_end, last - rise_end);
  return {cos_anneal(base_lr, min_lr, pct), cos_anneal(kBaseMomentum, kMaxMomentum, pct)};
}

}  // namespace

ScheduledStep scheduled_step(const OptimizerConfig& optimizer, int64_t step, int64_t total_steps, double base_lr) {
  switch (optimizer.lr_schedule) {
    case LrSchedule::WarmupCosine: return {warmup_cosine(step, total_steps, base_lr), std::nullopt};
    case LrSchedule::OneCycle: return one_cycle(optimizer, step, total_steps, base_lr);
    case LrSchedule::Constant: return {base_lr, std::nullopt};
  }
  return {base_lr, std::nullopt};
}

}  // namespace spn
