#pragma once
// RTD's loss across ranks: the NT-Xent of train/nt_xent_loss.h (RTD's utils.py
// contrastive_loss, SEARLE's and PALAVRA's: the positive stays in its own denominator)
// over every rank's pairs at once, gathered with their gradients.
#include <torch/types.h>

#include "dist/communicator.h"

namespace spn {

// This rank's share of nt_xent_loss(all v1, all v2, temperature) for its pairs (v1_i,
// v2_i), [n, D] each: ranks hold consecutive pairs in rank order, this rank's first
// being pair `first_pair` of `pairs`. Summed over ranks it is the whole batch's loss in
// one process, and with all_gather_with_grad's summed gradients so is its gradient
// (the loss-scaling rule). The loss does not depend on the pairs' order.
torch::Tensor nt_xent_loss_shard(Communicator& comm, const torch::Tensor& v1, const torch::Tensor& v2,
                                 double temperature, int64_t first_pair, int64_t pairs);

}  // namespace spn
