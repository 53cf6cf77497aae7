// The stage-2 loss step (forward + backward with respect to the queries) over a bank of
// N candidates sharded across the ranks, at B = 256, D = 640. One JSON line per N with:
// time per step, GFLOP/s counting 4*B*N*D, peak memory per rank, and two references
// measured in the same run: a plain matmul of the same shape (B x D by D x N/W) and the
// naive step as the reference implementation does it (full B x N logits, ordinary cross
// entropy), on rank 0 with the whole bank.
//
//   mpirun -np W spn-bench-softmax [--sizes 17000,100000,1000000] [--repeats 3]
#include <torch/torch.h>

#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "dist/autograd_collectives.h"
#include "dist/communicator.h"
#include "dist/distributed_softmax.h"
#include "dist/sharding.h"

namespace {

using namespace spn::bench;

constexpr int64_t kBatch = 256, kDim = 640, kChunk = 4096;

torch::Tensor unit_rows(int64_t rows, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({rows, kDim});
  return x / x.norm(2, 1, true);
}

}  // namespace

int main(int argc, char** argv) {
  auto comm = spn::make_world_communicator(&argc, &argv);
  std::vector<int64_t> sizes = {17000, 100000, 1000000};
  int repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--sizes")) sizes = parse_sizes(argv[i + 1]);
  }
  const int threads = use_cores_per_rank(*comm);

  for (int64_t n : sizes) {
    const spn::ShardRange shard_rows = spn::shard_range(n, comm->size(), comm->rank());
    const spn::ShardRange query_rows = spn::shard_range(kBatch, comm->size(), comm->rank());
    spn::SoftmaxTargets targets;
    for (int64_t i = 0; i < kBatch; ++i) targets.positives.push_back({(i * 7919) % n});
    const torch::Tensor all_queries = unit_rows(kBatch, 1);

    const torch::Tensor shard = unit_rows(shard_rows.size(), 100 + comm->rank());
    reset_peak_memory();  // the peak then counts the resident shard and the step, not generating it
    const torch::Tensor scale = torch::tensor(50.0f);
    const double sharded = time_per_call(
        [&] {
          torch::Tensor local =
              all_queries.narrow(0, query_rows.begin, query_rows.size()).clone().set_requires_grad(true);
          const torch::Tensor loss =
              spn::distributed_softmax_cross_entropy(*comm, spn::all_gather_with_grad(*comm, local), scale, shard,
                                                     shard_rows.begin, targets, spn::MultiPositive::LogSumExp, kChunk);
          loss.backward();
        },
        repeats);
    comm->barrier();
    const double memory = peak_memory_mib();
    const std::vector<int64_t> memory_per_rank = comm->all_gather_int(static_cast<int64_t>(memory));

    // Plain matmul of the same shape as this rank's logits.
    torch::Tensor logits = torch::empty({kBatch, shard_rows.size()});
    const double matmul = time_per_call([&] { torch::mm_out(logits, all_queries, shard.t()); }, repeats);
    logits = torch::Tensor();
    comm->barrier();

    nlohmann::json line = {{"bench", "stage2_softmax_step"},
                           {"B", kBatch},
                           {"D", kDim},
                           {"N", n},
                           {"ranks", comm->size()},
                           {"threads_per_rank", threads},
                           {"chunk", kChunk},
                           {"step_s", sharded},
                           {"gflops", 4.0 * kBatch * n * kDim / sharded / 1e9},
                           {"peak_memory_mib_per_rank", memory_per_rank},
                           {"matmul_s", matmul},
                           {"matmul_gflops", 2.0 * kBatch * shard_rows.size() * kDim / matmul / 1e9}};
    line["ratio_to_matmul_throughput"] =
        line["gflops"].get<double>() / comm->size() / line["matmul_gflops"].get<double>();

    // The naive step, on rank 0 with the whole bank, for W = 1 only (with more ranks the
    // other ranks would compete for the same cores).
    if (comm->size() == 1) {
      reset_peak_memory();
      const torch::Tensor labels = torch::tensor(
          [&] {
            std::vector<int64_t> ids;
            for (const auto& p : targets.positives) ids.push_back(p[0]);
            return ids;
          }(),
          torch::kLong);
      const double naive = time_per_call(
          [&] {
            torch::Tensor q = all_queries.clone().set_requires_grad(true);
            torch::nn::functional::cross_entropy(scale * torch::matmul(q, shard.t()), labels).backward();
          },
          repeats);
      line["naive_step_s"] = naive;
      line["naive_peak_memory_mib"] = peak_memory_mib();
      line["speedup_vs_naive"] = naive / sharded;
    }
    if (comm->rank() == 0) std::cout << line.dump() << std::endl;
  }
  spn::finalize_communication();
  return 0;
}
