#include "train/nt_xent_loss.h"

#include <torch/torch.h>

#include <limits>

#include "dist/autograd_collectives.h"

namespace spn {

torch::Tensor nt_xent_loss(const torch::Tensor& v1, const torch::Tensor& v2, double temperature) {
  const torch::Tensor a = torch::nn::functional::normalize(v1, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const torch::Tensor b = torch::nn::functional::normalize(v2, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const torch::Tensor positive = (a * b).sum(1) / temperature;  // log of the numerator, per pair
  const torch::Tensor z = torch::cat({a, b});
  // log of each row's denominator: the log-sum-exp of its similarities to every other row.
  const torch::Tensor similarities = torch::mm(z, z.t()) / temperature;
  const torch::Tensor self = torch::eye(z.size(0), torch::TensorOptions().dtype(torch::kBool).device(z.device()));
  const torch::Tensor log_denominator =
      torch::logsumexp(similarities.masked_fill(self, -std::numeric_limits<double>::infinity()), 1);
  return (log_denominator - torch::cat({positive, positive})).mean();
}

torch::Tensor nt_xent_loss_shard(Communicator& comm, const torch::Tensor& v1, const torch::Tensor& v2,
                                 double temperature, int64_t first_pair, int64_t pairs) {
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(1);
  const torch::Tensor a = F::normalize(v1, unit);
  const torch::Tensor b = F::normalize(v2, unit);
  const torch::Tensor all_a = all_gather_with_grad(comm, a);
  const torch::Tensor all_b = all_gather_with_grad(comm, b);
  if (all_a.size(0) != pairs || all_b.size(0) != pairs || a.size(0) != b.size(0))
    throw std::logic_error("nt_xent_loss_shard: the ranks hold " + std::to_string(all_a.size(0)) + " and " +
                           std::to_string(all_b.size(0)) + " rows, expected " + std::to_string(pairs) + " pairs");
  // This rank's rows of z = [all v1; all v2] and their similarities to every row of z.
  const torch::Tensor z = torch::cat({all_a, all_b});
  const torch::Tensor mine = torch::cat({a, b});
  const torch::Tensor similarities = torch::mm(mine, z.t()) / temperature;
  // Each row leaves itself out of its denominator.
  const int64_t n = a.size(0);
  const auto index = torch::TensorOptions().dtype(torch::kLong).device(a.device());
  const torch::Tensor own = torch::arange(n, index) + first_pair;
  const torch::Tensor self_column = torch::cat({own, own + pairs});
  const torch::Tensor self = torch::zeros_like(similarities, torch::TensorOptions().dtype(torch::kBool))
                                 .scatter_(1, self_column.unsqueeze(1), true);
  const torch::Tensor log_denominator =
      torch::logsumexp(similarities.masked_fill(self, -std::numeric_limits<double>::infinity()), 1);
  const torch::Tensor positive = (a * b).sum(1) / temperature;
  return (log_denominator - torch::cat({positive, positive})).sum() / (2.0 * static_cast<double>(pairs));
}

}  // namespace spn
