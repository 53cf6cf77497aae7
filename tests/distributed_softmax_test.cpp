// The sharded softmax cross entropy against the direct full-logits computation on one
// process, in the same test: loss, query gradients and temperature gradient, for one
// positive, several positives (both modes), ignore masks, candidate subsets, uneven
// shards and an empty shard; and a finite-difference check in double precision.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "dist/autograd_collectives.h"
#include "dist/distributed_softmax.h"
#include "dist/sharding.h"
#include "test_world.h"

namespace spn {
namespace {

using testing::world;

SoftmaxTargets make_targets(int64_t queries, int64_t bank, int positives_per_query, bool with_mask, uint64_t seed,
                            int64_t extra_candidates) {
  std::mt19937_64 rng(seed);
  SoftmaxTargets targets;
  for (int64_t i = 0; i < queries; ++i) {
    std::vector<int64_t> positives;
    for (int p = 0; p < positives_per_query; ++p) positives.push_back(static_cast<int64_t>((rng() % bank)));
    std::sort(positives.begin(), positives.end());
    positives.erase(std::unique(positives.begin(), positives.end()), positives.end());
    targets.positives.push_back(positives);
    if (with_mask) {
      std::vector<int64_t> ignored;
      for (int k = 0; k < 3; ++k) {
        const int64_t id = static_cast<int64_t>(rng() % bank);
        if (std::find(positives.begin(), positives.end(), id) == positives.end()) ignored.push_back(id);
      }
      targets.ignored.push_back(ignored);
    }
  }
  if (extra_candidates > 0) {  // the positives and a few other rows
    for (const auto& positives : targets.positives)
      targets.candidates.insert(targets.candidates.end(), positives.begin(), positives.end());
    for (int64_t k = 0; k < extra_candidates; ++k) targets.candidates.push_back(static_cast<int64_t>(rng() % bank));
    std::sort(targets.candidates.begin(), targets.candidates.end());
    targets.candidates.erase(std::unique(targets.candidates.begin(), targets.candidates.end()),
                             targets.candidates.end());
  }
  return targets;
}

struct Case {
  int64_t queries;
  int64_t bank;
  int positives;
  bool mask;
  MultiPositive mode;
  int64_t chunk;
  int64_t extra_candidates = 0;             // > 0: softmax over the positives and this many drawn rows only
  torch::Dtype shard_type = torch::kFloat;  // 16 bits: the shard is multiplied in that type
  // Largest relative error of the loss and of the query gradients (relative to the
  // largest gradient element); the temperature's gradient gets ten times as much.
  double tolerance = 1e-5;
  int64_t tokens = 0;  // > 0: the bank holds token sets [N, tokens, D]
};

void expect_matches_full_softmax(const Case& c) {
  Communicator& comm = world();
  torch::manual_seed(21);
  const torch::Tensor all_queries = torch::nn::functional::normalize(
      torch::randn({c.queries, 16}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  const std::vector<int64_t> bank_shape =
      c.tokens > 0 ? std::vector<int64_t>{c.bank, c.tokens, 16} : std::vector<int64_t>{c.bank, 16};
  const torch::Tensor bank =
      torch::nn::functional::normalize(torch::randn(bank_shape), torch::nn::functional::NormalizeFuncOptions().dim(-1));
  const SoftmaxTargets targets = make_targets(c.queries, c.bank, c.positives, c.mask, 5, c.extra_candidates);

  // The world: each rank owns a slice of the queries and a shard of the bank.
  const ShardRange query_rows = shard_range(c.queries, comm.size(), comm.rank());
  const ShardRange bank_rows = shard_range(c.bank, comm.size(), comm.rank());
  torch::Tensor local_queries =
      all_queries.narrow(0, query_rows.begin, query_rows.size()).clone().set_requires_grad(true);
  torch::Tensor scale = torch::tensor(20.0f).set_requires_grad(true);
  const torch::Tensor gathered = all_gather_with_grad(comm, local_queries);
  const torch::Tensor loss = distributed_softmax_cross_entropy(
      comm, gathered, scale, bank.narrow(0, bank_rows.begin, bank_rows.size()).to(c.shard_type), bank_rows.begin,
      targets, c.mode, c.chunk);
  loss.backward();
  torch::Tensor scale_grad = scale.grad().reshape({1}).clone();
  comm.all_reduce(scale_grad, ReduceOp::Sum);  // as the gradient sync does for a parameter

  // The reference: one process, the whole bank, full logits.
  torch::Tensor reference_queries = all_queries.clone().set_requires_grad(true);
  torch::Tensor reference_scale = torch::tensor(20.0f).set_requires_grad(true);
  const torch::Tensor reference = full_softmax_cross_entropy(reference_queries, reference_scale, bank, targets, c.mode);
  reference.backward();

  const std::string label =
      "B=" + std::to_string(c.queries) + " N=" + std::to_string(c.bank) + " positives=" + std::to_string(c.positives) +
      " mask=" + std::to_string(c.mask) + " chunk=" + std::to_string(c.chunk) +
      " candidates=" + std::to_string(targets.candidates.size()) + " W=" + std::to_string(comm.size()) +
      " shard=" + std::string(c10::toString(c.shard_type)) + " tokens=" + std::to_string(c.tokens);
  EXPECT_NEAR(loss.item<double>(), reference.item<double>(), c.tolerance * std::abs(reference.item<double>())) << label;
  const torch::Tensor expected_rows = reference_queries.grad().narrow(0, query_rows.begin, query_rows.size());
  if (query_rows.size() > 0)
    EXPECT_LE((local_queries.grad() - expected_rows).abs().max().item<double>(),
              c.tolerance * reference_queries.grad().abs().max().item<double>() + 1e-9)
        << label;
  EXPECT_NEAR(scale_grad.item<double>(), reference_scale.grad().item<double>(),
              10 * c.tolerance * std::abs(reference_scale.grad().item<double>()) + 1e-7)
      << label;
}

// Central differences of the loss (h = 1e-6, double precision) against the backward's
// gradients of three queries of width bank.size(-1) and of the scale.
void expect_gradients_match_finite_differences(const torch::Tensor& bank, MultiPositive mode, int64_t chunk) {
  auto comm = make_local_communicator();
  const int64_t dim = bank.size(-1);
  const SoftmaxTargets targets = make_targets(3, bank.size(0), 2, true, 9, 0);
  torch::Tensor queries = torch::randn({3, dim}, torch::kDouble).set_requires_grad(true);
  torch::Tensor scale = torch::tensor(1.7, torch::kDouble).set_requires_grad(true);
  const auto loss_at = [&](const torch::Tensor& q, const torch::Tensor& s) {
    return distributed_softmax_cross_entropy(*comm, q, s, bank, 0, targets, mode, chunk).item<double>();
  };
  distributed_softmax_cross_entropy(*comm, queries, scale, bank, 0, targets, mode, chunk).backward();
  constexpr double h = 1e-6;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t d = 0; d < dim; ++d) {
      torch::Tensor plus = queries.detach().clone(), minus = queries.detach().clone();
      plus[i][d] += h;
      minus[i][d] -= h;
      const double numeric = (loss_at(plus, scale.detach()) - loss_at(minus, scale.detach())) / (2 * h);
      EXPECT_NEAR(queries.grad()[i][d].item<double>(), numeric, 1e-7) << i << "," << d;
    }
  const double numeric_scale =
      (loss_at(queries.detach(), scale.detach() + h) - loss_at(queries.detach(), scale.detach() - h)) / (2 * h);
  EXPECT_NEAR(scale.grad().item<double>(), numeric_scale, 1e-7);
}

TEST(DistSoftmax, OnePositiveEqualsFullSoftmax) {
  expect_matches_full_softmax({7, 101, 1, false, MultiPositive::LogSumExp, 16});  // uneven N and B
  expect_matches_full_softmax({8, 64, 1, false, MultiPositive::Mean, 1000});      // one chunk
}

TEST(DistSoftmax, SeveralPositivesBothModes) {
  expect_matches_full_softmax({6, 53, 3, false, MultiPositive::LogSumExp, 8});
  expect_matches_full_softmax({6, 53, 3, false, MultiPositive::Mean, 8});
}

TEST(DistSoftmax, IgnoreMasks) {
  expect_matches_full_softmax({5, 47, 1, true, MultiPositive::LogSumExp, 5});
  expect_matches_full_softmax({5, 47, 2, true, MultiPositive::Mean, 7});
}

// Fewer negatives than the bank: some shards hold no candidate at all (W = 3, N = 47).
TEST(DistSoftmax, CandidateSubsets) {
  expect_matches_full_softmax({5, 47, 1, false, MultiPositive::LogSumExp, 4, 3});
  expect_matches_full_softmax({6, 47, 2, true, MultiPositive::Mean, 7, 10});
}

// The candidate mask is the softmax over the candidate rows alone: the same loss as the
// full softmax of a bank holding only those rows.
TEST(DistributedSoftmax, CandidatesAreTheSoftmaxOverThoseRowsAlone) {
  torch::manual_seed(4);
  const torch::Tensor queries = torch::randn({4, 8});
  const torch::Tensor bank = torch::randn({30, 8});
  const torch::Tensor scale = torch::tensor(3.0);
  const SoftmaxTargets targets = make_targets(4, 30, 2, false, 8, 5);
  ASSERT_LT(targets.candidates.size(), 30u);
  SoftmaxTargets remapped;
  for (const auto& positives : targets.positives) {
    std::vector<int64_t> columns;
    for (int64_t id : positives)
      columns.push_back(std::lower_bound(targets.candidates.begin(), targets.candidates.end(), id) -
                        targets.candidates.begin());
    remapped.positives.push_back(columns);
  }
  const torch::Tensor subset = bank.index_select(0, torch::tensor(targets.candidates, torch::kLong));
  const double masked =
      full_softmax_cross_entropy(queries, scale, bank, targets, MultiPositive::LogSumExp).item<double>();
  const double alone =
      full_softmax_cross_entropy(queries, scale, subset, remapped, MultiPositive::LogSumExp).item<double>();
  EXPECT_NEAR(masked, alone, 1e-5 * std::abs(alone));
  SoftmaxTargets whole_bank = targets;
  whole_bank.candidates.clear();
  EXPECT_GT(full_softmax_cross_entropy(queries, scale, bank, whole_bank, MultiPositive::LogSumExp).item<double>(),
            masked + 1e-3)
      << "more negatives, a larger loss";
}

// bf16 and fp16 training: a 16-bit shard against the float32 reference, within the
// rounding of the 16-bit dot products (bf16 keeps 8 significant bits, fp16 11).
TEST(DistSoftmax, SixteenBitShardsWithinTheirRoundingOfFloat32) {
  for (MultiPositive mode : {MultiPositive::LogSumExp, MultiPositive::Mean}) {
    expect_matches_full_softmax({7, 101, 2, true, mode, 16, 0, torch::kBFloat16, 2e-2});
    expect_matches_full_softmax({7, 101, 2, true, mode, 16, 0, torch::kHalf, 2e-3});
  }
  expect_matches_full_softmax({5, 47, 1, false, MultiPositive::LogSumExp, 4, 3, torch::kBFloat16, 2e-2});
}

// A query that already ranks its positive well above the rest (here above one hard
// negative, a near-copy of it) has a loss much smaller than the bf16 rounding of its
// positive's logit (up to 0.125 at scale 50): the loss must still come out near the
// float32 one. (Scoring the positive in float32 against a bf16 partition gives -0.017
// here, a negative loss.)
TEST(DistributedSoftmax, ConfidentQueriesKeepTheirSmallLossInBfloat16) {
  auto comm = make_local_communicator();
  torch::manual_seed(9);
  const auto unit = [](const torch::Tensor& x) { return x / x.norm(2, 1, true); };
  torch::Tensor bank = unit(torch::randn({500, 64}));
  const torch::Tensor positives = torch::arange(0, 8 * 37, 37);
  bank.index_copy_(0, positives + 1, unit(bank.index_select(0, positives) + 0.5 * torch::randn({8, 64}) / 8.0));
  const torch::Tensor queries = unit(bank.index_select(0, positives) + 0.3 * torch::randn({8, 64}) / 8.0);
  SoftmaxTargets targets;
  for (int64_t i = 0; i < 8; ++i) targets.positives.push_back({i * 37});
  const torch::Tensor scale = torch::tensor(50.0f);
  const double float32 =
      distributed_softmax_cross_entropy(*comm, queries, scale, bank, 0, targets, MultiPositive::LogSumExp, 128)
          .item<double>();
  const double bfloat16 = distributed_softmax_cross_entropy(*comm, queries, scale, bank.to(torch::kBFloat16), 0,
                                                            targets, MultiPositive::LogSumExp, 128)
                              .item<double>();
  ASSERT_GT(float32, 1e-3) << "the case needs a loss well above float32's rounding";
  ASSERT_LT(float32, 0.05) << "the case needs confident queries";
  EXPECT_NEAR(bfloat16, float32, 0.1 * float32);
}

// A float16 bank's exponentials stay float32: exp(-18) = 1.5e-8 is below float16's
// smallest value, and 200,000 such negatives still carry 0.3% of the softmax mass.
TEST(DistributedSoftmax, Float16KeepsTheMassOfManyFarNegatives) {
  auto comm = make_local_communicator();
  const torch::Tensor queries = torch::eye(1, 16);
  torch::Tensor bank = torch::zeros({200001, 16});
  bank[0][0] = 1;                                      // the positive: logit 100
  bank.narrow(0, 1, 200000).select(1, 0).fill_(0.82);  // the negatives: logit 82
  bank.narrow(0, 1, 200000).select(1, 1).fill_(std::sqrt(1 - 0.82 * 0.82));
  SoftmaxTargets targets;
  targets.positives = {{0}};
  const torch::Tensor scale = torch::tensor(100.0f);
  const double expected = std::log1p(200000 * std::exp(-18.0));
  const double float16 = distributed_softmax_cross_entropy(*comm, queries, scale, bank.to(torch::kHalf), 0, targets,
                                                           MultiPositive::LogSumExp, 0)
                             .item<double>();
  EXPECT_NEAR(float16, expected, 0.05 * expected);
}

// Chunk 0 leaves the block width to the device: 4096 columns on the CPU, blocks of 2^26
// elements on a GPU, never narrower than the CPU's.
TEST(DistributedSoftmax, AutomaticChunkFollowsTheDevice) {
  EXPECT_EQ(automatic_chunk_columns(torch::kCPU, 256), 4096);
  EXPECT_EQ(automatic_chunk_columns(torch::Device(torch::kCUDA, 0), 256), 262144);
  EXPECT_EQ(automatic_chunk_columns(torch::Device(torch::kCUDA, 0), 1 << 20), 4096);
}

TEST(DistSoftmax, AutomaticChunkEqualsFullSoftmax) {
  expect_matches_full_softmax({7, 5000, 2, true, MultiPositive::LogSumExp, 0});  // two CPU blocks
}

// SPRC's targets: each bank row is a set of token vectors and scores by its best one.
TEST(DistSoftmax, TokenSetsEqualFullSoftmax) {
  for (int64_t chunk : {int64_t{1}, int64_t{7}, int64_t{0}}) {
    expect_matches_full_softmax({7, 101, 2, true, MultiPositive::LogSumExp, chunk, 0, torch::kFloat, 1e-5, 4});
    expect_matches_full_softmax({6, 53, 3, false, MultiPositive::Mean, chunk, 0, torch::kFloat, 1e-5, 3});
  }
  expect_matches_full_softmax({5, 47, 1, false, MultiPositive::LogSumExp, 4, 3, torch::kFloat, 1e-5, 5});
  expect_matches_full_softmax({4, 2, 1, false, MultiPositive::LogSumExp, 4, 0, torch::kFloat, 1e-5, 3});  // empty shard
  expect_matches_full_softmax({7, 101, 2, true, MultiPositive::LogSumExp, 16, 0, torch::kBFloat16, 2e-2, 4});
  expect_matches_full_softmax({7, 101, 2, true, MultiPositive::Mean, 16, 0, torch::kHalf, 2e-3, 4});
}

// One token per set is the plain bank, to the last bit.
TEST(DistributedSoftmax, OneTokenSetsAreThePlainBank) {
  auto comm = make_local_communicator();
  torch::manual_seed(6);
  const torch::Tensor queries = torch::randn({5, 8}), bank = torch::randn({40, 8});
  const SoftmaxTargets targets = make_targets(5, 40, 2, true, 3, 0);
  const torch::Tensor scale = torch::tensor(3.0f);
  for (int64_t chunk : {int64_t{6}, int64_t{0}}) {
    torch::Tensor plain_queries = queries.clone().set_requires_grad(true);
    torch::Tensor set_queries = queries.clone().set_requires_grad(true);
    const torch::Tensor plain =
        distributed_softmax_cross_entropy(*comm, plain_queries, scale, bank, 0, targets, MultiPositive::Mean, chunk);
    const torch::Tensor sets = distributed_softmax_cross_entropy(*comm, set_queries, scale, bank.unsqueeze(1), 0,
                                                                 targets, MultiPositive::Mean, chunk);
    plain.backward();
    sets.backward();
    EXPECT_EQ(plain.item<float>(), sets.item<float>());
    EXPECT_TRUE(torch::equal(plain_queries.grad(), set_queries.grad()));
  }
}

TEST(DistributedSoftmax, TokenSetFiniteDifferenceGradientInDoublePrecision) {
  torch::manual_seed(8);
  // h = 1e-6 is small enough that no query's best token changes.
  expect_gradients_match_finite_differences(torch::randn({29, 4, 5}, torch::kDouble), MultiPositive::LogSumExp, 5);
}

TEST(DistributedSoftmax, ShardsOfAnotherShapeAreRefused) {
  auto comm = make_local_communicator();
  SoftmaxTargets targets;
  targets.positives = {{0}};
  const torch::Tensor queries = torch::randn({1, 8}), scale = torch::tensor(1.0f);
  for (const auto& shape : {std::vector<int64_t>{4, 7}, std::vector<int64_t>{4, 2, 7}, std::vector<int64_t>{4}})
    EXPECT_THROW(distributed_softmax_cross_entropy(*comm, queries, scale, torch::randn(shape), 0, targets,
                                                   MultiPositive::Mean, 0),
                 std::invalid_argument);
}

TEST(DistSoftmax, EmptyShard) {
  expect_matches_full_softmax({4, 2, 1, false, MultiPositive::LogSumExp, 4});  // W = 3: rank 0 owns no bank row
}

TEST(DistributedSoftmax, FiniteDifferenceGradientInDoublePrecision) {
  torch::manual_seed(4);
  const torch::Tensor bank = torch::randn({29, 5}, torch::kDouble);
  for (MultiPositive mode : {MultiPositive::LogSumExp, MultiPositive::Mean})
    expect_gradients_match_finite_differences(bank, mode, 4);
}

}  // namespace
}  // namespace spn
