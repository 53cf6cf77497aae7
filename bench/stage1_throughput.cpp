// Stage-1 training throughput (samples/s) on the quickstart model, printed as one JSON
// line by rank 0. In the same run it measures two references: a plain float32 matmul
// (GFLOP/s, what the machine's BLAS delivers) and the same step on one rank with all
// of the node's cores (the scaling reference for runs on several ranks).
//
//   mpirun -np 2 spn-bench [--steps N] [--batch B]
#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "config/config_file.h"
#include "dist/communicator.h"
#include "dist/sharding.h"
#include "embedded_quickstart.h"
#include "models/cir_model.h"
#include "train/stage1_step.h"

namespace {

using spn::bench::seconds_since;

double matmul_gflops(int64_t n) {
  const torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::empty({n, n});
  torch::mm_out(c, a, b);  // warm-up
  const int repeats = 5;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) torch::mm_out(c, a, b);
  return 2.0 * n * n * n * repeats / seconds_since(start) / 1e9;
}

// Samples per second of `steps` stage-1 steps on this communicator's slices of a fixed
// synthetic global batch (after two warm-up steps).
double step_throughput(spn::Communicator& comm, const spn::ExperimentConfig& config, int64_t vocab, int64_t steps) {
  torch::manual_seed(0);
  auto model = spn::make_cir_model(config, vocab);
  spn::Stage1Step step(comm, model, config.stage1);
  const int64_t batch = config.stage1.batch_size, size = config.data.image_size;
  const spn::ShardRange mine = spn::shard_range(batch, comm.size(), comm.rank());
  spn::TripletBatch local;
  local.reference_images = torch::rand({mine.size(), 3, size, size}) * 2 - 1;
  local.target_images = torch::rand({mine.size(), 3, size, size}) * 2 - 1;
  local.tokens = torch::randint(1, vocab, {mine.size(), config.data.max_words}, torch::kLong);
  for (int i = 0; i < 2; ++i) step.run(local, batch, config.stage1.lr);
  comm.barrier();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step.run(local, batch, config.stage1.lr);
  comm.barrier();
  return static_cast<double>(steps * batch) / seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 40;
  std::vector<std::string> overrides;
  spn::bench::parse_flags(argc, argv, "[--steps 40] [--batch 128]",
                          {{"--steps", [&](const std::string& v) { steps = spn::bench::read_count(v); }},
                           {"--batch", [&](const std::string& v) {
                              overrides.push_back("stage1.batch_size=" + std::to_string(spn::bench::read_count(v)));
                            }}});
  auto comm = spn::make_world_communicator(&argc, &argv);
  const spn::ExperimentConfig config = spn::load_config_text(spn::kQuickstartToml, "<quickstart>", overrides);
  constexpr int64_t kVocab = 64;  // about the benchmark's vocabulary
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));

  // References on rank 0 alone, with every core, while the other ranks wait.
  double gflops = 0, single_rank = 0;
  if (comm->rank() == 0) {
    at::set_num_threads(static_cast<int>(cores));
    gflops = matmul_gflops(1024);
    auto local = spn::make_local_communicator();
    single_rank = step_throughput(*local, config, kVocab, steps);
  }
  comm->barrier();

  const int threads = spn::bench::use_cores_per_rank(*comm);
  const double distributed = step_throughput(*comm, config, kVocab, steps);
  if (comm->rank() == 0) {
    std::cout << nlohmann::json{{"bench", "stage1_step"},
                                {"ranks", comm->size()},
                                {"threads_per_rank", threads},
                                {"global_batch", config.stage1.batch_size},
                                {"steps", steps},
                                {"samples_per_s", distributed},
                                {"single_rank_all_cores_samples_per_s", single_rank},
                                {"ratio_to_single_rank", distributed / single_rank},
                                {"matmul_1024_gflops", gflops},
                                {"samples_per_s_per_matmul_gflop", distributed / gflops}}
                     .dump()
              << std::endl;
  }
  spn::finalize_communication();
  return 0;
}
