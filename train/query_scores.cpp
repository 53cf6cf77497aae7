#include "train/query_scores.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "models/token_similarity.h"

namespace spn {

void for_each_score_row(const at::Tensor& local_queries, const at::Tensor& gallery, int64_t first,
                        const std::function<void(int64_t, const float*)>& visit) {
  // Queries per block: at most 256, fewer when the block's token scores
  // (queries x gallery vectors) would pass 2^25 floats (128 MiB).
  const int64_t vectors = std::max<int64_t>(1, gallery.dim() == 3 ? gallery.size(0) * gallery.size(1) : 0);
  const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 25) / vectors, 1, 256);
  for (int64_t begin = 0; begin < local_queries.size(0); begin += chunk) {
    const int64_t rows = std::min(chunk, local_queries.size(0) - begin);
    const at::Tensor scores =
        max_token_similarity(local_queries.narrow(0, begin, rows), gallery).to(at::kFloat).contiguous();
    for (int64_t i = 0; i < rows; ++i) visit(first + begin + i, scores.data_ptr<float>() + i * scores.size(1));
  }
}

std::map<std::string, double> sum_over_ranks(Communicator& comm, const std::map<std::string, double>& values) {
  std::vector<double> flat;
  for (const auto& entry : values) flat.push_back(entry.second);
  at::Tensor totals = at::tensor(flat, at::kDouble);
  comm.all_reduce(totals, ReduceOp::Sum);
  std::map<std::string, double> sums;
  size_t i = 0;
  for (const auto& entry : values) sums[entry.first] = totals.data_ptr<double>()[i++];
  return sums;
}

std::vector<int64_t> top_indices(const float* row, int64_t gallery, int64_t k, const std::vector<int64_t>& excluded) {
  std::vector<int64_t> order(static_cast<size_t>(gallery));
  std::iota(order.begin(), order.end(), 0);
  order.erase(
      std::remove_if(order.begin(), order.end(),
                     [&](int64_t g) { return std::find(excluded.begin(), excluded.end(), g) != excluded.end(); }),
      order.end());
  const auto key = [&](int64_t g) { return std::isnan(row[g]) ? -std::numeric_limits<float>::infinity() : row[g]; };
  const auto better = [&](int64_t a, int64_t b) { return key(a) > key(b) || (key(a) == key(b) && a < b); };
  const auto end = order.begin() + std::min<int64_t>(k, static_cast<int64_t>(order.size()));
  std::partial_sort(order.begin(), end, order.end(), better);
  order.erase(end, order.end());
  return order;
}

}  // namespace spn
