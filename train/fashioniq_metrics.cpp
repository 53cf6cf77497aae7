#include "train/fashioniq_metrics.h"

#include <array>

#include "dist/sharding.h"
#include "train/query_scores.h"

namespace spn {

std::map<std::string, double> fashioniq_metrics(Communicator& comm, const CirrSplit& split, const at::Tensor& gallery,
                                                const at::Tensor& local_queries, bool remove_reference) {
  const ShardRange mine = shard_range(static_cast<int64_t>(split.triplets.size()), comm.size(), comm.rank());
  const size_t categories = split.categories.size();
  // Per category: hits at 10, hits at 50, queries; named once, then summed across ranks.
  std::vector<std::array<double, 3>> counts(categories, {0, 0, 0});
  for_each_score_row(local_queries, gallery, mine.begin, [&](int64_t query, const float* row) {
    const CirrTriplet& triplet = split.triplets[query];
    int64_t above = 0;
    for (int64_t g : split.category_images[triplet.category])
      above += g != triplet.target && !(remove_reference && g == triplet.reference) && row[g] > row[triplet.target];
    auto& count = counts[static_cast<size_t>(triplet.category)];
    count[0] += above < 10;
    count[1] += above < 50;
    count[2] += 1;
  });
  std::map<std::string, double> sums;
  for (size_t c = 0; c < categories; ++c) {
    sums[split.categories[c] + "/hits@10"] = counts[c][0];
    sums[split.categories[c] + "/hits@50"] = counts[c][1];
    sums[split.categories[c] + "/queries"] = counts[c][2];
  }
  const std::map<std::string, double> totals = sum_over_ranks(comm, sums);
  std::map<std::string, double> metrics;
  double r10 = 0, r50 = 0;
  for (const std::string& category : split.categories) {
    const double queries = std::max(1.0, totals.at(category + "/queries"));
    metrics[category + "/R@10"] = 100.0 * totals.at(category + "/hits@10") / queries;
    metrics[category + "/R@50"] = 100.0 * totals.at(category + "/hits@50") / queries;
    r10 += metrics[category + "/R@10"] / static_cast<double>(categories);
    r50 += metrics[category + "/R@50"] / static_cast<double>(categories);
  }
  metrics["R@10"] = r10;
  metrics["R@50"] = r50;
  metrics["Avg"] = (r10 + r50) / 2;
  return metrics;
}

}  // namespace spn
