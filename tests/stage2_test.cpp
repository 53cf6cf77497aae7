// Stage 2 on the world (1, 2 or 3 ranks; bank sharded or replicated; negatives from the
// whole bank, the batch or a sample) against one process holding the whole bank, in the
// same test: the same losses and query-side parameters over 10 steps, the target side
// untouched; bank row lookup; the targets a batch of triplets gets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <optional>

#include "bank_fixture.h"
#include "core/hash.h"
#include "data/batch_sampler.h"
#include "dist/sharding.h"
#include "test_models.h"
#include "test_world.h"
#include "train/stage2.h"
#include "train/stage2_step.h"

namespace spn {
namespace {

torch::Tensor unit_rows(int64_t rows, int64_t dim) {
  const torch::Tensor values = torch::randn({rows, dim});
  return values / values.norm(2, 1, true);
}

using testing::bank_for;

struct Variant {
  bool replicated = false;
  bool ignore_reference = false;
  std::optional<MultiPositive> multi_positive;  // none = one positive per query
  Stage2Negatives negatives = Stage2Negatives::Bank;
  double combiner_dropout = 0;
  bool shard_optimizer = false;  // ZeRO-1 (train/sharded_adamw.h), in the run and its reference
};

// The candidates stage2.negatives gives: the batch's positives, plus for "sample" a few
// rows that change with the step.
std::vector<int64_t> candidates_for(Stage2Negatives negatives, const SoftmaxTargets& targets, int64_t step,
                                    int64_t bank_rows) {
  if (negatives == Stage2Negatives::Bank) return {};
  std::vector<int64_t> candidates;
  for (const auto& positives : targets.positives)
    candidates.insert(candidates.end(), positives.begin(), positives.end());
  if (negatives == Stage2Negatives::Sample)
    for (int64_t draw : {step * 3, step * 11 + 4}) candidates.push_back(draw % bank_rows);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  return candidates;
}

TEST(DistStage2, TenStepsGiveSameLossesAndParametersAsOneRank) {
  Communicator& comm = testing::world();
  constexpr int64_t kTriplets = 27, kBatch = 9, kBankRows = 23, kSteps = 10;
  torch::manual_seed(8);
  const torch::Tensor bank = unit_rows(kBankRows, 8);
  const torch::Tensor references = unit_rows(kTriplets, 8);
  const torch::Tensor tokens = testing::synthetic_triplets(kTriplets, 3).tokens;

  auto run = [&](Communicator& c, const Variant& variant) {
    ExperimentConfig config = testing::tiny_config();
    config.stage2.chunk = 5;
    if (variant.multi_positive) config.stage2.multi_positive = *variant.multi_positive;
    config.model.combiner_dropout = variant.combiner_dropout;
    config.stage2.shard_optimizer = variant.shard_optimizer;
    torch::manual_seed(7);
    auto model = make_cir_model(config, testing::kTestVocab);
    std::vector<torch::Tensor> target_side_before;
    for (const auto& t : model->target_side_tensors()) target_side_before.push_back(t.detach().clone());
    Stage2Step step(c, model, config.stage2, bank_for(c, bank, variant.replicated));
    GlobalBatchSampler sampler(kTriplets, kBatch, 77);
    std::vector<double> losses;
    for (int64_t s = 0; s < kSteps; ++s) {
      SoftmaxTargets targets;
      for (int64_t t : sampler.global_batch(s)) {
        targets.positives.push_back({(t * 5) % kBankRows});
        if (variant.multi_positive && t % 3 == 0) targets.positives.back().push_back((t * 7 + 1) % kBankRows);
        if (variant.ignore_reference) targets.ignored.push_back({(t * 5 + 1) % kBankRows});
      }
      targets.candidates = candidates_for(variant.negatives, targets, s, kBankRows);
      const auto local = torch::tensor(sampler.local_batch(s, c.size(), c.rank()), torch::kLong);
      model->set_step_seed(mix_seed(5, s));  // as the training loop does
      losses.push_back(step.run(references.index_select(0, local), tokens.index_select(0, local), targets, 1e-2).loss);
    }
    const auto target_side_after = model->target_side_tensors();
    for (size_t i = 0; i < target_side_after.size(); ++i)
      EXPECT_TRUE(torch::equal(target_side_after[i], target_side_before[i])) << "the target side moved";
    return std::make_pair(losses, model);
  };

  // Fewer negatives than the bank: the replicated bank must score against the same
  // candidates as the sharded one. Dropout masks follow the global row, not the rank.
  const auto whole = Stage2Negatives::Bank, batch = Stage2Negatives::Batch, sample = Stage2Negatives::Sample;
  const auto mean = MultiPositive::Mean, logsumexp = MultiPositive::LogSumExp;
  for (const Variant& variant :
       {Variant{false, false, {}}, Variant{false, true, {}}, Variant{true, false, {}}, Variant{true, true, mean},
        Variant{false, false, logsumexp}, Variant{false, true, mean}, Variant{false, false, {}, batch},
        Variant{true, false, {}, batch}, Variant{false, true, {}, sample}, Variant{true, true, {}, sample},
        Variant{true, false, logsumexp, sample}, Variant{false, false, {}, whole, 0.5},
        Variant{true, false, {}, batch, 0.5}, Variant{false, false, {}, whole, 0, true},
        Variant{true, false, {}, batch, 0, true}}) {
    SCOPED_TRACE("replicated " + std::to_string(variant.replicated) + ", ignore " +
                 std::to_string(variant.ignore_reference) + ", multi-positive '" +
                 (variant.multi_positive ? choice_name(*variant.multi_positive) : "") + "', negatives '" +
                 choice_name(variant.negatives) + "', dropout " + std::to_string(variant.combiner_dropout) +
                 ", sharded optimizer " + std::to_string(variant.shard_optimizer));
    auto [losses, model] = run(comm, variant);
    auto local = make_local_communicator();
    Variant reference = variant;
    reference.replicated = false;
    auto [reference_losses, reference_model] = run(*local, reference);
    for (int64_t s = 0; s < kSteps; ++s)
      EXPECT_NEAR(losses[s], reference_losses[s], 1e-4 * std::abs(reference_losses[s])) << "step " << s;
    EXPECT_LT(reference_losses.back(), reference_losses.front());
    const auto reference_named = reference_model->named_parameters();
    for (const auto& item : model->named_parameters())
      EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-4) << item.key();
  }
}

TEST(DistStage2, BankRowsAreTheSameFromAShardedAndAReplicatedBank) {
  Communicator& comm = testing::world();
  torch::manual_seed(3);
  const torch::Tensor whole = unit_rows(7, 5);
  const std::vector<int64_t> ids = {6, 0, 3, 3, 5};  // repeats, and rows of every shard
  const torch::Tensor expected = whole.index_select(0, torch::tensor(ids, torch::kLong));
  EXPECT_TRUE(torch::equal(bank_rows(comm, bank_for(comm, whole, false), ids), expected));
  EXPECT_TRUE(torch::equal(bank_rows(comm, bank_for(comm, whole, true), ids), expected));
}

TEST(Stage2Targets, PositivesIgnoredReferencesAndCandidatesFollowTheConfig) {
  TripletData data;
  data.reference = {0, 2, 4};
  data.target = {1, 3, 4};
  data.equally_good_targets = {{5, 1}, {}, {0}};
  Stage2Config config;
  const std::vector<int64_t> batch = {2, 0};

  SoftmaxTargets targets = stage2_targets(data, batch, config, 6, 1);
  EXPECT_EQ(targets.positives, (std::vector<std::vector<int64_t>>{{4}, {1}}));
  EXPECT_TRUE(targets.ignored.empty());

  config.positives = TargetPositives::TargetSoft;
  config.ignore_reference = true;
  targets = stage2_targets(data, batch, config, 6, 1);
  EXPECT_EQ(targets.positives, (std::vector<std::vector<int64_t>>{{4, 0}, {1, 5}}));
  // Triplet 2's reference is its own target: a positive is never ignored.
  EXPECT_EQ(targets.ignored, (std::vector<std::vector<int64_t>>{{}, {0}}));
  EXPECT_TRUE(targets.candidates.empty()) << "the whole bank by default";

  // In-batch negatives: the batch's positives are the only candidates.
  config.negatives = Stage2Negatives::Batch;
  targets = stage2_targets(data, batch, config, 6, 1);
  EXPECT_EQ(targets.candidates, (std::vector<int64_t>{0, 1, 4, 5}));

  // Sampled negatives: the positives plus a seeded draw, the same for the same batch
  // and seed (so on every rank), another for another batch; all rows when the bank is
  // smaller than the sample.
  config.positives = TargetPositives::Target;
  config.negatives = Stage2Negatives::Sample;
  config.negative_samples = 2;
  const std::vector<int64_t> wide = stage2_targets(data, batch, config, 1000, 1).candidates;
  EXPECT_EQ(wide, stage2_targets(data, batch, config, 1000, 1).candidates);
  EXPECT_LE(wide.size(), 4u);
  EXPECT_GE(wide.size(), 3u);
  EXPECT_TRUE(std::is_sorted(wide.begin(), wide.end()));
  for (int64_t positive : {1, 4}) EXPECT_TRUE(std::binary_search(wide.begin(), wide.end(), positive));
  EXPECT_NE(wide, stage2_targets(data, {0, 2}, config, 1000, 1).candidates);
  config.negative_samples = 50;
  EXPECT_EQ(stage2_targets(data, batch, config, 6, 1).candidates, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace spn
