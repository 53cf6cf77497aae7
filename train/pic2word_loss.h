#pragma once
// Pic2Word's training objective (google-research/composed_image_retrieval,
// src/trainer.py): the frozen CLIP's image features and the features of "a photo of"
// with the image's pseudo word inserted (models/pseudo_words.h), both L2-normalised,
// gathered from every rank with their gradients; logits = scale * images · texts^T
// with CLIP's own scale (exp of its logit_scale, frozen); the mean of the image->text
// and text->image cross entropies with the diagonal as positives.
#include <torch/types.h>

#include "dist/communicator.h"

namespace spn {

// This rank's share of that loss for its rows of the global batch (rank r holds rows
// shard_range(global_batch, size, r)): summed over ranks it is the loss of the whole
// batch in one process, and with all_gather_with_grad's summed gradients so is the
// gradient (the loss-scaling rule of docs/architecture.md).
torch::Tensor pic2word_loss_shard(Communicator& comm, const torch::Tensor& local_image_features,
                                  const torch::Tensor& local_text_features, const torch::Tensor& scale,
                                  int64_t global_batch);

}  // namespace spn
