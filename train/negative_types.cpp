#include "train/negative_types.h"

#include <torch/torch.h>

#include <stdexcept>

#include "dist/autograd_collectives.h"
#include "train/contrastive_loss.h"

namespace spn {
namespace {

// Row i, column j: f(pairs_reference(i, j), pairs_text(i, j)) . target_i, where one of
// the two feature sets is this rank's rows (indexed by i) and the other all B rows
// (indexed by j). Evaluates the head on n x B pairs.
torch::Tensor swapped_logits(CirModel& model, const torch::Tensor& references, const torch::Tensor& texts,
                             bool references_vary, const torch::Tensor& targets, const torch::Tensor& scale) {
  const torch::Tensor& all = references_vary ? references : texts;
  const torch::Tensor& mine = references_vary ? texts : references;
  const int64_t n = mine.size(0), b = all.size(0), d = mine.size(1);
  const torch::Tensor all_pairs = all.unsqueeze(0).expand({n, b, d}).reshape({n * b, d});
  const torch::Tensor my_pairs = mine.unsqueeze(1).expand({n, b, d}).reshape({n * b, d});
  const torch::Tensor queries = references_vary ? model.combine(all_pairs, my_pairs) : model.combine(my_pairs, all_pairs);
  return scale * (queries.view({n, b, d}) * targets.unsqueeze(1)).sum(2);
}

}  // namespace

torch::Tensor negative_types_loss_shard(Communicator& comm, CirModel& model, const torch::Tensor& reference_features,
                                        const torch::Tensor& text_features, const torch::Tensor& target_features,
                                        int64_t first_row, int64_t global_batch,
                                        const std::vector<NegativeType>& types) {
  const torch::Tensor scale = model.logit_scale();
  const torch::Tensor queries = model.combine(reference_features, text_features);
  torch::Tensor total = torch::zeros({}, queries.options());
  for (NegativeType type : types) {
    switch (type) {
      case NegativeType::Target:
        total = total + contrastive_loss_shard(queries, all_gather_with_grad(comm, target_features), first_row,
                                               global_batch, scale);
        break;
      case NegativeType::Query:
        total = total + contrastive_loss_shard(target_features, all_gather_with_grad(comm, queries), first_row,
                                               global_batch, scale);
        break;
      case NegativeType::Reference:
        total = total + cross_entropy_shard(swapped_logits(model, all_gather_with_grad(comm, reference_features),
                                                           text_features, true, target_features, scale),
                                            first_row, global_batch);
        break;
      case NegativeType::Text:
        total = total + cross_entropy_shard(swapped_logits(model, reference_features,
                                                           all_gather_with_grad(comm, text_features), false,
                                                           target_features, scale),
                                            first_row, global_batch);
        break;
    }
  }
  return total / static_cast<double>(types.size());
}

}  // namespace spn
