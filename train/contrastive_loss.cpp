#include "train/contrastive_loss.h"

#include <torch/nn/functional/loss.h>

#include "dist/autocast.h"
#include "models/token_similarity.h"

namespace spn {

torch::Tensor contrastive_loss_shard(const torch::Tensor& local_queries, const torch::Tensor& all_targets,
                                     int64_t first_row, int64_t global_batch, const torch::Tensor& logit_scale) {
  // The logits in float32 even inside a mixed-precision step: at a logit scale of 100 a
  // bf16 logit is off by up to 0.25, which the softmax turns into a wrong distribution.
  const Autocast float32_logits(Precision::Fp32, local_queries.device().type());
  return cross_entropy_shard(logit_scale * max_token_similarity(local_queries, all_targets), first_row, global_batch);
}

torch::Tensor cross_entropy_shard(const torch::Tensor& logits, int64_t first_row, int64_t global_batch) {
  const torch::Tensor positives =
      torch::arange(first_row, first_row + logits.size(0), torch::TensorOptions(torch::kLong).device(logits.device()));
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits, positives, F::CrossEntropyFuncOptions().reduction(torch::kSum)) /
         static_cast<double>(global_batch);
}

}  // namespace spn
