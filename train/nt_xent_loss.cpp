#include "train/nt_xent_loss.h"

#include <torch/torch.h>

#include <limits>

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

}  // namespace spn
