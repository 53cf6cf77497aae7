// Collectives of more than 2^31 elements (issue: MPI counts are int). Bytes keep the
// memory at about 2 GiB a tensor: broadcast and all-reduce move one tensor just over
// 2^31 elements; all-gather assembles more than 2^31 elements from ranks that each give
// fewer (for two or more ranks), and the reduce-scatter of that result sends each rank
// its rows back. Peak memory is about 4 GiB per rank on one rank, 2.7 GiB on three.
//
// Expected values are a pure function of (rank, global index), the single-process
// reference; the test reads them at both sides of every piece boundary, of 2^31 and of
// every rank's block, and at pseudo-random places in between.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "dist/message_chunks.h"
#include "dist/sharding.h"
#include "test_world.h"

namespace spn {
namespace {

using testing::world;

constexpr int64_t kTwoTo31 = int64_t{1} << 31;

// The byte at global index i of a pattern: (i + shift) % modulus. A modulus that does not
// divide the piece size (2^28) makes a piece landing in the wrong place visible.
uint8_t pattern_at(int64_t i, int64_t shift, int64_t modulus) { return static_cast<uint8_t>((i + shift) % modulus); }

// Fills `bytes` with the pattern for global indices first .. first + numel - 1, by
// copying from one periodic block (fast enough for gigabytes).
void fill_pattern(at::Tensor& bytes, int64_t first, int64_t shift, int64_t modulus) {
  const int64_t period_copies = 65536;
  std::vector<uint8_t> block(static_cast<size_t>(modulus * (period_copies + 1)));
  for (size_t j = 0; j < block.size(); ++j) block[j] = static_cast<uint8_t>(j % modulus);
  const int64_t step = modulus * period_copies, start = (first + shift) % modulus;
  auto* out = bytes.data_ptr<uint8_t>();
  for (int64_t at = 0; at < bytes.numel(); at += step)
    std::memcpy(out + at, block.data() + start, static_cast<size_t>(std::min(step, bytes.numel() - at)));
}

// Positions to read in a message of n elements: both sides of every multiple of the
// piece size and of 2^31, of the given extra boundaries, and 4096 seeded random ones.
std::vector<int64_t> sample_positions(int64_t n, std::vector<int64_t> boundaries) {
  const int64_t piece = max_chunk_elements(kMaxMessageBytes, 1);
  for (int64_t b = piece; b < n; b += piece) boundaries.push_back(b);
  boundaries.push_back(kTwoTo31);
  std::vector<int64_t> positions = {0, n - 1};
  for (int64_t b : boundaries)
    for (int64_t p : {b - 2, b - 1, b, b + 1})
      if (p >= 0 && p < n) positions.push_back(p);
  std::mt19937_64 rng(15);
  for (int i = 0; i < 4096; ++i) positions.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(n)));
  return positions;
}

// How many sampled positions of `bytes` (global indices first + p) differ from expected(p).
template <class Expected>
int64_t mismatches(const at::Tensor& bytes, const std::vector<int64_t>& positions, Expected expected) {
  const auto* data = bytes.data_ptr<uint8_t>();
  int64_t wrong = 0;
  for (int64_t p : positions) wrong += data[p] != expected(p);
  return wrong;
}

TEST(DistLargeMessages, BroadcastAndAllReduceOfMoreThan2To31Bytes) {
  Communicator& comm = world();
  const int64_t n = kTwoTo31 + 3;
  const std::vector<int64_t> positions = sample_positions(n, {});
  {
    const int root = comm.size() - 1;
    at::Tensor bytes = comm.rank() == root ? at::empty({n}, at::kByte) : at::zeros({n}, at::kByte);
    if (comm.rank() == root) fill_pattern(bytes, 0, 3, 251);
    comm.broadcast(bytes, root);
    EXPECT_EQ(mismatches(bytes, positions, [](int64_t i) { return pattern_at(i, 3, 251); }), 0);
  }
  {
    // Rank r gives (i + 7r) % m; m keeps the sum over ranks within a byte.
    const int64_t modulus = 251 / comm.size(), ranks = comm.size();
    at::Tensor bytes = at::empty({n}, at::kByte);
    fill_pattern(bytes, 0, 7 * comm.rank(), modulus);
    comm.all_reduce(bytes, ReduceOp::Sum);
    EXPECT_EQ(mismatches(bytes, positions,
                         [&](int64_t i) {
                           int64_t sum = 0;
                           for (int r = 0; r < ranks; ++r) sum += pattern_at(i, 7 * r, modulus);
                           return static_cast<uint8_t>(sum);
                         }),
              0);
  }
  comm.barrier();
}

TEST(DistLargeMessages, AllGatherAndReduceScatterOfMoreThan2To31Bytes) {
  Communicator& comm = world();
  // 2,147,489 rows of 1000 bytes: 5,352 bytes over 2^31, split unevenly over 2 or 3 ranks.
  const int64_t rows = 2'147'489, cols = 1000, n = rows * cols;
  const int64_t modulus = 251 / comm.size(), ranks = comm.size();
  const std::vector<int64_t> row_counts = shard_sizes(rows, comm.size());
  const ShardRange mine = shard_range(rows, comm.size(), comm.rank());
  std::vector<int64_t> block_starts;
  for (int r = 1; r < comm.size(); ++r) block_starts.push_back(shard_range(rows, comm.size(), r).begin * cols);

  at::Tensor gathered;
  {
    at::Tensor local = at::empty({mine.size(), cols}, at::kByte);
    fill_pattern(local, mine.begin * cols, 5, modulus);
    gathered = comm.all_gather(local);
  }
  ASSERT_EQ(gathered.sizes(), (std::vector<int64_t>{rows, cols}));
  EXPECT_EQ(
      mismatches(gathered, sample_positions(n, block_starts), [&](int64_t i) { return pattern_at(i, 5, modulus); }), 0);

  // Every rank gives the same gathered tensor: each receives its rows times the rank count.
  const at::Tensor reduced = comm.reduce_scatter(gathered, row_counts);
  gathered = at::Tensor();
  ASSERT_EQ(reduced.sizes(), (std::vector<int64_t>{mine.size(), cols}));
  if (mine.size() > 0)
    EXPECT_EQ(mismatches(reduced, sample_positions(reduced.numel(), {}),
                         [&](int64_t p) {
                           return static_cast<uint8_t>(ranks * pattern_at(mine.begin * cols + p, 5, modulus));
                         }),
              0);
  comm.barrier();
}

}  // namespace
}  // namespace spn
