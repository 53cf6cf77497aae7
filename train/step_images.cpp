#include "train/step_images.h"

#include "data/batch_sampler.h"

namespace spn {

std::unique_ptr<ImagePrefetcher> step_images(const Communicator& comm, const LoopSettings& settings,
                                             const ImageRows& images,
                                             std::function<std::vector<int64_t>(const std::vector<int64_t>&)> images_of,
                                             const LoaderOptions& options) {
  auto order = std::make_shared<GlobalBatchSampler>(settings.items, settings.batch_size, settings.order_seed);
  const int64_t steps = settings.epochs * order->steps_per_epoch();
  return std::make_unique<ImagePrefetcher>(
      images,
      [order, images_of = std::move(images_of), world = comm.size(), rank = comm.rank()](int64_t step) {
        return images_of(order->local_batch(step, world, rank));
      },
      steps, options);
}

}  // namespace spn
