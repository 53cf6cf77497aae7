#pragma once
#include <map>
#include <string>

#include "data/cirr.h"
#include "data/tokenizer.h"
#include "dist/communicator.h"
#include "launcher/config.h"
#include "models/cir_model.h"

namespace spn {

// Evaluates `model` on a split with its dataset's protocol (CIRR, FashionIQ or CIRCO,
// by split.format; eval.remove_reference picks FashionIQ's and CIRCO's convention).
// Each rank decodes
// and embeds its shard of the gallery (the embeddings are all-gathered) and encodes its
// shard of the queries; a query's reference features are taken from the gallery
// embeddings (the reference is a gallery image), so no image is decoded twice.
std::map<std::string, double> evaluate_split(Communicator& comm, CirModel& model, const CirrSplit& split,
                                            const Tokenizer& tokenizer, const ExperimentConfig& config,
                                            bool show_progress);

}  // namespace spn
