#pragma once
// SPN's study of in-batch negative types for stage 1. For triplet i (reference r_i,
// text x_i, target t_i) over the global batch of B triplets, with f the CIR head:
//   target     f(r_i, x_i) scored against every t_j            (the usual InfoNCE)
//   query      t_i scored against every query f(r_j, x_j)
//   reference  t_i scored against f(r_j, x_i) for every j      (the reference replaced)
//   text       t_i scored against f(r_i, x_j) for every j      (the text replaced)
// The positive is always j = i. With several types their losses are averaged, as the
// reference code does. Features are all-gathered with gradient, so the negatives span
// every rank, and each type follows the loss-scaling rule (cross_entropy_shard).
#include <torch/types.h>

#include <string>
#include <vector>

#include "config/choices.h"
#include "dist/communicator.h"
#include "models/dual_encoder_model.h"

namespace spn {

// This rank's share of the loss for its rows (global rows first_row ..) of unit
// reference, text and target features.
torch::Tensor negative_types_loss_shard(Communicator& comm, DualEncoderModel& model,
                                        const torch::Tensor& reference_features, const torch::Tensor& text_features,
                                        const torch::Tensor& target_features, int64_t first_row, int64_t global_batch,
                                        const std::vector<NegativeType>& types);

}  // namespace spn
