#pragma once
// SPN's pair mining: for each query image, partners whose similarity rank among all
// other images lies in a window [lo, hi) (not a near-duplicate, not unrelated), drawn
// uniformly with a seed per image.
//
// The N x N similarity matrix is never built: queries are cut into blocks of
// `block_rows` at fixed global positions, blocks are sharded across ranks, and a
// block's similarities to all N images are reduced right away to the images at the
// drawn ranks (selection with nth_element, O(N) per drawn rank, no sort); memory per
// rank is O(block_rows x N). Because every block has the same shape
// whatever the world size, its arithmetic and so its result are the same on any
// number of ranks.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "dist/communicator.h"

namespace spn {

struct MiningWindow {
  int64_t lo = 0;        // rank 0 is the most similar other image
  int64_t hi = 1;        // exclusive; at most N - 1
  int64_t partners = 1;  // distinct partners per query, at most hi - lo
  int64_t block_rows = 256;
  uint64_t seed = 0;
};

// `embeddings` [N, D] (every rank; cosine similarity is their dot product, so rows
// should be unit vectors). Returns int64 [queries.size(), partners]: rows of
// `embeddings`, on every rank. A query never gets itself.
at::Tensor mine_partners(Communicator& comm, const at::Tensor& embeddings, const std::vector<int64_t>& queries,
                         const MiningWindow& window, bool show_progress);

}  // namespace spn
