#include <gtest/gtest.h>

#include "data/batch_sampler.h"
#include "dist/sharding.h"

namespace spn {
namespace {

TEST(Sharding, CoversRangeContiguouslyWithUnevenAndEmptyShards) {
  for (int64_t n : {0, 1, 2, 5, 7, 100}) {
    for (int world = 1; world <= 5; ++world) {
      int64_t expected_begin = 0;
      for (int rank = 0; rank < world; ++rank) {
        const ShardRange range = shard_range(n, world, rank);
        EXPECT_EQ(range.begin, expected_begin);
        EXPECT_GE(range.size(), n / world);
        EXPECT_LE(range.size(), n / world + 1);
        expected_begin = range.end;
      }
      EXPECT_EQ(expected_begin, n);
    }
  }
  EXPECT_EQ(shard_range(2, 3, 0).size(), 0);  // an empty shard is normal
}

TEST(BatchSampler, GlobalBatchesDependOnSeedOnlyAndSlicesConcatenate) {
  GlobalBatchSampler sampler(103, 10, 42);
  EXPECT_EQ(sampler.steps_per_epoch(), 10);
  std::vector<int> seen(103, 0);
  for (int64_t step = 0; step < 10; ++step)
    for (int64_t item : sampler.global_batch(step)) ++seen[item];
  int total = 0;
  for (int count : seen) {
    EXPECT_LE(count, 1);  // an epoch never repeats an item
    total += count;
  }
  EXPECT_EQ(total, 100);

  for (int world = 1; world <= 3; ++world) {
    GlobalBatchSampler other(103, 10, 42);
    for (int64_t step : {0, 9, 10, 25}) {
      std::vector<int64_t> joined;
      for (int rank = 0; rank < world; ++rank) {
        auto part = other.local_batch(step, world, rank);
        joined.insert(joined.end(), part.begin(), part.end());
      }
      EXPECT_EQ(joined, sampler.global_batch(step)) << "world " << world << " step " << step;
    }
  }
  GlobalBatchSampler reseeded(103, 10, 43);
  EXPECT_NE(reseeded.global_batch(0), sampler.global_batch(0));
  EXPECT_NE(sampler.global_batch(10), sampler.global_batch(0));  // a new permutation each epoch
}

}  // namespace
}  // namespace spn
