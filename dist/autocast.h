#pragma once
// Mixed precision the way PyTorch AMP does it: the weights (and the optimizer's state)
// stay float32, and inside an Autocast scope LibTorch's autocast casts the inputs of
// matmuls, linear layers and convolutions to 16 bits, while the ops it keeps in float32
// stay there. On CPU that float32 list does not hold softmax or norms, so spn widens
// what leaves the model to float32 itself (CirModel) and computes its losses in a
// float32 scope (train/contrastive_loss.cpp) or outside any scope (stage 2).
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include "config/choices.h"

namespace spn {

// The 16-bit dtype of a precision; float32 for fp32.
c10::ScalarType autocast_dtype(Precision precision);

// For its lifetime, autocast on `device` computes in `precision`: enabled with the
// 16-bit dtype for bf16 and fp16, disabled for fp32 (a float32 region inside a 16-bit
// one, as `autocast(enabled=False)` is). The previous state comes back at the end.
// Leaving the outermost scope drops autocast's cached 16-bit copies of the weights, so
// the next forward pass sees the optimizer's update.
class Autocast {
 public:
  Autocast(Precision precision, c10::DeviceType device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
  c10::ScalarType previous_dtype_;
};

}  // namespace spn
