#include "train/phi_loss.h"

#include <torch/torch.h>

#include <limits>

#include "dist/autograd_collectives.h"
#include "dist/sharding.h"
#include "models/pseudo_words.h"
#include "models/zero_shot_model.h"

namespace spn {
namespace {

// Row k of `own` is row `skip + k` of z: its log-sum-exp over z's other rows.
torch::Tensor log_denominators(const torch::Tensor& own, const torch::Tensor& z, int64_t skip, double temperature) {
  const torch::Tensor similarities = torch::mm(own, z.t()) / temperature;
  const torch::Tensor rows = torch::arange(own.size(0), torch::TensorOptions().device(own.device()));
  const torch::Tensor self =
      torch::zeros_like(similarities, torch::TensorOptions().dtype(torch::kBool)).index_put_({rows, rows + skip}, true);
  return torch::logsumexp(similarities.masked_fill(self, -std::numeric_limits<double>::infinity()), 1);
}

// Autocast leaves 16-bit features; the losses take float32 (or the caller's float64).
torch::Tensor widened(const torch::Tensor& x) {
  const bool reduced = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  return reduced ? x.to(torch::kFloat) : x;
}

}  // namespace

torch::Tensor nt_xent_loss_shard(Communicator& comm, const torch::Tensor& local_v1, const torch::Tensor& local_v2,
                                 double temperature, int64_t global_batch) {
  const ShardRange rows = shard_range(global_batch, comm.size(), comm.rank());
  if (local_v1.size(0) != rows.size() || local_v2.size(0) != rows.size())
    throw std::logic_error("nt_xent_loss_shard: rank " + std::to_string(comm.rank()) + " holds " +
                           std::to_string(local_v1.size(0)) + " and " + std::to_string(local_v2.size(0)) +
                           " rows, its shard is " + std::to_string(rows.size()));
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(1);
  const torch::Tensor a = F::normalize(local_v1, unit), b = F::normalize(local_v2, unit);
  // z = [all v1; all v2], as one process stacks them.
  const torch::Tensor z = torch::cat({all_gather_with_grad(comm, a), all_gather_with_grad(comm, b)});
  const torch::Tensor positive = (a * b).sum(1) / temperature;
  const torch::Tensor own = log_denominators(a, z, rows.begin, temperature).sum() +
                            log_denominators(b, z, global_batch + rows.begin, temperature).sum() - 2 * positive.sum();
  return own / (2 * global_batch);
}

PhiLossShares phi_loss_shard(Communicator& comm, ZeroShotModel& model, const torch::Tensor& image_features,
                             const torch::Tensor& oti_words, const torch::Tensor& phrases_with_word,
                             const torch::Tensor& phrases, int64_t first_row, int64_t global_batch,
                             const PhiLossWeights& weights) {
  const torch::Tensor words = model.pseudo_words(image_features, first_row);
  PhiLossShares shares;
  // SEARLE's contrastive_loss(target_oti_tokens, estimated_tokens, temperature).
  shares.distil = nt_xent_loss_shard(comm, oti_words.to(widened(words).scalar_type()), widened(words),
                                     weights.temperature, global_batch);
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
