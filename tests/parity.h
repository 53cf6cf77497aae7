#pragma once
// How the parity tests measure a difference from a reference.
#include <torch/torch.h>

namespace spn::testing {

// max |ours - reference| / max |reference|, in float64.
inline double relative_error(const torch::Tensor& ours, const torch::Tensor& reference) {
  return (ours.to(torch::kDouble) - reference.to(torch::kDouble)).abs().max().item<double>() /
         reference.to(torch::kDouble).abs().max().item<double>();
}

}  // namespace spn::testing
