#pragma once
// SEARLE's OTI pre-pass over the training images (src/oti_inversion.py run on the
// training set): each image's top concepts under the frozen CLIP
// (train/searle_concepts.h) and its pseudo word by textual inversion
// (train/textual_inversion.h), of which φ's training distils the EMA words.
//
// The images go in OTI batches of searle.oti_batch_size in split order; the batches are
// sharded across ranks and each is seeded by its global index, so every image's word is
// the same on any number of ranks. The result is gathered onto every rank and kept in
// the run directory (oti_tokens.safetensors, written atomically by rank 0): a resumed
// run reuses it.
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "data/image_rows.h"
#include "dist/communicator.h"
#include "dist/sharding.h"

namespace spn {

class ClipTextTower;
class ClipTokenizer;
class ZeroShotModel;

struct SearleWords {
  std::vector<std::string> concepts;  // the vocabulary the indices point into
  torch::Tensor top_concepts;         // [N, K] int64, most similar first (K: the larger
                                      // of searle.top_k_concepts and phi_top_k_concepts)
  torch::Tensor ema_tokens;           // [N, hidden] float32, what φ is distilled from
};

// The rows rank `rank` inverts: whole OTI batches of `batch` images, contiguous.
ShardRange oti_rows(int64_t images, int64_t batch, int world_size, int rank);

// The words of images first_row.. given their frozen CLIP image features [n, D]
// (first_row a multiple of the OTI batch), each OTI batch seeded by its global index.
// `concept_features` are train/searle_concepts.h's for `concepts`.
SearleWords invert_rows(ClipTextTower& text, const ClipTokenizer& tokenizer, const ExperimentConfig& config,
                        const std::vector<std::string>& concepts, const torch::Tensor& concept_features,
                        const torch::Tensor& image_features, int64_t first_row, bool show_progress);

// Every rank's rows (in rank order) on every rank.
SearleWords gather_words(Communicator& comm, const SearleWords& local);

// The words of every training image: read back from `file` when a complete one for
// these images is there, else computed (sharded, gathered) and written to it.
SearleWords prepare_searle_words(Communicator& comm, const ExperimentConfig& config, ZeroShotModel& model,
                                 const ImageRows& images, const ClipTokenizer& tokenizer,
                                 const std::filesystem::path& file, bool show_progress);

}  // namespace spn
