#include "train/circo_metrics.h"

#include <algorithm>

#include "dist/sharding.h"
#include "train/query_scores.h"

namespace spn {

std::map<std::string, double> circo_metrics(Communicator& comm, const CirrSplit& split, const at::Tensor& gallery,
                                            const at::Tensor& local_queries, bool remove_reference) {
  const ShardRange mine = shard_range(static_cast<int64_t>(split.triplets.size()), comm.size(), comm.rank());
  // Per K: summed average precision and target hits; named once, then summed across ranks.
  std::array<double, kCircoAt.size()> precision_sums{}, recall_sums{};
  double queries = 0;
  for_each_score_row(local_queries, gallery, mine.begin, [&](int64_t query, const float* row) {
    const CirrTriplet& triplet = split.triplets[query];
    std::vector<int64_t> ground_truth = triplet.equally_good_targets;
    ground_truth.push_back(triplet.target);
    const std::vector<int64_t> excluded =
        remove_reference ? std::vector<int64_t>{triplet.reference} : std::vector<int64_t>{};
    const std::vector<int64_t> ranked = top_indices(row, gallery.size(0), kCircoAt.back(), excluded);
    // precision at each position holding a ground-truth image, summed up to each K
    double precision_sum = 0;
    int64_t hits = 0;
    size_t next_k = 0;
    bool target_seen = false;
    for (size_t position = 0; position <= ranked.size() && next_k < kCircoAt.size(); ++position) {
      while (next_k < kCircoAt.size() &&
             (static_cast<int64_t>(position) == kCircoAt[next_k] || position == ranked.size())) {
        const int64_t k = kCircoAt[next_k];
        precision_sums[next_k] += precision_sum / static_cast<double>(std::min<int64_t>(ground_truth.size(), k));
        recall_sums[next_k++] += target_seen;
      }
      if (position == ranked.size()) break;
      const int64_t image = ranked[position];
      target_seen |= image == triplet.target;
      if (std::find(ground_truth.begin(), ground_truth.end(), image) != ground_truth.end())
        precision_sum += static_cast<double>(++hits) / static_cast<double>(position + 1);
    }
    queries += 1;
  });
  std::map<std::string, double> sums = {{"queries", queries}};
  for (size_t i = 0; i < kCircoAt.size(); ++i) {
    sums[map_metric(kCircoAt[i])] = precision_sums[i];
    sums[recall_metric(kCircoAt[i])] = recall_sums[i];
  }
  const std::map<std::string, double> totals = sum_over_ranks(comm, sums);
  std::map<std::string, double> metrics;
  for (const auto& [name, total] : totals) {
    if (name != "queries") metrics[name] = 100.0 * total / std::max(1.0, totals.at("queries"));
  }
  return metrics;
}

}  // namespace spn
