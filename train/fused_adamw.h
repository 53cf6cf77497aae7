#pragma once
// torch::optim::AdamW's update computed by ATen's fused multi-tensor kernel
// (at::_fused_adamw_, what torch.optim.AdamW(fused=True) calls): one kernel per device
// and dtype over every parameter instead of about ten small ops per parameter. For CLIP
// ViT-B/32 (398 tensors, 151M values) that is thousands of GPU launches per step fewer,
// and on the CPU a single pass over the state; the arithmetic is AdamW's (decoupled
// weight decay, bias corrections), equal to torch::optim::AdamW's to rounding.
//
// The state is AdamW's own (AdamWParamState: step, exp_avg, exp_avg_sq), so
// checkpoints are those of torch::optim::AdamW and load into either class.
#include <torch/optim/adamw.h>

#include <vector>

namespace spn {

class FusedAdamW : public torch::optim::AdamW {
 public:
  FusedAdamW(std::vector<torch::Tensor> parameters, const torch::optim::AdamWOptions& options);
  // Groups with options of their own (each group's lr is still set per step).
  FusedAdamW(std::vector<torch::optim::OptimizerParamGroup> groups, const torch::optim::AdamWOptions& defaults);

  // Parameters without a gradient are left alone, as AdamW leaves them.
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace spn
