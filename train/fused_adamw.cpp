#include "train/fused_adamw.h"

#include <ATen/ops/_fused_adamw.h>
#include <torch/torch.h>

#include <map>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

namespace spn {
namespace {

// The tensors of one fused call: parameters of one device and dtype in one group.
struct FusedBatch {
  c10::Device device = c10::kCPU;
  std::vector<torch::Tensor> parameters, gradients, exp_avgs, exp_avg_sqs, max_exp_avg_sqs;
  std::vector<double> steps;
};

}  // namespace

FusedAdamW::FusedAdamW(std::vector<torch::Tensor> parameters, const torch::optim::AdamWOptions& options)
    : torch::optim::AdamW(std::move(parameters), options) {}

FusedAdamW::FusedAdamW(std::vector<torch::optim::OptimizerParamGroup> groups,
                       const torch::optim::AdamWOptions& defaults)
    : torch::optim::AdamW(std::move(groups), defaults) {}

torch::Tensor FusedAdamW::step(LossClosure closure) {
  if (closure) throw std::invalid_argument("FusedAdamW::step: no closures");
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    std::map<std::tuple<int, int, int>, FusedBatch> batches;  // by device type, index and dtype
    for (auto& parameter : group.params()) {
      if (!parameter.grad().defined()) continue;
      if (parameter.grad().is_sparse()) throw std::invalid_argument("FusedAdamW: sparse gradients are not supported");
      auto& slot = state()[parameter.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
        if (options.amsgrad()) fresh->max_exp_avg_sq(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*slot);
      state.step(state.step() + 1);  // the kernel reads the step; advancing it is the caller's part
      FusedBatch& batch = batches[{static_cast<int>(parameter.device().type()), parameter.device().index(),
                                   static_cast<int>(parameter.scalar_type())}];
      batch.device = parameter.device();
      batch.parameters.push_back(parameter);
      batch.gradients.push_back(parameter.grad());
      batch.exp_avgs.push_back(state.exp_avg());
      batch.exp_avg_sqs.push_back(state.exp_avg_sq());
      if (options.amsgrad()) batch.max_exp_avg_sqs.push_back(state.max_exp_avg_sq());
      batch.steps.push_back(static_cast<double>(state.step()));
    }
    for (auto& [key, batch] : batches) {
      // The kernel takes each step count as a float32 scalar tensor on the parameters'
      // device: one copy of all of them, then views.
      const torch::Tensor steps = torch::tensor(batch.steps, torch::kFloat).to(batch.device);
      const std::vector<torch::Tensor> step_views = steps.unbind();
      const auto [beta1, beta2] = options.betas();
      at::_fused_adamw_(batch.parameters, batch.gradients, batch.exp_avgs, batch.exp_avg_sqs, batch.max_exp_avg_sqs,
                        step_views, options.lr(), beta1, beta2, options.weight_decay(), options.eps(),
                        options.amsgrad(), /*maximize=*/false);
    }
  }
  return {};
}

}  // namespace spn
