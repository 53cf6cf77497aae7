#pragma once
// SEARLE-OTI's queries (searle.query_words = "oti"; SEARLE's oti_inversion.py on the
// evaluated split, then validate.py --eval-type oti): every distinct reference image of
// the split's queries, in order of first use, is inverted into a pseudo word by the
// same OTI as the training pre-pass (train/searle_oti.h: sharded by OTI batch, each
// batch seeded by its global index, so the words are the same on any number of ranks),
// and each query composes its reference's EMA word with its caption. The words are kept
// in `file` (rank 0 writes it atomically), which a later evaluation of the same split
// reuses.
#include <filesystem>

#include "config/experiment_config.h"
#include "data/cirr.h"
#include "dist/communicator.h"
#include "train/evaluate.h"

namespace spn {

class ClipTokenizer;
class ZeroShotModel;

// The distinct reference images of `split`'s queries (indices into split.images), in
// order of first use.
std::vector<int64_t> distinct_references(const CirrSplit& split);

// Inverts the split's reference images (or reads `file`) and returns the query encoder
// evaluate.h's embed_split takes: a query's word is its reference's, composed by
// `model` (which must outlive the encoder).
QueryEncoder searle_oti_queries(Communicator& comm, const ExperimentConfig& config, ZeroShotModel& model,
                                const CirrSplit& split, const ClipTokenizer& tokenizer,
                                const std::filesystem::path& file, bool show_progress);

}  // namespace spn
