#pragma once
// The contrastive loss SEARLE distils φ with (src/utils.py contrastive_loss, after
// PALAVRA's): the rows of v1 and v2 [B, D] are L2-normalised and stacked into z [2B, D];
// each pair (v1_i, v2_i) is a positive, and z's other rows the negatives:
//   loss = -mean over the 2B rows k of log( exp(<v1_i, v2_i> / T)
//                                          / sum_{j != k} exp(<z_j, z_k> / T) )
// where i is k's pair index. (The positive stays in its own denominator, as there.)
#include <torch/types.h>

#include "dist/communicator.h"

namespace spn {

torch::Tensor nt_xent_loss(const torch::Tensor& v1, const torch::Tensor& v2, double temperature);

// The same loss over every rank's pairs at once (SEARLE's φ distillation, RTD), the
// pairs gathered with their gradients: this rank's share of nt_xent_loss(all v1, all v2,
// temperature) for its pairs (v1_i, v2_i), [n, D] each. Ranks hold consecutive pairs in
// rank order, this rank's first being pair `first_pair` of `pairs`. Summed over ranks it
// is the whole batch's loss in one process, and with all_gather_with_grad's summed
// gradients so is its gradient (the loss-scaling rule).
torch::Tensor nt_xent_loss_shard(Communicator& comm, const torch::Tensor& v1, const torch::Tensor& v2,
                                 double temperature, int64_t first_pair, int64_t pairs);

}  // namespace spn
