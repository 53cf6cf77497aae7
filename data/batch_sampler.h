#pragma once
// The order of training examples, independent of the number of ranks: the global
// batch of each step comes from the experiment seed alone (one permutation per epoch,
// drop-last), and rank r takes the contiguous slice shard_range(batch, W, r). This is
// what makes a run on 1, 2 or 3 ranks compute the same thing, and lets a resumed run
// continue exactly where it stopped.
#include <cstdint>
#include <vector>

namespace spn {

class GlobalBatchSampler {
 public:
  GlobalBatchSampler(int64_t items, int64_t global_batch, uint64_t seed);

  int64_t steps_per_epoch() const { return items_ / global_batch_; }
  // The whole global batch of `step` (counted from 0 over all epochs).
  std::vector<int64_t> global_batch(int64_t step);
  // This rank's slice of it.
  std::vector<int64_t> local_batch(int64_t step, int world_size, int rank);

 private:
  void prepare_epoch(int64_t epoch);

  int64_t items_;
  int64_t global_batch_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace spn
