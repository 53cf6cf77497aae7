#include "train/contrastive_loss.h"

#include <torch/nn/functional/loss.h>

namespace spn {

torch::Tensor contrastive_loss_shard(const torch::Tensor& local_queries, const torch::Tensor& all_targets,
                                     int64_t first_row, int64_t global_batch, const torch::Tensor& logit_scale) {
  const int64_t rows = local_queries.size(0);
  const torch::Tensor logits = logit_scale * torch::matmul(local_queries, all_targets.t());
  const torch::Tensor positives = torch::arange(first_row, first_row + rows, torch::kLong);
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits, positives, F::CrossEntropyFuncOptions().reduction(torch::kSum)) /
         static_cast<double>(global_batch);
}

}  // namespace spn
