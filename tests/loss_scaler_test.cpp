// fp16's dynamic loss scaling (train/loss_scaler.h) as a unit and inside a stage-1
// step, and when a run counts as diverged (train/divergence_guard.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"
#include "dist/sharding.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"
#include "track/run_record.h"
#include "train/checkpoint.h"
#include "train/divergence_guard.h"
#include "train/loss_scaler.h"
#include "train/training_loop.h"

namespace spn {
namespace {

using testing::world;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

torch::Tensor parameter_with_gradient(std::vector<double> gradient) {
  torch::Tensor p = torch::zeros({static_cast<int64_t>(gradient.size())}, torch::kFloat).requires_grad_(true);
  p.mutable_grad() = torch::tensor(gradient, torch::kFloat);
  return p;
}

TEST(LossScaler, OverflowSkipsAndHalvesCleanStepsGrowAfterTheInterval) {
  auto comm = make_local_communicator();
  LossScaler scaler(true, {/*initial_scale=*/8, /*growth_factor=*/2, /*backoff_factor=*/0.5, /*growth_interval=*/3});
  EXPECT_DOUBLE_EQ(scaler.scale_loss(torch::tensor(1.5)).item<double>(), 12.0);

  const torch::Tensor overflowed = parameter_with_gradient({1.0, kInfinity});
  EXPECT_FALSE(scaler.unscale_and_check(*comm, {overflowed}));
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 4.0);
  EXPECT_FALSE(scaler.unscale_and_check(*comm, {parameter_with_gradient({std::nan("")})}));
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 2.0);

  for (int step = 1; step <= 3; ++step) {
    const torch::Tensor p = parameter_with_gradient({2.0, -6.0});
    ASSERT_TRUE(scaler.unscale_and_check(*comm, {p}));
    EXPECT_TRUE(torch::equal(p.grad(), torch::tensor({1.0, -3.0}, torch::kFloat)));  // divided by the scale 2
    scaler.update(true);
    EXPECT_DOUBLE_EQ(scaler.scale(), step < 3 ? 2.0 : 4.0) << "after clean step " << step;
  }
  // An overflow restarts the count of clean steps.
  scaler.update(true);
  scaler.update(false);
  scaler.update(true);
  scaler.update(true);
  EXPECT_DOUBLE_EQ(scaler.scale(), 2.0);
}

// A resumed fp16 run goes on with the scale it had reached, not with 2^16 and the
// overflows that bring it back down: the training loop keeps the scaler's state in its
// checkpoints and restores it on resume.
TEST(LossScaler, AResumedRunContinuesWithTheScaleItHadReached) {
  auto comm = make_local_communicator();
  const std::filesystem::path dir = testing::shared_temp_dir(*comm, "scaler-resume");
  ExperimentConfig config;
  config.runs_dir = dir.string();
  auto model = make_cir_model(testing::tiny_config(), testing::kTestVocab);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.0));
  LoopSettings settings;
  settings.items = 8;
  settings.batch_size = 4;
  settings.batch_size_key = "stage1.batch_size";
  settings.checkpoint_every = 1;
  settings.log_every = 1;
  const auto run_steps = [&](int64_t epochs, LossScaler& scaler, bool finite) {
    RunRecord run(*comm, config, "resolved", "r");
    settings.epochs = epochs;
    run_training_loop(
        *comm, run, settings, *model, optimizer, scaler,
        [&](int64_t, const std::vector<int64_t>&, const std::vector<int64_t>&, double lr) {
          return finish_step(optimizer, scaler, finite, 1.0, lr);
        },
        /*show_progress=*/false);
  };
  LossScaler first(true);
  run_steps(1, first, /*finite=*/false);  // two steps, both overflowing: 2^16 -> 2^14
  ASSERT_DOUBLE_EQ(first.scale(), 16384.0);
  LossScaler resumed(true);
  run_steps(2, resumed, /*finite=*/true);  // resumes after step 2 of 4; two clean steps
  EXPECT_DOUBLE_EQ(resumed.scale(), 16384.0);
  EXPECT_EQ(resumed.state().clean_steps, 2);
  std::filesystem::remove_all(dir);
}

// Checkpoints of bf16 and fp32 runs hold no scaler state; a disabled scaler ignores one.
TEST(LossScaler, OnlyFp16CheckpointsCarryItsState) {
  auto comm = make_local_communicator();
  const std::filesystem::path dir = testing::shared_temp_dir(*comm, "scaler-checkpoint");
  auto model = make_cir_model(testing::tiny_config(), testing::kTestVocab);
  save_checkpoint(dir / "plain.pt", *model, nullptr, {3, 0.5});
  EXPECT_FALSE(load_checkpoint(dir / "plain.pt", *model, nullptr).loss_scaler.has_value());
  CheckpointProgress progress{3, 0.5};
  progress.loss_scaler = LossScaler::State{512.0, 7};
  save_checkpoint(dir / "fp16.pt", *model, nullptr, progress);
  const CheckpointProgress loaded = load_checkpoint(dir / "fp16.pt", *model, nullptr);
  ASSERT_TRUE(loaded.loss_scaler.has_value());
  EXPECT_DOUBLE_EQ(loaded.loss_scaler->scale, 512.0);
  EXPECT_EQ(loaded.loss_scaler->clean_steps, 7);
  LossScaler off(false);
  off.restore(*loaded.loss_scaler);
  EXPECT_DOUBLE_EQ(off.scale(), 1.0);
  std::filesystem::remove_all(dir);
}

