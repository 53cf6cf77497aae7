#pragma once
// The contrastive loss SEARLE distils φ with (src/utils.py contrastive_loss, after
// PALAVRA's): the rows of v1 and v2 [B, D] are L2-normalised and stacked into z [2B, D];
// each pair (v1_i, v2_i) is a positive, and z's other rows the negatives:
//   loss = -mean over the 2B rows k of log( exp(<v1_i, v2_i> / T)
//                                          / sum_{j != k} exp(<z_j, z_k> / T) )
// where i is k's pair index. (The positive stays in its own denominator, as there.)
#include <torch/types.h>

namespace spn {

torch::Tensor nt_xent_loss(const torch::Tensor& v1, const torch::Tensor& v2, double temperature);

}  // namespace spn
