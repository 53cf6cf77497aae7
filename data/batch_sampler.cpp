#include "data/batch_sampler.h"

#include <random>
#include <stdexcept>

#include "core/hash.h"
#include "core/random.h"
#include "dist/sharding.h"

namespace spn {

GlobalBatchSampler::GlobalBatchSampler(int64_t items, int64_t global_batch, uint64_t seed)
    : items_(items), global_batch_(global_batch), seed_(seed) {
  if (global_batch <= 0) throw std::invalid_argument("GlobalBatchSampler: batch size must be positive");
}

void GlobalBatchSampler::prepare_epoch(int64_t epoch) {
  if (epoch == epoch_) return;
  epoch_ = epoch;
  order_.resize(static_cast<size_t>(items_));
  for (int64_t i = 0; i < items_; ++i) order_[i] = i;
  std::mt19937_64 rng(mix_seed(seed_, static_cast<uint64_t>(epoch)));
  seeded_shuffle(order_, rng);
}

std::vector<int64_t> GlobalBatchSampler::global_batch(int64_t step) {
  const int64_t per_epoch = steps_per_epoch();
  if (per_epoch == 0) throw std::invalid_argument("GlobalBatchSampler: fewer items than one batch");
  prepare_epoch(step / per_epoch);
  const int64_t begin = (step % per_epoch) * global_batch_;
  return {order_.begin() + begin, order_.begin() + begin + global_batch_};
}

std::vector<int64_t> GlobalBatchSampler::local_batch(int64_t step, int world_size, int rank) {
  const std::vector<int64_t> batch = global_batch(step);
  const ShardRange mine = shard_range(global_batch_, world_size, rank);
  return {batch.begin() + mine.begin, batch.begin() + mine.end};
}

}  // namespace spn
