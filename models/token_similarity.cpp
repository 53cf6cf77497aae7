#include "models/token_similarity.h"

#include <torch/torch.h>

#include "core/error.h"

namespace spn {

torch::Tensor max_token_similarity(const torch::Tensor& queries, const torch::Tensor& targets) {
  if (queries.dim() != 2 || (targets.dim() != 2 && targets.dim() != 3) || targets.size(-1) != queries.size(1))
    throw UserError("scores need queries [B, D] and targets [N, D] or [N, T, D] of the same D; got " +
                    std::string(c10::str(queries.sizes())) + " and " + std::string(c10::str(targets.sizes())));
  if (targets.dim() == 2) return torch::matmul(queries, targets.t());
  // [N, T, D] x [D, B] -> [N, T, B] -> best token -> [N, B]
  return std::get<0>(torch::matmul(targets, queries.t()).max(1)).t();
}

}  // namespace spn
