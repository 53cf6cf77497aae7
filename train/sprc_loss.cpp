#include "train/sprc_loss.h"

#include <torch/torch.h>

#include "dist/autograd_collectives.h"
#include "train/contrastive_loss.h"

namespace spn {

SprcLosses sprc_loss_shard(Communicator& comm, SprcModel& model, const torch::Tensor& reference_images,
                           const torch::Tensor& tokens, const torch::Tensor& target_images, int64_t first_row,
                           int64_t global_batch, const SprcLossWeights& weights) {
  const torch::Tensor scale = model.logit_scale();
  const torch::Tensor fused = model.fuse(model.encode_reference(reference_images), tokens);
  const torch::Tensor all_targets = all_gather_with_grad(comm, model.encode_target(target_images));
  SprcLosses losses;
  losses.itc =
      contrastive_loss_shard(model.encode_query_from_fused(fused, tokens), all_targets, first_row, global_batch, scale);
  losses.rtc = contrastive_loss_shard(model.encode_prompt_query(tokens), all_targets, first_row, global_batch, scale);
  // Under autocast the fused slots are 16-bit; the loss is float32 (or the model's
  // float64). The prompt tokens are one [1, Q, H] parameter shared by every row.
  torch::Tensor fused_mean = fused.mean(1);
  if (fused_mean.scalar_type() == torch::kBFloat16 || fused_mean.scalar_type() == torch::kHalf)
    fused_mean = fused_mean.to(torch::kFloat);
  const torch::Tensor prompt_mean = model.blip2().prompt_tokens().detach().mean(1).to(fused_mean.scalar_type());
  losses.align = (fused_mean - prompt_mean).pow(2).sum() / static_cast<double>(global_batch * fused.size(2));
  losses.total = losses.itc + weights.rtc * losses.rtc + weights.align * losses.align;
  return losses;
}

}  // namespace spn
