// The sharded stage-2 softmax on CUDA (NCCL, bank shards on the GPU) against the same
// computation on the CPU (MPI), in float32 and with a bfloat16 bank, plain and of token
// sets: loss, query gradients (through the all-gather with gradient) and the
// temperature's gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <tuple>

#include "cuda_world.h"
#include "dist/autograd_collectives.h"
#include "dist/distributed_softmax.h"
#include "dist/sharding.h"

namespace spn {
namespace {

using testing::gpu_of;
using testing::world;

struct Result {
  double loss;
  torch::Tensor query_grad;  // this rank's rows, on the CPU
  double scale_grad;         // summed over ranks
};

Result sharded_step(Communicator& comm, const torch::Tensor& all_queries, const torch::Tensor& bank,
                    const SoftmaxTargets& targets, torch::Dtype bank_type, const torch::Device& device, int64_t chunk) {
  const ShardRange query_rows = shard_range(all_queries.size(0), comm.size(), comm.rank());
  const ShardRange bank_rows = shard_range(bank.size(0), comm.size(), comm.rank());
  torch::Tensor local =
      all_queries.narrow(0, query_rows.begin, query_rows.size()).to(device).clone().set_requires_grad(true);
  torch::Tensor scale = torch::tensor(30.0f, torch::TensorOptions().device(device)).set_requires_grad(true);
  const torch::Tensor shard = bank.narrow(0, bank_rows.begin, bank_rows.size()).to(device, bank_type).contiguous();
  const torch::Tensor loss = distributed_softmax_cross_entropy(
      comm, all_gather_with_grad(comm, local), scale, shard, bank_rows.begin, targets, MultiPositive::LogSumExp, chunk);
  loss.backward();
  torch::Tensor scale_grad = scale.grad().reshape({1}).contiguous();
  comm.all_reduce(scale_grad, ReduceOp::Sum);
  return {loss.item<double>(), local.grad().cpu(), scale_grad.item<double>()};
}

TEST(DistCudaSoftmax, ShardedLossAndGradientsMatchTheCpu) {
  NCCL_WORLD_OR_SKIP(nccl);
  torch::manual_seed(3);
  const auto unit = [](const torch::Tensor& x) { return x / x.norm(2, -1, true); };
  const torch::Tensor queries = unit(torch::randn({13, 32}));
  SoftmaxTargets targets;
  for (int64_t i = 0; i < 13; ++i) targets.positives.push_back({(i * 23) % 301, (i * 41 + 7) % 301});
  // A plain bank and one of token sets (SPRC's targets), in float32 and bf16. A bf16
  // shard keeps its exponentials in bf16, and the two devices round them against
  // different block maxima (64 columns here, one block there), so they may differ by
  // about bf16's epsilon (2^-7) relative to the largest gradient; a wrong term would
  // be off by order one.
  for (const auto& [bank, type, tolerance] : {std::tuple{unit(torch::randn({301, 32})), torch::kFloat, 1e-5},
                                              std::tuple{unit(torch::randn({301, 32})), torch::kBFloat16, 0x1p-7},
                                              std::tuple{unit(torch::randn({301, 3, 32})), torch::kFloat, 1e-5},
                                              std::tuple{unit(torch::randn({301, 3, 32})), torch::kBFloat16, 0x1p-7}}) {
    const std::string label = std::string("bank ") + c10::toString(type) + " of " + std::to_string(bank.dim()) +
                              " dimensions, W=" + std::to_string(world().size());
    const Result cpu = sharded_step(world(), queries, bank, targets, type, torch::kCPU, 64);
    // Blocks of 64 columns, then the GPU's automatic width (one block per shard here).
    for (int64_t chunk : {64, 0}) {
      const Result cuda = sharded_step(*nccl, queries, bank, targets, type, gpu_of(world()), chunk);
      const std::string where = label + ", chunk " + std::to_string(chunk);
      EXPECT_NEAR(cuda.loss, cpu.loss, tolerance * std::abs(cpu.loss)) << where;
      if (cpu.query_grad.numel() > 0)
        EXPECT_LE((cuda.query_grad - cpu.query_grad).abs().max().item<double>(),
                  tolerance * cpu.query_grad.abs().max().item<double>() + 1e-9)
            << where;
      EXPECT_NEAR(cuda.scale_grad, cpu.scale_grad, 10 * tolerance * std::abs(cpu.scale_grad) + 1e-7) << where;
    }
  }
}

}  // namespace
}  // namespace spn
