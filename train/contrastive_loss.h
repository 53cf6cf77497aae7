#pragma once
#include <torch/types.h>

namespace spn {

// This rank's share of InfoNCE over the global batch: for its local queries (global
// rows first_row .. first_row + n), the sum of cross entropies of
// scale * s(q_i, t_j) over all gathered targets t_j with the positive t_{first_row+i},
// where s is the dot product, or for token-set targets [N, T, D] (SPRC's itc) the best
// token's, max_k q_i . t_{j,k} (models/token_similarity.h),
// divided by the global batch size. Summed over ranks it is the mean loss of the
// global batch, and (with all_gather_with_grad and summed gradients) so is its
// gradient: the loss-scaling rule of docs/architecture.md lives here.
torch::Tensor contrastive_loss_shard(const torch::Tensor& local_queries, const torch::Tensor& all_targets,
                                     int64_t first_row, int64_t global_batch, const torch::Tensor& logit_scale);

// The same rule for logits already computed: `logits` [n, global_batch] of this rank's
// rows (global rows first_row ..), whose positive for row i is column first_row + i.
torch::Tensor cross_entropy_shard(const torch::Tensor& logits, int64_t first_row, int64_t global_batch);

}  // namespace spn
