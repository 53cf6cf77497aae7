#include "data/pair_mining.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "core/hash.h"
#include "core/progress.h"
#include "core/random.h"
#include "dist/sharding.h"

namespace spn {

at::Tensor mine_partners(Communicator& comm, const at::Tensor& embeddings, const std::vector<int64_t>& queries,
                         const MiningWindow& window, bool show_progress) {
  const int64_t n = embeddings.size(0);
  if (window.lo < 0 || window.hi > n - 1 || window.hi - window.lo < window.partners || window.partners < 1)
    throw std::invalid_argument("mine_partners: window [" + std::to_string(window.lo) + ", " +
                                std::to_string(window.hi) + ") cannot give " + std::to_string(window.partners) +
                                " partners among " + std::to_string(n) + " images");
  const int64_t total = static_cast<int64_t>(queries.size());
  const int64_t blocks = (total + window.block_rows - 1) / window.block_rows;
  const ShardRange my_blocks = shard_range(blocks, comm.size(), comm.rank());
  const int64_t first = std::min(total, my_blocks.begin * window.block_rows);
  const int64_t last = std::min(total, my_blocks.end * window.block_rows);

  torch::NoGradGuard no_grad;
  const torch::Tensor all = embeddings.to(torch::kFloat).contiguous();
  const torch::Tensor all_t = all.t();
  const torch::Tensor query_index = torch::tensor(queries, torch::kLong);
  torch::Tensor local = torch::empty({last - first, window.partners}, torch::kLong);
  auto partners_of = local.accessor<int64_t, 2>();
  torch::Tensor scores = torch::empty({std::min(window.block_rows, std::max<int64_t>(total, 1)), n});
  Progress progress("mining pairs", last - first, show_progress);
  for (int64_t begin = first; begin < last; begin += window.block_rows) {
    const int64_t rows = std::min(window.block_rows, last - begin);
    const torch::Tensor block_queries = query_index.narrow(0, begin, rows);
    torch::Tensor block_scores = scores.narrow(0, 0, rows);
    torch::mm_out(block_scores, all.index_select(0, block_queries), all_t);
    // A query is not its own partner: its own column drops below every other image.
    block_scores.scatter_(1, block_queries.unsqueeze(1), -std::numeric_limits<float>::infinity());
    const float* block = block_scores.data_ptr<float>();
    at::parallel_for(0, rows, 1, [&](int64_t row_begin, int64_t row_end) {
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t row = row_begin; row < row_end; ++row) {
        const float* score = block + row * n;
        // Descending score, ties by index: a total order, so the ranks are well defined.
        const auto before = [score](int64_t a, int64_t b) {
          return score[a] > score[b] || (score[a] == score[b] && a < b);
        };
        std::mt19937_64 rng(mix_seed(window.seed, static_cast<uint64_t>(queries[begin + row])));
        const std::vector<int64_t> picks = distinct_in_range(rng, window.lo, window.hi, window.partners);
        std::vector<int64_t> ranks = picks;
        std::sort(ranks.begin(), ranks.end());
        // Selection instead of sorting: each wanted rank costs O(N) (nth_element), and
        // the ranks are settled in increasing order on the shrinking rest of the row.
        std::iota(order.begin(), order.end(), int64_t{0});
        auto settled = order.begin();
        for (int64_t rank : ranks) {
          std::nth_element(settled, order.begin() + rank, order.end(), before);
          settled = order.begin() + rank + 1;
        }
        for (int64_t p = 0; p < window.partners; ++p) partners_of[begin + row - first][p] = order[picks[p]];
      }
    });
    progress.update(begin + rows - first);
  }
  progress.finish();
  return comm.all_gather(local);
}

}  // namespace spn
