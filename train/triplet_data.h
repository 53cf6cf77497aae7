#pragma once
// A split's training triplets in memory: the images they use (decoded once, uint8),
// the rows of each triplet's reference and target(s) in that tensor, and the tokens of
// each modification text.
#include <torch/types.h>

#include <vector>

#include "data/cirr.h"
#include "data/vocabulary.h"
#include "dist/communicator.h"
#include "launcher/config.h"
#include "train/stage1_step.h"

namespace spn {

struct TripletData {
  torch::Tensor images;             // uint8 [n_images, 3, S, S]
  std::vector<int64_t> image_index; // per row of images: its index in the split
  std::vector<int64_t> reference;   // per triplet: row in images
  std::vector<int64_t> target;      // per triplet: row in images
  std::vector<std::vector<int64_t>> equally_good_targets;  // per triplet: rows (CIRR target_soft 1.0)
  torch::Tensor tokens;             // int64 [n_triplets, max_words]

  int64_t size() const { return static_cast<int64_t>(reference.size()); }
  // The batch of triplets `rows` (normalised images).
  TripletBatch batch(const std::vector<int64_t>& rows) const;
};

TripletData load_triplet_data(Communicator& comm, const CirrSplit& split, const Vocabulary& vocabulary,
                              const DataConfig& config, bool show_progress);

}  // namespace spn
