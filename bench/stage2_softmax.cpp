// The stage-2 loss step (forward + backward with respect to the queries) over a bank of
// N candidates sharded across the ranks, at B = 256, D = 640, in float32 and bfloat16
// (the bank multiplied in that type). One JSON line per N and precision with: time per
// step, GFLOP/s counting 4*B*N*D, peak memory per rank, and two references measured in
// the same run: a plain matmul of the same shape and precision (B x D by D x N/W), and,
// on one rank, the peer: the naive float32 step as the PyTorch reference code does it
// (full B x N logits, cross entropy), run by bench/stage2_peer.py with the Python of the
// torch installation spn links, on the same cores. `speedup_vs_peer` is peer time / step
// time.
//
// With --device cuda each rank uses the GPU of its local rank and NCCL; the peer runs on
// rank 0's GPU, and the memory figures are the GPU's peak allocation. The environment's
// SPN_TORCH_PYTHON overrides the Python the build found (another machine's torch).
//
//   mpirun -np W spn-bench-softmax [--sizes 17000,100000,1000000] [--repeats 3] [--device cpu|cuda]
//                                  [--chunk ROWS] (default: automatic_chunk_columns)
//                                  [--tokens T]   (token-set bank [N, T, D], as SPRC's; 4*B*N*T*D flops)
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "dist/autograd_collectives.h"
#include "dist/communicator.h"
#include "dist/distributed_softmax.h"
#include "dist/nccl_communicator.h"
#include "dist/sharding.h"

namespace {

using namespace spn::bench;

constexpr int64_t kBatch = 256, kDim = 640;

torch::Tensor unit_rows(int64_t rows, uint64_t seed, const torch::Device& device) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({rows, kDim}).to(device);
  return x / x.norm(2, 1, true);
}

// The peer's JSON line (seconds per step, peak memory), on this rank's cores or GPU.
nlohmann::json peer_step(int threads, int64_t n, int repeats, const torch::Device& device) {
  const char* python = std::getenv("SPN_TORCH_PYTHON");
  return run_python_reference(std::string(python && *python ? python : SPN_TORCH_PYTHON) + " " + source_dir() +
                              "/bench/stage2_peer.py " + std::to_string(threads) + " " + std::to_string(kBatch) + " " +
                              std::to_string(kDim) + " " + std::to_string(n) + " " + std::to_string(repeats) + " " +
                              (device.is_cuda() ? "cuda" : "cpu"));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes = {17000, 100000, 1000000};
  int64_t repeats = 3;
  bool cuda = false;
  int64_t chunk = 0;   // the device's automatic block width
  int64_t tokens = 0;  // > 0: a bank of token sets [N, tokens, D] (SPRC)
  parse_flags(argc, argv,
              "[--sizes 17000,100000,1000000] [--repeats 3] [--device cpu|cuda] [--chunk COLUMNS (default: by "
              "device)] [--tokens T (a bank of token sets)]",
              {{"--repeats", [&](const std::string& v) { repeats = read_count(v); }},
               {"--sizes", [&](const std::string& v) { sizes = read_counts(v); }},
               {"--chunk", [&](const std::string& v) { chunk = read_count(v); }},
               {"--tokens", [&](const std::string& v) { tokens = read_count(v); }},
               {"--device", [&](const std::string& v) { cuda = read_cuda_device(v); }}});
  std::unique_ptr<spn::Communicator> comm = spn::make_world_communicator(&argc, &argv);
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(comm->local_rank()))
                                    : torch::Device(torch::kCPU);
  const int threads = use_cores_per_rank(*comm);
  if (device.is_cuda()) comm = spn::make_nccl_communicator(std::move(comm), device);
  const DeviceMeter meter(device);
  const int64_t vectors_per_row = std::max<int64_t>(tokens, 1);
  if (chunk == 0) chunk = std::max<int64_t>(1, spn::automatic_chunk_columns(device, kBatch) / vectors_per_row);

  for (int64_t n : sizes) {
    const spn::ShardRange shard_rows = spn::shard_range(n, comm->size(), comm->rank());
    const spn::ShardRange query_rows = spn::shard_range(kBatch, comm->size(), comm->rank());
    spn::SoftmaxTargets targets;
    for (int64_t i = 0; i < kBatch; ++i) targets.positives.push_back({(i * 7919) % n});
    const torch::Tensor all_queries = unit_rows(kBatch, 1, device);
    torch::Tensor float32_shard = unit_rows(shard_rows.size() * vectors_per_row, 100 + comm->rank(), device);
    if (tokens > 0) float32_shard = float32_shard.view({shard_rows.size(), tokens, kDim});
    // With more ranks the peer would compete with the other ranks for the same cores.
    const nlohmann::json peer = comm->size() > 1 ? nlohmann::json{{"skipped", "measured with one rank only"}}
                                : tokens > 0     ? nlohmann::json{{"skipped", "the peer scores plain banks only"}}
                                                 : peer_step(threads, n, repeats, device);

    for (const auto& [precision, dtype] : {std::pair{"fp32", torch::kFloat}, std::pair{"bf16", torch::kBFloat16}}) {
      const torch::Tensor shard = float32_shard.to(dtype);
      meter.reset();  // the peak then counts the resident shards and the step, not generating them
      const torch::Tensor scale = torch::tensor(50.0f, torch::TensorOptions().device(device));
      const double sharded = time_per_call(
          [&] {
            torch::Tensor local =
                all_queries.narrow(0, query_rows.begin, query_rows.size()).clone().set_requires_grad(true);
            const torch::Tensor loss =
                spn::distributed_softmax_cross_entropy(*comm, spn::all_gather_with_grad(*comm, local), scale, shard,
                                                       shard_rows.begin, targets, spn::MultiPositive::LogSumExp, chunk);
            loss.backward();
          },
          repeats, meter.wait);
      comm->barrier();
      const std::vector<int64_t> memory_per_rank = comm->all_gather_int(static_cast<int64_t>(meter.peak_mib()));

      // Plain matmul of the same shape and precision as this rank's logits.
      const torch::Tensor queries = all_queries.to(dtype);
      const torch::Tensor vectors = shard.reshape({-1, kDim});
      torch::Tensor logits = torch::empty({kBatch, vectors.size(0)}, queries.options());
      const double matmul = time_per_call([&] { torch::mm_out(logits, queries, vectors.t()); }, repeats, meter.wait);
      logits = torch::Tensor();
      comm->barrier();

      nlohmann::json line = {{"bench", "stage2_softmax_step"},
                             {"precision", precision},
                             {"device", device.str()},
                             {"B", kBatch},
                             {"D", kDim},
                             {"N", n},
                             {"tokens", vectors_per_row},
                             {"ranks", comm->size()},
                             {"threads_per_rank", threads},
                             {"chunk", chunk},
                             {"step_s", sharded},
                             {"gflops", 4.0 * kBatch * n * vectors_per_row * kDim / sharded / 1e9},
                             {meter.key(), memory_per_rank},
                             {"matmul_s", matmul},
                             {"matmul_gflops", 2.0 * kBatch * vectors.size(0) * kDim / matmul / 1e9},
                             {"peer", peer}};
      line["ratio_to_matmul_throughput"] =
          line["gflops"].get<double>() / comm->size() / line["matmul_gflops"].get<double>();
      if (peer.contains("step_s")) line["speedup_vs_peer"] = peer["step_s"].get<double>() / sharded;
      if (comm->rank() == 0) std::cout << line.dump() << std::endl;
    }
  }
  spn::finalize_communication();
  return 0;
}
