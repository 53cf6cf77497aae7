#include "dist/autocast.h"

#include <ATen/autocast_mode.h>

namespace spn {

c10::ScalarType autocast_dtype(Precision precision) {
  switch (precision) {
    case Precision::Bf16: return c10::ScalarType::BFloat16;
    case Precision::Fp16: return c10::ScalarType::Half;
    case Precision::Fp32: break;
  }
  return c10::ScalarType::Float;
}

Autocast::Autocast(Precision precision, c10::DeviceType device)
    : device_(device),
      was_enabled_(at::autocast::is_autocast_enabled(device)),
      previous_dtype_(at::autocast::get_autocast_dtype(device)) {
  at::autocast::increment_nesting();
  const bool enabled = precision != Precision::Fp32;
  at::autocast::set_autocast_enabled(device_, enabled);
  if (enabled) at::autocast::set_autocast_dtype(device_, autocast_dtype(precision));
}

Autocast::~Autocast() {
  at::autocast::set_autocast_enabled(device_, was_enabled_);
  at::autocast::set_autocast_dtype(device_, previous_dtype_);
  // The cache holds 16-bit copies of weights that require grad; they go stale at the
  // next optimizer step, so they must not outlive the outermost scope.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace spn