TEST(LossScaler, OffForBf16AndFp32) {
  auto comm = make_local_communicator();
  LossScaler scaler(false);
  const torch::Tensor loss = torch::tensor(1.5);
  EXPECT_TRUE(scaler.scale_loss(loss).is_same(loss));
  const torch::Tensor p = parameter_with_gradient({2.0, kInfinity});
  EXPECT_TRUE(scaler.unscale_and_check(*comm, {p}));  // fp32 NaNs are the divergence guard's to judge
  EXPECT_EQ(p.grad()[0].item<double>(), 2.0);
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.scale(), 1.0);
}

// One rank's overflow skips the step on every rank.
TEST(DistLossScaler, EveryRankAgreesOnAnOverflow) {
  Communicator& comm = world();
  LossScaler scaler(true);
  EXPECT_TRUE(scaler.unscale_and_check(comm, {parameter_with_gradient({1.0, 2.0})}));
  const bool last = comm.rank() == comm.size() - 1;
  EXPECT_FALSE(scaler.unscale_and_check(comm, {parameter_with_gradient({1.0, last ? kInfinity : 2.0})}))
      << "rank " << comm.rank() << " of " << comm.size();
}

// As with GradScaler, the first steps at 2^16 overflow and are skipped, each halving
// the scale, until one fits and updates; then a step whose forward overflows (inputs
// that are not finite on one rank) makes no update and halves the scale, on every rank.
TEST(DistLossScaler, Fp16Stage1StepsSkipOverflowsOnEveryRank) {
  Communicator& comm = world();
  const ExperimentConfig config = testing::tiny_config();
  torch::manual_seed(7);
  auto model = make_cir_model(config, testing::kTestVocab);
  Stage1Step step(comm, model, config.stage1, Precision::Fp16);
  constexpr int64_t kBatch = 6;
  const TripletBatch global = testing::synthetic_triplets(kBatch, 5);
  const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
  TripletBatch local = testing::rows(global, mine.begin, mine.end);

  const torch::Tensor initial = model->parameters().front().detach().clone();
  double expected_scale = 65536.0;
  StepResult result;
  int skipped = 0;
  for (; skipped < 24; ++skipped) {
    result = step.run(local, kBatch, 1e-2);
    if (!result.skipped) break;
    expected_scale /= 2;
    ASSERT_TRUE(result.loss_scale.has_value());
    EXPECT_DOUBLE_EQ(*result.loss_scale, expected_scale);
    EXPECT_TRUE(torch::equal(initial, model->parameters().front().detach())) << "a skipped step updated";
  }
  ASSERT_FALSE(result.skipped) << "no scale fitted";
  EXPECT_DOUBLE_EQ(*result.loss_scale, expected_scale);  // a clean step keeps the scale
  EXPECT_TRUE(std::isfinite(result.loss));
  const torch::Tensor updated = model->parameters().front().detach().clone();
  EXPECT_FALSE(torch::equal(initial, updated));
  if (comm.rank() == 0) std::printf("fp16: %d step(s) skipped before the scale fitted (%g)\n", skipped, expected_scale);

  if (comm.rank() == 0) local.reference_images = local.reference_images.clone().fill_(kInfinity);
  const StepResult overflowed = step.run(local, kBatch, 1e-2);
  EXPECT_TRUE(overflowed.skipped) << "rank " << comm.rank();
  EXPECT_DOUBLE_EQ(*overflowed.loss_scale, expected_scale / 2);
  for (const auto& parameter : model->parameters()) EXPECT_TRUE(torch::isfinite(parameter).all().item<bool>());
  EXPECT_TRUE(torch::equal(updated, model->parameters().front().detach()));
}

TEST(DivergenceGuard, ANonFiniteLossStopsTheRunUnlessTheScalerSkippedTheStep) {
  DivergenceGuard guard("stage1");
  guard.check({1.5, false, std::nullopt}, 1, 10);
  try {
    guard.check({std::nan(""), false, std::nullopt}, 2, 10);
    FAIL() << "a NaN loss on a step that updated the weights is divergence";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("stage1: the loss is not finite at step 2 of 10"), std::string::npos)
        << error.what();
  }
  DivergenceGuard fp16("stage2");
  fp16.check({kInfinity, true, 32768.0}, 1, 100);  // an fp16 overflow: skipped, not divergence
  fp16.check({1.2, false, 32768.0}, 2, 100);
}

TEST(DivergenceGuard, SkippingStepAfterStepUntilTheLimitStopsTheRun) {
  DivergenceGuard guard("stage1");
  int64_t step = 0;
  for (int64_t i = 1; i < kMaxSkippedStepsInARow; ++i) guard.check({kInfinity, true, 1.0}, ++step, 1000);
  guard.check({0.7, false, 1.0}, ++step, 1000);  // a clean step starts the count again
  for (int64_t i = 1; i < kMaxSkippedStepsInARow; ++i) guard.check({kInfinity, true, 1.0}, ++step, 1000);
  EXPECT_THROW(
      {
        try {
          guard.check({kInfinity, true, 1.0}, ++step, 1000);
        } catch (const UserError& error) {
          EXPECT_NE(std::string(error.what()).find("fp16 loss scaling skipped 32 steps in a row"), std::string::npos)
              << error.what();
          throw;
        }
      },
      UserError);
}

}  // namespace
}  // namespace spn
