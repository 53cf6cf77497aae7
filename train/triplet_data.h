#pragma once
// Training triplets in memory: the images they may use (decoded once, uint8), the rows
// of each triplet's reference and target(s) in that tensor, and the tokens of each
// modification text. Images are decoded once per run; each stage pairs them with its
// own triplet list (annotated, or annotated plus generated).
#include <torch/types.h>

#include <unordered_map>
#include <vector>

#include "config/data_config.h"
#include "data/cirr.h"
#include "data/tokenizer.h"
#include "dist/communicator.h"
#include "train/stage1_step.h"

namespace spn {

struct TripletData {
  torch::Tensor images;                                    // uint8 [n_images, 3, S, S]
  std::vector<int64_t> image_index;                        // per row of images: its index in the split
  std::vector<int64_t> reference;                          // per triplet: row in images
  std::vector<int64_t> target;                             // per triplet: row in images
  std::vector<std::vector<int64_t>> equally_good_targets;  // per triplet: rows (CIRR target_soft 1.0)
  // int64 [n_triplets, variants, max_words]: each triplet's training texts (one, or
  // FashionIQ's four random caption joins, CirrTriplet::captions).
  torch::Tensor tokens;
  uint64_t text_seed = 0;  // seeds which variant a step uses

  int64_t size() const { return static_cast<int64_t>(reference.size()); }
  // The token rows of triplets `rows` at training step `step`: with several variants,
  // each drawn uniformly from (text_seed, step, row), so every rank and every world
  // size draws the same and a resumed run redraws what it drew.
  torch::Tensor tokens_at(const std::vector<int64_t>& rows, int64_t step) const;
  // The batch of triplets `rows` (normalised images) at training step `step`.
  TripletBatch batch(const std::vector<int64_t>& rows, int64_t step) const;
};

// The split images `image_indices` decoded (sharded across ranks, on every rank), with
// no triplets yet.
TripletData load_training_images(Communicator& comm, const CirrSplit& split, const std::vector<int64_t>& image_indices,
                                 const DataConfig& config, bool show_progress);

// `images`' pixels with `triplets` (whose images must all be among its rows); the
// texts are drawn with `text_seed`.
TripletData with_triplets(const TripletData& images, const std::vector<CirrTriplet>& triplets,
                          const Tokenizer& tokenizer, int64_t max_words, uint64_t text_seed);

// The images `triplets` use, in order of first use (so bank rows follow the triplets).
std::vector<int64_t> images_used_by(const std::vector<CirrTriplet>& triplets);

}  // namespace spn
