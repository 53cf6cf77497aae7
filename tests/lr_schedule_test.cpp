// The learning-rate schedules (train/lr_schedule.h): OneCycle against the values PyTorch's
// OneCycleLR gives AdamW (tests/golden/onecycle, scripts/make-onecycle-golden.py), the
// warm-up + cosine and constant curves by their definitions, and the stage keys reaching
// spn's two AdamW implementations: betas and eps from adamw_options, a beta1 moved every
// step by set_adamw_beta1, against torch::optim::AdamW given the same values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_files.h"
#include "train/fused_adamw.h"
#include "train/lr_schedule.h"
#include "train/sharded_adamw.h"

namespace spn {
namespace {

TEST(LrSchedule, OneCycleIsPyTorchsOneCycleLR) {
  std::ifstream in(testing::golden_dir() / "onecycle" / "onecycle.json");
  ASSERT_TRUE(in) << "missing tests/golden/onecycle/onecycle.json";
  const nlohmann::json golden = nlohmann::json::parse(in);
  ASSERT_EQ(golden["cases"].size(), 3u);
  for (const auto& c : golden["cases"]) {
    OptimizerConfig optimizer;
    optimizer.lr_schedule = LrSchedule::OneCycle;
    optimizer.onecycle_pct_start = c["pct_start"].get<double>();
    optimizer.onecycle_div_factor = c["div_factor"].get<double>();
    const int64_t total = c["total_steps"].get<int64_t>();
    const double max_lr = c["max_lr"].get<double>();
    ASSERT_EQ(c["lr"].size(), static_cast<size_t>(total));
    for (int64_t s = 0; s < total; ++s) {
      const ScheduledStep step = scheduled_step(optimizer, s, total, max_lr);
      const double lr = c["lr"][s].get<double>(), beta1 = c["beta1"][s].get<double>();
      EXPECT_NEAR(step.lr, lr, 1e-12 * max_lr) << "step " << s << " of " << total;
      ASSERT_TRUE(step.beta1.has_value());
      EXPECT_NEAR(*step.beta1, beta1, 1e-12) << "step " << s << " of " << total;
    }
  }
}

TEST(LrSchedule, WarmupCosineAndConstant) {
  OptimizerConfig optimizer;  // warmup_cosine by default
  const int64_t total = 100;  // warm-up: 5 steps
  EXPECT_DOUBLE_EQ(scheduled_step(optimizer, 0, total, 1.0).lr, 0.2);
  EXPECT_DOUBLE_EQ(scheduled_step(optimizer, 4, total, 1.0).lr, 1.0);
  EXPECT_DOUBLE_EQ(scheduled_step(optimizer, 5, total, 1.0).lr, 1.0);
  EXPECT_NEAR(scheduled_step(optimizer, 5 + 95 / 2, total, 1.0).lr, 0.5 * (1 + std::cos(M_PI * 47.0 / 95)), 1e-15);
  EXPECT_FALSE(scheduled_step(optimizer, 7, total, 1.0).beta1.has_value());
  optimizer.lr_schedule = LrSchedule::Constant;
  for (int64_t s : {0, 50, 99}) EXPECT_EQ(scheduled_step(optimizer, s, total, 3e-4).lr, 3e-4);
  EXPECT_FALSE(scheduled_step(optimizer, 0, total, 1.0).beta1.has_value());
}

// Four steps of each optimizer against torch::optim::AdamW with SPRC's betas and eps and a
// OneCycle beta1 set before every step.
TEST(LrSchedule, KeysReachBothAdamWImplementations) {
  OptimizerConfig keys;
  keys.adam_beta1 = 0.9;
  keys.adam_beta2 = 0.98;
  keys.adam_eps = 1e-7;
  keys.lr_schedule = LrSchedule::OneCycle;
  keys.onecycle_div_factor = 100;
  const torch::optim::AdamWOptions options = adamw_options(keys, 1e-2, 0.05);
  EXPECT_EQ(std::get<1>(options.betas()), 0.98);
  EXPECT_EQ(options.eps(), 1e-7);
  EXPECT_EQ(options.weight_decay(), 0.05);

  const auto leaf_copy = [](const torch::Tensor& t) { return t.detach().clone().set_requires_grad(true); };
  torch::manual_seed(3);
  const torch::Tensor initial = torch::randn({9, 4}, torch::kDouble);
  const auto local = make_local_communicator();
  std::vector<torch::Tensor> weights = {leaf_copy(initial), leaf_copy(initial), leaf_copy(initial)};
  torch::optim::AdamW reference({weights[0]}, options);
  FusedAdamW fused({weights[1]}, options);
  ShardedAdamW sharded(*local, {weights[2]}, options);
  std::vector<torch::optim::Optimizer*> optimizers = {&reference, &fused, &sharded};
  const int64_t total = 4;
  for (int64_t s = 0; s < total; ++s) {
    const ScheduledStep step = scheduled_step(keys, s, total, 1e-2);
    torch::manual_seed(10 + s);
    const torch::Tensor gradient = torch::randn({9, 4}, torch::kDouble);
    for (size_t i = 0; i < optimizers.size(); ++i) {
      weights[i].mutable_grad() = gradient.clone();
      for (auto& group : optimizers[i]->param_groups()) group.options().set_lr(step.lr);
      set_adamw_beta1(*optimizers[i], *step.beta1);
      optimizers[i]->step();
    }
    const auto& reference_options = static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options());
    EXPECT_EQ(std::get<0>(reference_options.betas()), *step.beta1);
    EXPECT_EQ(std::get<1>(reference_options.betas()), 0.98);
  }
  EXPECT_FALSE(torch::equal(weights[0], initial));
  EXPECT_TRUE(torch::allclose(weights[1], weights[0], 1e-12, 1e-14));
  EXPECT_TRUE(torch::allclose(weights[2], weights[0], 1e-12, 1e-14));
}

}  // namespace
}  // namespace spn
