#include "train/step_images.h"

#include <spdlog/spdlog.h>

#include "core/hash.h"
#include "data/batch_sampler.h"
#include "dist/sharding.h"
#include "track/stage.h"

namespace spn {
namespace {

constexpr uint64_t kAugmentStream = 2;  // seed stream of the crops (1: the model's draws, training_loop.cpp)

}  // namespace

std::unique_ptr<ImagePrefetcher> step_images(const Communicator& comm, const LoopSettings& settings,
                                             const ImageRows& images,
                                             std::function<std::vector<int64_t>(const std::vector<int64_t>&)> images_of,
                                             const LoaderOptions& options, const ImageAugment& augment) {
  auto order = std::make_shared<GlobalBatchSampler>(settings.items, settings.batch_size, settings.order_seed);
  const int64_t steps = settings.epochs * order->steps_per_epoch();
  ImagePrefetcher::Augmentation augmentation{augment, {}};
  if (augment.enabled()) {
    spdlog::info("{}: training images augmented by {} (area {}..{} of the image)", stage_name(settings.stage),
                 choice_name(augment.kind), augment.scale_min, augment.scale_max);
    // Slot k of this rank's rows is row i of block b: its place among the rows of the
    // whole global batch is b * batch + (this rank's first triplet) + i.
    const ShardRange mine = shard_range(settings.batch_size, comm.size(), comm.rank());
    const uint64_t seed = mix_seed(settings.order_seed, kAugmentStream);
    augmentation.seed_of = [mine, seed, batch = settings.batch_size](int64_t step, int64_t slot) {
      const int64_t global_slot = slot / mine.size() * batch + mine.begin + slot % mine.size();
      return mix_seed(mix_seed(seed, static_cast<uint64_t>(step)), static_cast<uint64_t>(global_slot));
    };
  }
  return std::make_unique<ImagePrefetcher>(
      images,
      [order, images_of = std::move(images_of), world = comm.size(), rank = comm.rank()](int64_t step) {
        return images_of(order->local_batch(step, world, rank));
      },
      steps, options, std::move(augmentation));
}

}  // namespace spn
