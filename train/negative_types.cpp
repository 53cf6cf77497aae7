#include "train/negative_types.h"

#include <torch/torch.h>

#include <stdexcept>

#include "dist/autograd_collectives.h"
#include "train/contrastive_loss.h"

namespace spn {
namespace {

// The step's calls of the head, told apart in its random draws (CirModel::combine).
constexpr uint64_t kQueriesCall = 0, kReferencePairsCall = 1, kTextPairsCall = 2;

// Row i, column j: f(pairs_reference(i, j), pairs_text(i, j)) . target_i, where one of
// the two feature sets is this rank's rows (indexed by i, global rows first_row ..) and
// the other all B rows (indexed by j). Evaluates the head on n x B pairs; pair (i, j) is
// pair (first_row + i) * B + j of the global batch's B x B, which its draws follow.
torch::Tensor swapped_logits(DualEncoderModel& model, const torch::Tensor& references, const torch::Tensor& texts,
                             bool references_vary, const torch::Tensor& targets, const torch::Tensor& scale,
                             int64_t first_row, uint64_t call) {
  const torch::Tensor& all = references_vary ? references : texts;
  const torch::Tensor& mine = references_vary ? texts : references;
  const int64_t n = mine.size(0), b = all.size(0), d = mine.size(1);
  const torch::Tensor all_pairs = all.unsqueeze(0).expand({n, b, d}).reshape({n * b, d});
  const torch::Tensor my_pairs = mine.unsqueeze(1).expand({n, b, d}).reshape({n * b, d});
  const int64_t first_pair = first_row * b;
  const torch::Tensor queries = references_vary ? model.combine(all_pairs, my_pairs, first_pair, call)
                                                : model.combine(my_pairs, all_pairs, first_pair, call);
  return scale * (queries.view({n, b, d}) * targets.unsqueeze(1)).sum(2);
}

}  // namespace

torch::Tensor negative_types_loss_shard(Communicator& comm, DualEncoderModel& model,
                                        const torch::Tensor& reference_features, const torch::Tensor& text_features,
                                        const torch::Tensor& target_features, int64_t first_row, int64_t global_batch,
                                        const std::vector<NegativeType>& types) {
  const torch::Tensor scale = model.logit_scale();
  const torch::Tensor queries = model.combine(reference_features, text_features, first_row, kQueriesCall);
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
        total = total +
                cross_entropy_shard(swapped_logits(model, all_gather_with_grad(comm, reference_features), text_features,
                                                   true, target_features, scale, first_row, kReferencePairsCall),
                                    first_row, global_batch);
        break;
      case NegativeType::Text:
        total = total +
                cross_entropy_shard(swapped_logits(model, reference_features, all_gather_with_grad(comm, text_features),
                                                   false, target_features, scale, first_row, kTextPairsCall),
                                    first_row, global_batch);
        break;
    }
  }
  return total / static_cast<double>(types.size());
}

}  // namespace spn
