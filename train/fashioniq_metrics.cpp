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
      above += g != triplet.target && !(remove_reference && g == triplet.reference) &&
               ranks_above(row[g], g, row[triplet.target], triplet.target);
    auto& count = counts[static_cast<size_t>(triplet.category)];
    for (size_t k = 0; k < kFashionIqRecallAt.size(); ++k) count[k] += above < kFashionIqRecallAt[k];
    count[2] += 1;
  });
  std::map<std::string, double> sums;
  for (size_t c = 0; c < categories; ++c) {
    for (size_t k = 0; k < kFashionIqRecallAt.size(); ++k)
      sums[category_metric(split.categories[c], kFashionIqRecallAt[k])] = counts[c][k];
    sums[split.categories[c] + "/queries"] = counts[c][2];
  }
  const std::map<std::string, double> totals = sum_over_ranks(comm, sums);
  std::map<std::string, double> metrics;
  std::array<double, kFashionIqRecallAt.size()> means{};  // over categories
  for (const std::string& category : split.categories) {
    const double queries = std::max(1.0, totals.at(category + "/queries"));
    for (size_t k = 0; k < kFashionIqRecallAt.size(); ++k) {
      const std::string name = category_metric(category, kFashionIqRecallAt[k]);
      metrics[name] = 100.0 * totals.at(name) / queries;
      means[k] += metrics[name] / static_cast<double>(categories);
    }
  }
  double average = 0;
  for (size_t k = 0; k < kFashionIqRecallAt.size(); ++k) {
    metrics[recall_metric(kFashionIqRecallAt[k])] = means[k];
    average += means[k];
  }
  metrics[kAverageMetric] = average / static_cast<double>(means.size());
  return metrics;
}

}  // namespace spn
