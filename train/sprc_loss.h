#pragma once
// SPRC's stage-1 objective (Bai et al., ICLR 2024; blip2_qformer_cir_align_prompt.py),
// spread over ranks. For triplet i with composed query q_i, prompt-branch query p_i and
// target token set t_j over the global batch of B:
//   itc    cross entropy of max_k <q_i, t_{j,k}> / temp over all targets j, positive i
//   rtc    the same for p_i (the text alone, through SPRC's prompt tokens)
//   align  mean squared error between the fused query slots averaged over slots and
//          the prompt tokens averaged over slots (not differentiated: SPRC detaches them),
//          over B x H values
//   loss = itc + rtc_weight * rtc + align_weight * align
// Targets are all-gathered with gradient, so the in-batch targets span every rank, and
// each term follows the loss-scaling rule: a rank's share is the sum over its rows
// divided by the global count, so the shares sum to the global batch's mean.
#include <torch/types.h>

#include "dist/communicator.h"
#include "models/sprc_model.h"

namespace spn {

struct SprcLossWeights {
  double rtc = 0.4;    // CIRR's; FashionIQ: 1
  double align = 0.4;  // CIRR's; FashionIQ: 1
};

struct SprcLosses {
  torch::Tensor itc, rtc, align;  // this rank's shares
  torch::Tensor total;            // itc + weights
};

// This rank's rows (global rows first_row ..) of a batch of global_batch triplets: images
// in [-1, 1], token rows.
SprcLosses sprc_loss_shard(Communicator& comm, SprcModel& model, const torch::Tensor& reference_images,
                           const torch::Tensor& tokens, const torch::Tensor& target_images, int64_t first_row,
                           int64_t global_batch, const SprcLossWeights& weights);

}  // namespace spn
