// SEARLE's φ-distillation loss (train/nt_xent_loss.h) against values worked out by hand
// and against its definition written the reference's way (exp, then log) in float64.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "train/nt_xent_loss.h"

namespace spn {
namespace {

// Equal pairs of orthonormal rows: a row is 1 from its pair and 0 from the 2B - 2 others,
// so each of the 2B terms is -log(e^{1/T} / (e^{1/T} + 2B - 2)).
TEST(NtXentLoss, OrthonormalPairsByHand) {
  const torch::Tensor v = torch::eye(3, 5) * 4.0;  // normalised inside
  const double t = 0.25, e = std::exp(1 / t);
  EXPECT_NEAR(nt_xent_loss(v, v, t).item<double>(), -std::log(e / (e + 4)), 1e-5);
}

TEST(NtXentLoss, MatchesTheReferenceFormula) {
  torch::manual_seed(4);
  const torch::Tensor v1 = torch::randn({6, 8}, torch::kDouble), v2 = torch::randn({6, 8}, torch::kDouble);
  const double t = 0.25;
  const torch::Tensor a = v1 / v1.norm(2, 1, true), b = v2 / v2.norm(2, 1, true);
  const torch::Tensor numerator = torch::exp((a * b).sum(1) / t).repeat({2});
  const torch::Tensor z = torch::cat({a, b});
  const torch::Tensor pairs = torch::exp(torch::mm(z, z.t()) / t);
  const torch::Tensor denominator = (pairs - pairs * torch::eye(12, torch::kDouble)).sum(0);
  const double expected = -torch::log(numerator / denominator).mean().item<double>();
  EXPECT_NEAR(nt_xent_loss(v1, v2, t).item<double>(), expected, 1e-12);
}

}  // namespace
}  // namespace spn
