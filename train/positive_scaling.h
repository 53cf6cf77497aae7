#pragma once
// SPN's positive scaling as pipeline steps. Outputs, in <run>/positives/:
//   dedup.json                {"images": N, "unique": U, "copies": {copy: kept image}}
//   captions.journal-<r>.jsonl, captions.json   (data/captioning.h)
//   cap.rc2.generated.json    the generated triplets, CIRR format, over the train split's images
// Each step is reused when a resumed run finds it finished.
#include <functional>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "data/cirr.h"
#include "data/deduplication.h"
#include "data/tokenizer.h"
#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/triplet_data.h"

namespace spn {

struct PositiveSources {
  Deduplication dedup;
  std::vector<std::string> captions;  // per dedup.unique entry
};

// De-duplicates the train split's images and captions the unique ones.
PositiveSources prepare_positive_sources(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                         const CirrSplit& train, bool show_progress);

// Texts whose words generated modification texts use (captions, template words), for
// the run's vocabulary.
std::vector<std::string> generated_text_words(const ExperimentConfig& config, const PositiveSources& sources);

// The triplets with every image replaced by its kept copy.
std::vector<CirrTriplet> canonical_triplets(const std::vector<CirrTriplet>& triplets, const Deduplication& dedup);

// Mines partners for the unique images with `miner`'s target encoder, writes the
// modification texts and the generated triplets file, and returns the triplets (read
// back from the file). `images()` gives exactly the unique images' pixels, in
// dedup.unique order; it is called only when mining runs, not when a resumed run
// reads back its finished triplets.
std::vector<CirrTriplet> generate_triplets(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                           CirModel& miner, const std::function<const TripletData&()>& images,
                                           const CirrSplit& train, const PositiveSources& sources,
                                           const std::vector<CirrTriplet>& annotated, const Tokenizer& tokenizer,
                                           bool show_progress);

// The unit vector per image that mining compares: [N, D] embeddings pass unchanged; token
// sets [N, T, D] (SPRC's targets) become their mean token, normalised.
torch::Tensor mining_vectors(const torch::Tensor& embeddings);

// What a stage trains on: the annotated triplets positives.annotated_repeats times,
// then the generated ones.
std::vector<CirrTriplet> mix_triplets(const std::vector<CirrTriplet>& annotated,
                                      const std::vector<CirrTriplet>& generated, int64_t annotated_repeats);

}  // namespace spn
