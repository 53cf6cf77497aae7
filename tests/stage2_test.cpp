// Stage 2 on the world (1, 2 or 3 ranks, bank sharded) against one process holding the
// whole bank, in the same test: the same losses and query-side parameters over 10 steps,
// and the target side untouched.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/batch_sampler.h"
#include "dist/sharding.h"
#include "test_models.h"
#include "test_world.h"
#include "train/stage2_step.h"

namespace spn {
namespace {

TEST(DistStage2, TenStepsGiveSameLossesAndParametersAsOneRank) {
  Communicator& comm = testing::world();
  ExperimentConfig config = testing::tiny_config();
  config.stage2.chunk = 5;
  constexpr int64_t kTriplets = 27, kBatch = 9, kBankRows = 23, kSteps = 10;
  torch::manual_seed(8);
  torch::Tensor bank = torch::randn({kBankRows, 8});
  bank = bank / bank.norm(2, 1, true);
  torch::Tensor references = torch::randn({kTriplets, 8});
  references = references / references.norm(2, 1, true);
  const torch::Tensor tokens = testing::synthetic_triplets(kTriplets, 3).tokens;
  std::vector<int64_t> target_of(kTriplets);
  for (int64_t i = 0; i < kTriplets; ++i) target_of[i] = (i * 5) % kBankRows;

  auto run = [&](Communicator& c, bool ignore_reference) {
    torch::manual_seed(7);
    auto model = make_cir_model(config, testing::kTestVocab);
    const std::vector<torch::Tensor> target_side_before = [&] {
      std::vector<torch::Tensor> copies;
      for (const auto& t : model->target_side_tensors()) copies.push_back(t.detach().clone());
      return copies;
    }();
    const ShardRange shard = shard_range(kBankRows, c.size(), c.rank());
    Stage2Step step(c, model, config.stage2, bank.narrow(0, shard.begin, shard.size()), shard.begin);
    GlobalBatchSampler sampler(kTriplets, kBatch, 77);
    std::vector<double> losses;
    for (int64_t s = 0; s < kSteps; ++s) {
      SoftmaxTargets targets;
      for (int64_t t : sampler.global_batch(s)) {
        targets.positives.push_back({target_of[t]});
        if (ignore_reference) targets.ignored.push_back({(target_of[t] + 1) % kBankRows});
      }
      const auto local = torch::tensor(sampler.local_batch(s, c.size(), c.rank()), torch::kLong);
      losses.push_back(step.run(references.index_select(0, local), tokens.index_select(0, local), targets, 1e-2));
    }
    const auto target_side_after = model->target_side_tensors();
    for (size_t i = 0; i < target_side_after.size(); ++i)
      EXPECT_TRUE(torch::equal(target_side_after[i], target_side_before[i])) << "the target side moved";
    return std::make_pair(losses, model);
  };

  for (bool ignore_reference : {false, true}) {
    auto [losses, model] = run(comm, ignore_reference);
    auto local = make_local_communicator();
    auto [reference_losses, reference_model] = run(*local, ignore_reference);
    for (int64_t s = 0; s < kSteps; ++s)
      EXPECT_NEAR(losses[s], reference_losses[s], 1e-4 * std::abs(reference_losses[s])) << "step " << s;
    EXPECT_LT(reference_losses.back(), reference_losses.front());
    const auto reference_named = reference_model->named_parameters();
    for (const auto& item : model->named_parameters())
      EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-4) << item.key();
  }
}

}  // namespace
}  // namespace spn
