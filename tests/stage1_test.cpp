// Stage 1 across ranks against a single-process reference computed in the same test:
// the loss and every parameter gradient (loss scaling), and 20 training steps (world-
// size invariance).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "core/hash.h"
#include "data/batch_sampler.h"
#include "dist/autograd_collectives.h"
#include "dist/sharding.h"
#include "models/dual_encoder_model.h"
#include "test_models.h"
#include "test_world.h"
#include "train/contrastive_loss.h"
#include "train/negative_types.h"

namespace spn {
namespace {

using testing::world;

std::shared_ptr<DualEncoderModel> seeded_model(const ExperimentConfig& config, torch::Dtype dtype) {
  torch::manual_seed(7);
  auto model = make_dual_encoder_model(config, testing::kTestVocab);
  model->to(dtype);
  return model;
}

void expect_gradients_match_single_process(const std::string& text_encoder, const std::string& head,
                                           int64_t global_batch,
                                           const std::vector<NegativeType>& negatives = {NegativeType::Target},
                                           double combiner_dropout = 0) {
  Communicator& comm = world();
  ExperimentConfig config = testing::tiny_config(text_encoder, head);
  config.stage1.negatives = negatives;
  config.model.combiner_dropout = combiner_dropout;
  // Double precision, so the comparison sees the algorithm, not float rounding.
  const TripletBatch global = testing::synthetic_triplets(global_batch, 11, torch::kDouble);

  auto distributed = seeded_model(config, torch::kDouble);
  Stage1Step distributed_step(comm, distributed, config.stage1);
  const ShardRange mine = shard_range(global_batch, comm.size(), comm.rank());
  const double loss = distributed_step.compute_gradients(testing::rows(global, mine.begin, mine.end), global_batch);

  auto local_comm = make_local_communicator();
  auto reference = seeded_model(config, torch::kDouble);
  Stage1Step reference_step(*local_comm, reference, config.stage1);
  const double reference_loss = reference_step.compute_gradients(global, global_batch);

  EXPECT_NEAR(loss, reference_loss, 1e-5 * std::abs(reference_loss));
  testing::expect_same_gradients(
      *distributed, *reference, 1e-5, /*every_parameter_trains=*/true,
      text_encoder + ", " + head + ", B=" + std::to_string(global_batch) + ", W=" + std::to_string(comm.size()));
}

TEST(DistStage1, LossAndEveryGradientEqualSingleProcess) {
  expect_gradients_match_single_process("gru", "combiner", 7);  // uneven slices for W = 2, 3
  expect_gradients_match_single_process("bow", "sum", 8);
}

TEST(DistStage1, EveryNegativeTypeAndTheirMixMatchSingleProcess) {
  for (NegativeType type : {NegativeType::Query, NegativeType::Reference, NegativeType::Text}) {
    SCOPED_TRACE(choice_name(type));
    expect_gradients_match_single_process("gru", "combiner", 7, {type});
  }
  expect_gradients_match_single_process(
      "bow", "sum", 5, {NegativeType::Target, NegativeType::Query, NegativeType::Reference, NegativeType::Text});
  expect_gradients_match_single_process("gru", "sum", 2,
                                        {NegativeType::Reference, NegativeType::Text});  // W = 3: an empty slice
}

// Each negative type against the formula written out pair by pair.
TEST(Stage1, NegativeTypeLossesEqualTheirDefinitions) {
  auto comm = make_local_communicator();
  const ExperimentConfig config = testing::tiny_config("gru", "combiner");
  auto model = seeded_model(config, torch::kDouble);
  torch::NoGradGuard no_grad;
  const TripletBatch batch = testing::synthetic_triplets(5, 4, torch::kDouble);
  const torch::Tensor r = model->encode_target(batch.reference_images), x = model->encode_text(batch.tokens),
                      t = model->encode_target(batch.target_images);
  const double scale = model->logit_scale().item<double>();
  // -log softmax_j(score(i, j)) at j = i, averaged over i.
  const auto infonce = [&](const std::function<torch::Tensor(int64_t, int64_t)>& score) {
    double total = 0;
    for (int64_t i = 0; i < 5; ++i) {
      std::vector<torch::Tensor> row;
      for (int64_t j = 0; j < 5; ++j) row.push_back(scale * score(i, j));
      const torch::Tensor logits = torch::stack(row);
      total += (torch::logsumexp(logits, 0) - logits[i]).item<double>();
    }
    return total / 5;
  };
  const auto f = [&](int64_t a, int64_t b) { return model->combine(r[a].unsqueeze(0), x[b].unsqueeze(0))[0]; };
  const double target = infonce([&](int64_t i, int64_t j) { return f(i, i).dot(t[j]); });
  const double query = infonce([&](int64_t i, int64_t j) { return t[i].dot(f(j, j)); });
  const double reference = infonce([&](int64_t i, int64_t j) { return f(j, i).dot(t[i]); });
  const double text = infonce([&](int64_t i, int64_t j) { return f(i, j).dot(t[i]); });
  const auto loss = [&](std::vector<NegativeType> types) {
    return negative_types_loss_shard(*comm, *model, r, x, t, 0, 5, types).item<double>();
  };
  EXPECT_NEAR(loss({NegativeType::Target}), target, 1e-10);
  EXPECT_NEAR(loss({NegativeType::Query}), query, 1e-10);
  EXPECT_NEAR(loss({NegativeType::Reference}), reference, 1e-10);
  EXPECT_NEAR(loss({NegativeType::Text}), text, 1e-10);
  EXPECT_NEAR(loss({NegativeType::Reference, NegativeType::Text}), (reference + text) / 2, 1e-10);
  EXPECT_NE(reference, target);
}

TEST(DistStage1, EmptySliceStillMatches) {
  expect_gradients_match_single_process("gru", "sum", 2);  // W = 3: rank 0 holds no rows
}

TEST(Stage1, ContrastiveLossIsMeanCrossEntropy) {
  torch::manual_seed(3);
  const torch::Tensor q = torch::randn({5, 4}, torch::kDouble), t = torch::randn({5, 4}, torch::kDouble);
  const torch::Tensor scale = torch::tensor(3.0, torch::kDouble);
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    const torch::Tensor logits = scale * q[i].matmul(t.t());
    expected += (torch::logsumexp(logits, 0) - logits[i]).item<double>();
  }
  expected /= 5;
  const double whole = contrastive_loss_shard(q, t, 0, 5, scale).item<double>();
  const double parts = contrastive_loss_shard(q.narrow(0, 0, 2), t, 0, 5, scale).item<double>() +
                       contrastive_loss_shard(q.narrow(0, 2, 3), t, 2, 5, scale).item<double>();
  EXPECT_NEAR(whole, expected, 1e-12);
  EXPECT_NEAR(parts, expected, 1e-12);
}

// SPRC's itc: targets are sets of token vectors and a query scores a target by its best
// token. Each rank holds its slice of queries and targets, gathers the targets with
// their gradient and sums its share; loss and gradients equal one process's over the
// whole batch, whose loss is checked against the definition.
TEST(DistStage1, TokenSetTargetsMatchOneProcess) {
  Communicator& comm = world();
  constexpr int64_t kBatch = 7, kTokens = 3, kDim = 4;
  torch::manual_seed(8);
  const torch::Tensor queries = torch::randn({kBatch, kDim}, torch::kDouble);
  const torch::Tensor targets = torch::randn({kBatch, kTokens, kDim}, torch::kDouble);
  const torch::Tensor scale = torch::tensor(2.5, torch::kDouble);
  torch::Tensor whole_queries = queries.clone().set_requires_grad(true);
  torch::Tensor whole_targets = targets.clone().set_requires_grad(true);
  const torch::Tensor whole = contrastive_loss_shard(whole_queries, whole_targets, 0, kBatch, scale);
  whole.backward();
  double expected = 0;
  for (int64_t i = 0; i < kBatch; ++i) {
    const torch::Tensor logits = scale * std::get<0>(torch::matmul(targets, queries[i]).max(1));  // [kBatch]
    expected += (torch::logsumexp(logits, 0) - logits[i]).item<double>() / kBatch;
  }
  EXPECT_NEAR(whole.item<double>(), expected, 1e-12);

  const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
  torch::Tensor local_queries = queries.narrow(0, mine.begin, mine.size()).clone().set_requires_grad(true);
  torch::Tensor local_targets = targets.narrow(0, mine.begin, mine.size()).clone().set_requires_grad(true);
  const torch::Tensor share =
      contrastive_loss_shard(local_queries, all_gather_with_grad(comm, local_targets), mine.begin, kBatch, scale);
  share.backward();
  torch::Tensor total = share.detach().reshape({1}).clone();
  comm.all_reduce(total, ReduceOp::Sum);
  EXPECT_NEAR(total.item<double>(), whole.item<double>(), 1e-12);
  if (mine.size() > 0) {
    EXPECT_TRUE(
        torch::allclose(local_queries.grad(), whole_queries.grad().narrow(0, mine.begin, mine.size()), 1e-10, 1e-12));
    EXPECT_TRUE(
        torch::allclose(local_targets.grad(), whole_targets.grad().narrow(0, mine.begin, mine.size()), 1e-10, 1e-12));
  }
}

void expect_twenty_steps_match_one_rank(const ExperimentConfig& config) {
  Communicator& comm = world();
  constexpr int64_t kTriplets = 45, kBatch = 9, kSteps = 20;
  const TripletBatch data = testing::synthetic_triplets(kTriplets, 5);

  auto run = [&](Communicator& c) {
    auto model = seeded_model(config, torch::kFloat);
    Stage1Step step(c, model, config.stage1);
    GlobalBatchSampler sampler(kTriplets, kBatch, 99);
    std::vector<double> losses;
    for (int64_t s = 0; s < kSteps; ++s) {
      const auto index = torch::tensor(sampler.local_batch(s, c.size(), c.rank()), torch::kLong);
      const TripletBatch local{data.reference_images.index_select(0, index), data.tokens.index_select(0, index),
                               data.target_images.index_select(0, index)};
      model->set_step_seed(mix_seed(3, s));  // as the training loop does
      losses.push_back(step.run(local, kBatch, 1e-2).loss);
    }
    return std::make_pair(losses, model);
  };
  auto [losses, model] = run(comm);
  auto local_comm = make_local_communicator();
  auto [reference_losses, reference_model] = run(*local_comm);

  for (int64_t s = 0; s < kSteps; ++s)
    EXPECT_NEAR(losses[s], reference_losses[s], 1e-4 * std::abs(reference_losses[s])) << "step " << s;
  EXPECT_LT(reference_losses.back(), reference_losses.front());  // it trained
  const auto reference_named = reference_model->named_parameters();
  for (const auto& item : model->named_parameters())
    EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-4) << item.key();
}

TEST(DistStage1, TwentyStepsGiveSameLossesAndParametersAsOneRank) {
  expect_twenty_steps_match_one_rank(testing::tiny_config());
}

// ZeRO-1: each rank updates its slice of the parameters (tests/sharded_adamw_test.cpp
// compares the optimizer itself with unsharded AdamW).
TEST(DistStage1, TwentyStepsWithShardedOptimizerMatchOneRank) {
  ExperimentConfig config = testing::tiny_config();
  config.stage1.shard_optimizer = true;
  expect_twenty_steps_match_one_rank(config);
}

// Dropout masks are drawn per global row (and per pair of the swapped negative types),
// so the rank that holds a row does not change its mask.
TEST(DistStage1, CombinerDropoutMatchesSingleProcess) {
  expect_gradients_match_single_process(
      "gru", "combiner", 7, {NegativeType::Target, NegativeType::Query, NegativeType::Reference, NegativeType::Text},
      0.5);
  ExperimentConfig config = testing::tiny_config();
  config.model.combiner_dropout = 0.5;
  expect_twenty_steps_match_one_rank(config);
}

}  // namespace
}  // namespace spn
