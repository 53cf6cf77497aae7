// FusedAdamW against torch::optim::AdamW: the same parameters after several steps (two
// groups with their own learning rate and weight decay, a parameter without a gradient,
// amsgrad), and checkpoints that load into either class. On CUDA (skipped without a GPU)
// the fused kernel's update against the CPU's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>
#include <vector>

#include "train/fused_adamw.h"

namespace spn {
namespace {

struct Weights {
  std::vector<torch::Tensor> first, second;  // two parameter groups
  torch::Tensor frozen;                      // never gets a gradient
};

Weights make_weights(const torch::Device& device) {
  torch::manual_seed(5);
  Weights w;
  for (const auto& shape : {std::vector<int64_t>{7, 3}, std::vector<int64_t>{11}})
    w.first.push_back(torch::randn(shape).to(device).set_requires_grad(true));
  w.second.push_back(torch::randn({4, 5, 2}).to(device).set_requires_grad(true));
  w.frozen = torch::randn({6}).to(device).set_requires_grad(true);
  return w;
}

template <class Optimizer>
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Weights& w, bool amsgrad) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<torch::Tensor> first = w.first;
  first.push_back(w.frozen);
  groups.emplace_back(first, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(1e-2).weight_decay(0.1).amsgrad(amsgrad)));
  groups.emplace_back(w.second, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(3e-3).betas({0.8, 0.95}).eps(1e-6).amsgrad(amsgrad)));
  auto optimizer = std::make_unique<Optimizer>(std::vector<torch::Tensor>{}, torch::optim::AdamWOptions());
  optimizer->param_groups().clear();
  for (auto& group : groups) optimizer->add_param_group(group);
  return optimizer;
}

// Gives every trained parameter gradient number `step` (the same on every device).
void set_gradients(const Weights& w, int step) {
  torch::manual_seed(100 + step);
  for (const auto& group : {w.first, w.second})
    for (const auto& p : group) p.mutable_grad() = torch::randn(p.sizes()).to(p.device());
}

void run_steps(torch::optim::Optimizer& optimizer, const Weights& w, int first, int count) {
  for (int s = first; s < first + count; ++s) {
    set_gradients(w, s);
    optimizer.step();
  }
}

void expect_same(const Weights& actual, const Weights& expected, double tolerance) {
  for (size_t g = 0; g < 2; ++g) {
    const auto& a = g == 0 ? actual.first : actual.second;
    const auto& e = g == 0 ? expected.first : expected.second;
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_LE((a[i].cpu() - e[i].cpu()).abs().max().item<double>(), tolerance) << "group " << g << " tensor " << i;
  }
  EXPECT_TRUE(torch::equal(actual.frozen.cpu(), expected.frozen.cpu())) << "a parameter without gradient moved";
}

TEST(FusedAdamW, StepsMatchLibTorchAdamW) {
  for (bool amsgrad : {false, true}) {
    const Weights fused = make_weights(torch::kCPU), reference = make_weights(torch::kCPU);
    auto fused_optimizer = make_optimizer<FusedAdamW>(fused, amsgrad);
    auto reference_optimizer = make_optimizer<torch::optim::AdamW>(reference, amsgrad);
    run_steps(*fused_optimizer, fused, 0, 6);
    run_steps(*reference_optimizer, reference, 0, 6);
    SCOPED_TRACE(amsgrad ? "amsgrad" : "adamw");
    expect_same(fused, reference, 1e-6);
    EXPECT_FALSE(torch::equal(fused.first[0], make_weights(torch::kCPU).first[0])) << "no step was taken";
  }
}

// A checkpoint of either class resumes in the other, and training continues alike.
TEST(FusedAdamW, CheckpointsLoadIntoLibTorchAdamWAndBack) {
  const Weights fused = make_weights(torch::kCPU), reference = make_weights(torch::kCPU);
  auto fused_optimizer = make_optimizer<FusedAdamW>(fused, false);
  run_steps(*fused_optimizer, fused, 0, 3);
  torch::serialize::OutputArchive saved;
  fused_optimizer->save(saved);
  std::stringstream bytes;
  saved.save_to(bytes);

  for (size_t i = 0; i < fused.first.size(); ++i) reference.first[i].detach().copy_(fused.first[i].detach());
  reference.second[0].detach().copy_(fused.second[0].detach());
  auto reference_optimizer = make_optimizer<torch::optim::AdamW>(reference, false);
  torch::serialize::InputArchive loaded;
  loaded.load_from(bytes);
  reference_optimizer->load(loaded);
  run_steps(*fused_optimizer, fused, 3, 3);
  run_steps(*reference_optimizer, reference, 3, 3);
  expect_same(fused, reference, 1e-6);
}

TEST(FusedAdamWCuda, StepsMatchTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no usable GPU";
  const Weights gpu = make_weights(torch::Device(torch::kCUDA, 0)), cpu = make_weights(torch::kCPU);
  auto gpu_optimizer = make_optimizer<FusedAdamW>(gpu, false);
  auto cpu_optimizer = make_optimizer<torch::optim::AdamW>(cpu, false);
  run_steps(*gpu_optimizer, gpu, 0, 6);
  run_steps(*cpu_optimizer, cpu, 0, 6);
  expect_same(gpu, cpu, 1e-5);
}

}  // namespace
}  // namespace spn
