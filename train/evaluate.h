#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "data/cirr.h"
#include "data/tokenizer.h"
#include "dist/communicator.h"
#include "models/cir_model.h"

namespace spn {

// The whole gallery's unit embeddings (every rank) and this rank's shard of the query
// embeddings (shard_range over split.triplets). Each rank decodes and embeds its shard
// of the gallery (the embeddings are all-gathered) and encodes its shard of the
// queries; a query's reference features are taken from the gallery embeddings (the
// reference is a gallery image), so no image is decoded twice.
struct SplitEmbeddings {
  at::Tensor gallery;
  at::Tensor local_queries;
};
// The unit queries [n, D] of n queries given their reference images (indices into
// split.images) and token rows [n, L] on the model's device: a model whose query does
// not come from the reference image's pixels or features (SEARLE-OTI's words,
// train/searle_oti_queries.h). Empty: the model's own encode_query.
using QueryEncoder = std::function<at::Tensor(const std::vector<int64_t>& references, const at::Tensor& tokens)>;
SplitEmbeddings embed_split(Communicator& comm, CirModel& model, const CirrSplit& split, const Tokenizer& tokenizer,
                            const ExperimentConfig& config, bool show_progress, const QueryEncoder& queries_of = {});

// Evaluates `model` on a split with its dataset's protocol (CIRR, FashionIQ or CIRCO,
// by split.format; eval.remove_reference picks FashionIQ's and CIRCO's convention).
std::map<std::string, double> evaluate_split(Communicator& comm, CirModel& model, const CirrSplit& split,
                                             const Tokenizer& tokenizer, const ExperimentConfig& config,
                                             bool show_progress, const QueryEncoder& queries_of = {});

// Writes the split's test-server files (train/submissions.h) as <prefix>-recall.json
// and <prefix>-recall_subset.json (CIRR) or <prefix>.json (CIRCO), atomically, on
// rank 0, and returns their paths. FashionIQ has none (config_checks refuses eval.submission_split for it).
std::vector<std::filesystem::path> write_submissions(Communicator& comm, CirModel& model, const CirrSplit& split,
                                                     const Tokenizer& tokenizer, const ExperimentConfig& config,
                                                     const std::filesystem::path& prefix, bool show_progress,
                                                     const QueryEncoder& queries_of = {});

}  // namespace spn
