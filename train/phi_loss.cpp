#include "train/phi_loss.h"

#include <torch/torch.h>

#include "models/pseudo_words.h"
#include "models/zero_shot_model.h"
#include "train/nt_xent_loss.h"

namespace spn {
namespace {

// Autocast leaves 16-bit features; the losses take float32 (or the caller's float64).
torch::Tensor widened(const torch::Tensor& x) {
  const bool reduced = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  return reduced ? x.to(torch::kFloat) : x;
}

}  // namespace

PhiLossShares phi_loss_shard(Communicator& comm, ZeroShotModel& model, const torch::Tensor& image_features,
                             const torch::Tensor& oti_words, const torch::Tensor& phrases_with_word,
                             const torch::Tensor& phrases, int64_t first_row, int64_t global_batch,
                             const PhiLossWeights& weights) {
  const torch::Tensor words = model.pseudo_words(image_features, first_row);
  PhiLossShares shares;
  // SEARLE's contrastive_loss(target_oti_tokens, estimated_tokens, temperature).
  shares.distil = nt_xent_loss_shard(comm, oti_words.to(widened(words).scalar_type()), widened(words),
                                     weights.temperature, first_row, global_batch);
  const torch::Tensor with_word = widened(encode_with_pseudo_words(model.text_tower(), phrases_with_word, words,
                                                                   PseudoWordInjection::kReplaceFirst, kDollarToken));
  torch::Tensor written;
  {
    torch::NoGradGuard no_grad;
    written = widened(model.text_tower().forward(phrases));
  }
  shares.gpt = (1 - torch::cosine_similarity(with_word, written, 1)).sum() / global_batch;
  shares.total = weights.distil * shares.distil + weights.gpt * shares.gpt;
  return shares;
}

}  // namespace spn
