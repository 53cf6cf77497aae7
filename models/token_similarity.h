#pragma once
// Scores between query vectors and target embeddings that are either one vector per
// image ([N, D], CLIP and the small encoders) or a set of token vectors per image
// ([N, T, D], BLIP-2 / SPRC: 32 query-token features), scored by the best token:
// s(q, t) = max_k <q, t_k>.
#include <torch/types.h>

namespace spn {

// queries [B, D], targets [N, D] or [N, T, D] -> [B, N].
torch::Tensor max_token_similarity(const torch::Tensor& queries, const torch::Tensor& targets);

}  // namespace spn
