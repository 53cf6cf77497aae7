// Pair mining (positive scaling) at D = 768: every image's partners from similarity
// ranks [10000, 15000), block by block and sharded across ranks. One JSON line per N
// with the time, peak memory per rank, and two references measured in the same run:
// the plain matmuls of the same total size (all N x N similarities, computed block by
// block into one reused buffer, as the mining does before its top-k), and on one rank
// the naive way of the reference scripts (the full N x N matrix, argsorted per row),
// when it fits in memory.
//
//   mpirun -np W spn-bench-mining [--sizes 20000,100000] [--memory-gib 16]
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "data/pair_mining.h"
#include "dist/communicator.h"
#include "dist/sharding.h"

namespace {

using namespace spn::bench;

constexpr int64_t kDim = 768, kBlockRows = 256;

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes = {20000, 100000};
  int64_t memory_gib = 16;  // the naive way is skipped when its matrices need more
  parse_flags(argc, argv, "[--sizes 20000,100000] [--memory-gib 16]",
              {{"--memory-gib", [&](const std::string& v) { memory_gib = read_count(v); }},
               {"--sizes", [&](const std::string& v) { sizes = read_counts(v); }}});
  auto comm = spn::make_world_communicator(&argc, &argv);
  const int threads = use_cores_per_rank(*comm);

  for (int64_t n : sizes) {
    torch::manual_seed(1);
    torch::Tensor embeddings = torch::randn({n, kDim});
    embeddings = embeddings / embeddings.norm(2, 1, true);
    std::vector<int64_t> queries(n);
    for (int64_t i = 0; i < n; ++i) queries[i] = i;
    spn::MiningWindow window;
    window.lo = std::min<int64_t>(10000, n / 2);
    window.hi = std::min<int64_t>(15000, n - 1);
    window.block_rows = kBlockRows;

    comm->barrier();
    reset_peak_memory();
    const auto start = std::chrono::steady_clock::now();
    spn::mine_partners(*comm, embeddings, queries, window, false);
    const double mining = seconds_since(start);
    const std::vector<int64_t> memory_per_rank = comm->all_gather_int(static_cast<int64_t>(peak_memory_mib()));

    // The same similarities as plain matmuls, this rank's share of the blocks.
    const int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
    const spn::ShardRange mine = spn::shard_range(blocks, comm->size(), comm->rank());
    torch::Tensor buffer = torch::empty({kBlockRows, n});
    const torch::Tensor all_t = embeddings.t();
    comm->barrier();
    const auto matmul_start = std::chrono::steady_clock::now();
    for (int64_t b = mine.begin; b < mine.end; ++b) {
      const int64_t rows = std::min(kBlockRows, n - b * kBlockRows);
      torch::Tensor out = buffer.narrow(0, 0, rows);
      torch::mm_out(out, embeddings.narrow(0, b * kBlockRows, rows), all_t);
    }
    comm->barrier();
    const double matmul = seconds_since(matmul_start);
    buffer = torch::Tensor();

    nlohmann::json line = {{"bench", "pair_mining"},
                           {"N", n},
                           {"D", kDim},
                           {"rank_window", {window.lo, window.hi}},
                           {"ranks", comm->size()},
                           {"threads_per_rank", threads},
                           {"mining_s", mining},
                           {"peak_memory_mib_per_rank", memory_per_rank},
                           {"matmul_same_size_s", matmul},
                           {"matmul_share_of_mining", matmul / mining}};

    // The naive way: the whole N x N matrix and a full argsort of every row.
    const double naive_gib = static_cast<double>(n) * n * (4 + 8) / (1 << 30);
    if (comm->size() == 1) {
      if (naive_gib <= memory_gib) {
        reset_peak_memory();
        const auto naive_start = std::chrono::steady_clock::now();
        {
          torch::Tensor scores = torch::mm(embeddings, all_t);
          scores.fill_diagonal_(-std::numeric_limits<float>::infinity());
          const torch::Tensor order = scores.argsort(1, /*descending=*/true);
        }
        line["naive_s"] = seconds_since(naive_start);
        line["naive_peak_memory_mib"] = peak_memory_mib();
        line["speedup_vs_naive"] = line["naive_s"].get<double>() / mining;
      } else {
        line["naive"] = "skipped: the N x N scores and argsort need " + std::to_string(naive_gib) +
                        " GiB (--memory-gib " + std::to_string(memory_gib) + ")";
      }
    }
    if (comm->rank() == 0) std::cout << line.dump() << std::endl;
  }
  spn::finalize_communication();
  return 0;
}
