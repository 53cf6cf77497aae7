#pragma once
// The loader over a training stage's steps: the images of this rank's slice of each
// step's global batch, decoded ahead of the step by data/image_prefetcher.h. The slices
// come from the stage's own batch order (data/batch_sampler.h), so every world size and
// a resumed run decode what the loop trains on.
#include <functional>
#include <memory>
#include <vector>

#include "data/image_augment.h"
#include "data/image_prefetcher.h"
#include "dist/communicator.h"
#include "train/training_loop.h"

namespace spn {

// `images_of(local_triplets)` lists the rows of `images` a step with this rank's
// triplets `local_triplets` needs, as blocks of one row per triplet in the triplets'
// order (stage 1: the references, then the targets); take(step) returns them decoded.
// With `augment` enabled each row is augmented with draws seeded by the stage's seed,
// the step and the row's place in images_of(the whole global batch): the same crops on
// every world size and in a resumed run.
std::unique_ptr<ImagePrefetcher> step_images(const Communicator& comm, const LoopSettings& settings,
                                             const ImageRows& images,
                                             std::function<std::vector<int64_t>(const std::vector<int64_t>&)> images_of,
                                             const LoaderOptions& options, const ImageAugment& augment = {});

}  // namespace spn
