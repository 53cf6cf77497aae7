#pragma once
// Training triplets: the images they may use (as rows the loader decodes on demand,
// data/image_rows.h; no rank holds them all), the rows of each triplet's reference and
// target(s), and the tokens of each modification text. Each stage pairs the images
// with its own triplet list (annotated, or annotated plus generated).
#include <torch/types.h>

#include <unordered_map>
#include <vector>

#include "config/data_config.h"
#include "data/cirr.h"
#include "data/image_rows.h"
#include "data/tokenizer.h"
#include "train/stage1_step.h"

namespace spn {

struct TripletData {
  ImageRows images;                                        // the training images, rows of the bank too
  std::vector<int64_t> reference;                          // per triplet: row in images
  std::vector<int64_t> target;                             // per triplet: row in images
  std::vector<std::vector<int64_t>> equally_good_targets;  // per triplet: rows (CIRR target_soft 1.0)
  // int64 [text rows, max_words]: every triplet's training texts, triplet t's in rows
  // text_begin[t] .. text_begin[t + 1]: one, or CirrTriplet::captions (FashionIQ's four
  // caption joins, a generated triplet's one text per template).
  torch::Tensor tokens;
  std::vector<int64_t> text_begin;  // size() + 1 offsets into the rows of tokens
  uint64_t text_seed = 0;           // seeds which text a step uses

  int64_t size() const { return static_cast<int64_t>(reference.size()); }
  // The token rows of triplets `rows` at training step `step`: with several texts, one
  // drawn uniformly among the triplet's own from (text_seed, step, row), so every rank and
  // every world size draws the same and a resumed run redraws what it drew.
  torch::Tensor tokens_at(const std::vector<int64_t>& rows, int64_t step) const;
  // The same draw as text rows, indices into tokens (a stage-2 reference bank has one
  // row per text row).
  std::vector<int64_t> text_rows_at(const std::vector<int64_t>& rows, int64_t step) const;
  int64_t text_row_count() const { return tokens.size(0); }
  int64_t reference_of_text_row(int64_t text_row) const;
  // The image rows a batch of triplets `rows` needs: their references, then their targets.
  std::vector<int64_t> images_of(const std::vector<int64_t>& rows) const;
  // The batch of triplets `rows` at training step `step`, from `pixels`, the uint8
  // images of images_of(rows).
  TripletBatch batch(const torch::Tensor& pixels, const std::vector<int64_t>& rows, int64_t step) const;
};

// `images`' pixels with `triplets` (whose images must all be among its rows); the
// texts are drawn with `text_seed`.
TripletData with_triplets(const TripletData& images, const std::vector<CirrTriplet>& triplets,
                          const Tokenizer& tokenizer, int64_t max_words, uint64_t text_seed);

// The images `triplets` use, in order of first use (so bank rows follow the triplets).
std::vector<int64_t> images_used_by(const std::vector<CirrTriplet>& triplets);

}  // namespace spn
