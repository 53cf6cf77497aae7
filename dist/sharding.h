#pragma once
// Contiguous sharding: N rows over W ranks, rank r owns [r*N/W, (r+1)*N/W) in integer
// arithmetic. Uneven N is normal and a shard may be empty. Every module that splits
// work across ranks (generation, batches, evaluation, banks) uses this one rule.
#include <cstdint>
#include <vector>

namespace spn {

struct ShardRange {
  int64_t begin;
  int64_t end;
  int64_t size() const { return end - begin; }
};

inline ShardRange shard_range(int64_t n, int world_size, int rank) {
  return {n * rank / world_size, n * (rank + 1) / world_size};
}

// Rows owned by each rank, in rank order.
inline std::vector<int64_t> shard_sizes(int64_t n, int world_size) {
  std::vector<int64_t> sizes(world_size);
  for (int r = 0; r < world_size; ++r) sizes[r] = shard_range(n, world_size, r).size();
  return sizes;
}

}  // namespace spn
