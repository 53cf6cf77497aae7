#pragma once
// SEARLE's objective for φ (src/train_phi.py), on this rank's rows of the global batch:
//   total = distil_weight · NT-Xent(OTI EMA words, φ(image features); temperature)
//         + gpt_weight · mean over rows of (1 - cos(f(phrase with φ's word in place of
//                                                    the concept), f(phrase as written)))
// with f CLIP's frozen text tower. The NT-Xent (train/nt_xent_loss.h's nt_xent_loss_shard) runs
// over the GLOBAL batch's 2B stacked vectors: φ's words are gathered from every rank
// with their gradients, so with the loss-scaling rule (each rank returns its rows' share
// of the global mean) the summed loss and gradients are one process's.
#include <torch/types.h>

#include "dist/communicator.h"

namespace spn {

class ZeroShotModel;

struct PhiLossWeights {
  double temperature = 0.25;
  double distil = 1.0;
  double gpt = 0.75;
};

struct PhiLossShares {
  torch::Tensor total, distil, gpt;  // this rank's shares (0-dim)
};

// For this rank's rows (first global row `first_row`): the frozen CLIP image features
// [n, D] (un-normalised), the OTI EMA words [n, hidden], and one phrase per row as CLIP
// token rows, with the placeholder `$` where the concept was [n, L] and as written [n, L].
// φ (the model's mapper, dropout by global row) maps the features to words.
PhiLossShares phi_loss_shard(Communicator& comm, ZeroShotModel& model, const torch::Tensor& image_features,
                             const torch::Tensor& oti_words, const torch::Tensor& phrases_with_word,
                             const torch::Tensor& phrases, int64_t first_row, int64_t global_batch,
                             const PhiLossWeights& weights);

}  // namespace spn
