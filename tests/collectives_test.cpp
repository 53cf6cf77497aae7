// Collectives against values every rank can compute by itself: rank r contributes
// rows filled with known functions of r; uneven row counts and empty shards included.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <thread>

#include "dist/autograd_collectives.h"
#include "dist/gradient_sync.h"
#include "dist/sharding.h"
#include "test_world.h"

namespace spn {
namespace {

using testing::world;

// Rank r's rows: r % 3 rows (so some ranks have none), row i = [r, i, r*10+i].
at::Tensor rows_of(int rank, at::ScalarType type = at::kFloat) {
  const int64_t n = rank % 3;
  at::Tensor t = at::empty({n, 3}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    t[i][0] = rank;
    t[i][1] = i;
    t[i][2] = rank * 10 + i;
  }
  return t.to(type);
}

TEST(DistCollectives, AllReduceSumAndMax) {
  Communicator& comm = world();
  at::Tensor sum = at::full({4}, comm.rank() + 1.0, at::kDouble);
  comm.all_reduce(sum, ReduceOp::Sum);
  const double expected = comm.size() * (comm.size() + 1) / 2.0;
  EXPECT_TRUE(at::allclose(sum, at::full({4}, expected, at::kDouble)));
  at::Tensor max = at::tensor({static_cast<float>(comm.rank()), -static_cast<float>(comm.rank())});
  comm.all_reduce(max, ReduceOp::Max);
  EXPECT_EQ(max[0].item<float>(), comm.size() - 1);
  EXPECT_EQ(max[1].item<float>(), 0);
  at::Tensor ints = at::full({2}, int64_t{comm.rank()}, at::kLong);
  comm.all_reduce(ints, ReduceOp::Sum);
  EXPECT_EQ(ints[0].item<int64_t>(), comm.size() * (comm.size() - 1) / 2);
}

// float16 and bfloat16 reduce as numbers: the float32 result, rounded once. Every
// value is exact in both types and the float32 sums of them are exact, so the expected
// result does not depend on the order of the reduction.
TEST(DistCollectives, SixteenBitFloatsReduceAsTheFloat32ResultRounded) {
  Communicator& comm = world();
  const auto values_of = [](int rank, at::ScalarType type) {
    return at::tensor({1.0 + rank, 0.125 * (rank + 1), -3.75 * rank, 1000.0 + 8.0 * rank, 0.5 - rank}, at::kDouble)
        .to(type);
  };
  for (const auto type : {at::kHalf, at::kBFloat16}) {
    SCOPED_TRACE(at::toString(type));
    at::Tensor expected_sum = at::zeros({5}), expected_max = at::full({5}, -1e9);
    for (int r = 0; r < comm.size(); ++r) {
      const at::Tensor wide = values_of(r, type).to(at::kFloat);
      expected_sum += wide;
      expected_max = at::maximum(expected_max, wide);
    }
    at::Tensor sum = values_of(comm.rank(), type);
    comm.all_reduce(sum, ReduceOp::Sum);
    EXPECT_EQ(sum.scalar_type(), type);
    EXPECT_TRUE(at::equal(sum, expected_sum.to(type))) << sum << expected_sum;
    at::Tensor max = values_of(comm.rank(), type);
    comm.all_reduce(max, ReduceOp::Max);
    EXPECT_TRUE(at::equal(max, expected_max.to(type))) << max << expected_max;

    // The backward of the differentiable all-gather: a reduce-scatter of the sum.
    const int64_t n = 2 * comm.size() + 1;
    const at::Tensor input = values_of(comm.rank(), type).repeat({n, 1}).contiguous();
    const ShardRange range = shard_range(n, comm.size(), comm.rank());
    const at::Tensor mine = comm.reduce_scatter(input, shard_sizes(n, comm.size()));
    EXPECT_TRUE(at::equal(mine, expected_sum.to(type).repeat({range.size(), 1}))) << mine;
  }
}

TEST(DistCollectives, BroadcastFromLastRank) {
  Communicator& comm = world();
  const int root = comm.size() - 1;
  at::Tensor t = at::full({3, 2}, static_cast<float>(comm.rank()));
  comm.broadcast(t, root);
  EXPECT_TRUE(at::equal(t, at::full({3, 2}, static_cast<float>(root))));
  EXPECT_EQ(broadcast_string(comm, comm.rank() == root ? "from root" : "", root), "from root");
}

TEST(DistCollectives, AllGatherUnevenRowsWithEmptyShards) {
  Communicator& comm = world();
  for (auto type : {at::kFloat, at::kDouble, at::kLong, at::kByte}) {
    std::vector<at::Tensor> expected;
    for (int r = 0; r < comm.size(); ++r) expected.push_back(rows_of(r, type));
    const at::Tensor gathered = comm.all_gather(rows_of(comm.rank(), type));
    EXPECT_TRUE(at::equal(gathered, at::cat(expected))) << at::toString(type);
  }
  const auto values = comm.all_gather_int(comm.rank() * 7);
  for (int r = 0; r < comm.size(); ++r) EXPECT_EQ(values[r], r * 7);
  const auto strings = comm.all_gather_string(std::string(comm.rank(), 'x'));
  for (int r = 0; r < comm.size(); ++r) EXPECT_EQ(strings[r], std::string(r, 'x'));
}

TEST(DistCollectives, ReduceScatterUnevenRows) {
  Communicator& comm = world();
  const int64_t n = 2 * comm.size() + 1;  // uneven over any world size > 1
  const std::vector<int64_t> rows = shard_sizes(n, comm.size());
  // Rank r contributes value (r + 1) * (row + 1) at every element of a row.
  const at::Tensor input = (at::arange(n, at::kDouble) + 1).unsqueeze(1).repeat({1, 2}) * (comm.rank() + 1);
  const at::Tensor mine = comm.reduce_scatter(input.contiguous(), rows);
  const ShardRange range = shard_range(n, comm.size(), comm.rank());
  const double rank_sum = comm.size() * (comm.size() + 1) / 2.0;
  const at::Tensor expected =
      (at::arange(range.begin, range.end, at::kDouble) + 1).unsqueeze(1).repeat({1, 2}) * rank_sum;
  EXPECT_TRUE(at::allclose(mine, expected));
}

TEST(DistCollectives, AllGatherWithGradBackwardIsReduceScatterSum) {
  Communicator& comm = world();
  const int64_t rows = comm.rank() % 3;
  torch::Tensor local = rows_of(comm.rank()).set_requires_grad(true);
  const torch::Tensor gathered = all_gather_with_grad(comm, local);
  // Loss on every rank: sum over gathered rows g of (rank + 1) * g. Each local row's
  // gradient is then the sum over ranks of (rank + 1).
  const torch::Tensor loss = (gathered * (comm.rank() + 1.0)).sum();
  loss.backward();
  const double rank_sum = comm.size() * (comm.size() + 1) / 2.0;
  ASSERT_TRUE(local.grad().defined());
  EXPECT_TRUE(at::allclose(local.grad(), at::full({rows, 3}, rank_sum)));
}

TEST(DistCollectives, GradientSyncSumsEveryParameterAcrossBuckets) {
  Communicator& comm = world();
  std::vector<torch::Tensor> params = {torch::zeros({5}).set_requires_grad(true),
                                       torch::zeros({3, 4}).set_requires_grad(true),
                                       torch::zeros({7}).set_requires_grad(true)};
  for (size_t i = 0; i < params.size(); ++i)
    params[i].mutable_grad() = torch::full_like(params[i], (comm.rank() + 1.0) * (i + 1));
  GradientSync sync(comm, params, /*bucket_bytes=*/40);  // forces several buckets
  EXPECT_GE(sync.bucket_count(), 2u);
  sync.begin();
  sync.finish();  // no backward: the gradients set above take part as they are
  const double rank_sum = comm.size() * (comm.size() + 1) / 2.0;
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(at::allclose(params[i].grad(), torch::full_like(params[i], rank_sum * (i + 1))));

  std::vector<torch::Tensor> state = {torch::full({2}, static_cast<float>(comm.rank()))};
  broadcast_tensors(comm, state, 0);
  EXPECT_TRUE(at::equal(state[0], torch::zeros({2})));
}

// Messages split into pieces (as those over INT_MAX elements are) give what one call
// gives. Pieces of 12 bytes split every message here, also across rank blocks, so the
// split paths run at a size that costs nothing; DistLargeMessages moves real ones.
TEST(DistCollectives, SplitMessagesGiveWhatOneCallGives) {
  Communicator& comm = world();
  const std::unique_ptr<Communicator> split = make_mpi_communicator(12);
  // Rank r's rows: 2, 4, 0, 2, ... (an empty shard from 3 ranks on), row i of rank r
  // holding values that name r and i.
  const auto rows_for = [](int rank, at::ScalarType type) {
    const int64_t n = (rank + 1) % 3 * 2;
    return (at::arange(n * 5, at::kDouble).reshape({n, 5}) + 100 * rank).to(type);
  };
  for (const auto type : {at::kFloat, at::kDouble, at::kByte, at::kHalf}) {
    SCOPED_TRACE(at::toString(type));
    const at::Tensor gathered = split->all_gather(rows_for(comm.rank(), type));
    EXPECT_TRUE(at::equal(gathered, comm.all_gather(rows_for(comm.rank(), type))));

    const int64_t n = gathered.size(0);
    const at::Tensor input = (gathered.to(at::kDouble) * (comm.rank() + 1) / 8).to(type).contiguous();
    EXPECT_TRUE(at::equal(split->reduce_scatter(input, shard_sizes(n, comm.size())),
                          comm.reduce_scatter(input, shard_sizes(n, comm.size()))));

    at::Tensor summed = input.clone(), expected_sum = input.clone();
    split->all_reduce(summed, ReduceOp::Sum);
    comm.all_reduce(expected_sum, ReduceOp::Sum);
    EXPECT_TRUE(at::equal(summed, expected_sum));
    at::Tensor maximum = input.clone(), expected_max = input.clone();
    split->all_reduce(maximum, ReduceOp::Max);
    comm.all_reduce(expected_max, ReduceOp::Max);
    EXPECT_TRUE(at::equal(maximum, expected_max));

    const int root = comm.size() - 1;
    at::Tensor from_root = comm.rank() == root ? gathered.clone() : at::zeros_like(gathered);
    split->broadcast(from_root, root);
    EXPECT_TRUE(at::equal(from_root, gathered));
  }
  const auto strings =
      split->all_gather_string(std::string(comm.rank() * 13 % 27, static_cast<char>('a' + comm.rank())));
  ASSERT_EQ(static_cast<int>(strings.size()), comm.size());
  for (int r = 0; r < comm.size(); ++r) EXPECT_EQ(strings[r], std::string(r * 13 % 27, static_cast<char>('a' + r)));
}

// What a sweep's ranks do after a variant failed: they all arrive, or the ones that
// wait give up instead of hanging.
TEST(DistCollectives, BarrierWithinGivesUpOnAnAbsentPeer) {
  Communicator& comm = world();
  EXPECT_TRUE(comm.barrier_within(60));
  if (comm.size() > 1) {
    if (comm.rank() == 0) {
      EXPECT_FALSE(comm.barrier_within(0.2));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      EXPECT_TRUE(comm.barrier_within(60));  // rank 0's abandoned barrier completes theirs
    }
  }
  comm.barrier();
}

}  // namespace
}  // namespace spn
