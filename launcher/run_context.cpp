#include "launcher/run_context.h"

#include "core/hash.h"
#include "data/image_cache.h"

namespace spn {

const TripletData& RunContext::training_images() {
  if (!images_) {
    images_.emplace();
    images_->images = split_image_rows(comm, train, image_rows, config.data, show_progress);
  }
  return *images_;
}

TripletData RunContext::training_data() {
  const int64_t repeats = sources ? config.positives.annotated_repeats : 1;
  constexpr uint64_t kTrainingTextStream = 401;  // seed stream of the training texts drawn per step
  return with_triplets(training_images(), mix_triplets(annotated, generated, repeats), *tokenizer,
                       config.data.max_words, mix_seed(static_cast<uint64_t>(config.seed), kTrainingTextStream));
}

}  // namespace spn
