// RTD's loss (nt_xent_loss_shard, train/nt_xent_loss.h) on 1, 2 and 3 ranks (uneven shards, an empty one at 2
// pairs on 3 ranks) against the whole batch in one process (train/nt_xent_loss.h), its
// value and gradients in float64; and both against the definition written out here
// element by element, as RTD's contrastive_loss states it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "dist/communicator.h"
#include "dist/sharding.h"
#include "test_world.h"
#include "train/nt_xent_loss.h"

namespace spn {
namespace {

using testing::world;

// RTD's utils.py contrastive_loss with loops: z = [v1; v2] normalised; row k's
// numerator exp(<v1_i, v2_i> / T) (i its pair), its denominator every other row's
// exp(<z_j, z_k> / T); the loss is -mean_k log(numerator / denominator).
double rtd_loss_by_hand(const torch::Tensor& v1, const torch::Tensor& v2, double temperature) {
  const int64_t n = v1.size(0);
  const torch::Tensor z = torch::cat({v1 / v1.norm(2, 1, true), v2 / v2.norm(2, 1, true)});
  const auto dot = [&](int64_t j, int64_t k) { return (z[j] * z[k]).sum().item<double>(); };
  double total = 0;
  for (int64_t k = 0; k < 2 * n; ++k) {
    const int64_t i = k % n;
    const double numerator = std::exp(dot(i, n + i) / temperature);
    double denominator = 0;
    for (int64_t j = 0; j < 2 * n; ++j)
      if (j != k) denominator += std::exp(dot(j, k) / temperature);
    total += -std::log(numerator / denominator);
  }
  return total / static_cast<double>(2 * n);
}

TEST(RtdLoss, EqualsItsDefinitionWrittenOut) {
  torch::manual_seed(3);
  const torch::Tensor v1 = torch::randn({5, 4}, torch::kDouble);
  const torch::Tensor v2 = torch::randn({5, 4}, torch::kDouble);
  for (double temperature : {0.07, 1.0}) {
    const double expected = rtd_loss_by_hand(v1, v2, temperature);
    auto local = make_local_communicator();
    EXPECT_NEAR(nt_xent_loss_shard(*local, v1, v2, temperature, 0, 5).item<double>(), expected,
                1e-12 * std::abs(expected));
    EXPECT_NEAR(nt_xent_loss(v1, v2, temperature).item<double>(), expected, 1e-12 * std::abs(expected));
  }
  // The positive sits in its own denominator: identical pairs orthogonal to the others
  // give a loss of about 0 (without it the denominator would be the 6 others' exp(0) and
  // the loss -1 / T + log 6 = -98.2).
  const torch::Tensor apart = torch::eye(4, torch::kDouble);
  auto local = make_local_communicator();
  EXPECT_NEAR(nt_xent_loss_shard(*local, apart, apart, 0.01, 0, 4).item<double>(), 0.0, 1e-9);
  EXPECT_NEAR(rtd_loss_by_hand(apart, apart, 0.01), 0.0, 1e-9);
}

double rtd_summed(Communicator& comm, double value) {
  torch::Tensor t = torch::tensor({value}, torch::kDouble);
  comm.all_reduce(t, ReduceOp::Sum);
  return t.item<double>();
}

TEST(DistRtdLoss, ValueAndGradientsMatchTheWholeBatch) {
  Communicator& comm = world();
  for (int64_t pairs : {2, 7}) {
    torch::manual_seed(pairs);  // the same global batch on every rank
    const torch::Tensor v1 = torch::randn({pairs, 6}, torch::kDouble).requires_grad_(true);
    const torch::Tensor v2 = torch::randn({pairs, 6}, torch::kDouble).requires_grad_(true);
    const torch::Tensor reference = nt_xent_loss(v1, v2, 0.07);
    reference.backward();

    const ShardRange rows = shard_range(pairs, comm.size(), comm.rank());
    const torch::Tensor local_v1 = v1.detach().slice(0, rows.begin, rows.end).clone().requires_grad_(true);
    const torch::Tensor local_v2 = v2.detach().slice(0, rows.begin, rows.end).clone().requires_grad_(true);
    const torch::Tensor loss = nt_xent_loss_shard(comm, local_v1, local_v2, 0.07, rows.begin, pairs);
    loss.backward();
    EXPECT_NEAR(rtd_summed(comm, loss.item<double>()), reference.item<double>(), 1e-12 * reference.item<double>())
        << "pairs " << pairs;
    if (rows.size() > 0) {
      EXPECT_TRUE(torch::allclose(local_v1.grad(), v1.grad().slice(0, rows.begin, rows.end), 1e-10, 1e-12));
      EXPECT_TRUE(torch::allclose(local_v2.grad(), v2.grad().slice(0, rows.begin, rows.end), 1e-10, 1e-12));
    }
  }
}

}  // namespace
}  // namespace spn
