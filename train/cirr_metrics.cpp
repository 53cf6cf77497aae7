#include "train/cirr_metrics.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "config/protocol.h"
#include "dist/sharding.h"
#include "train/query_scores.h"

namespace spn {

namespace {

void count_row_hits(const float* row, int64_t gallery, const CirrTriplet& triplet, CirrHitCounts& counts) {
  const float target_score = row[triplet.target];
  int64_t above = 0;
  for (int64_t g = 0; g < gallery; ++g)
    above += (g != triplet.reference && g != triplet.target && ranks_above(row[g], g, target_score, triplet.target));
  int64_t subset_above = 0;
  for (int64_t member : triplet.members)
    subset_above += (member != triplet.reference && member != triplet.target &&
                     ranks_above(row[member], member, target_score, triplet.target));
  ++counts.queries;
  for (size_t k = 0; k < kRecallAt.size(); ++k) counts.recall[k] += above < kRecallAt[k];
  for (size_t k = 0; k < kSubsetRecallAt.size(); ++k) counts.subset[k] += subset_above < kSubsetRecallAt[k];
}

}  // namespace

void count_cirr_hits(const at::Tensor& scores, const std::vector<CirrTriplet>& triplets, int64_t first,
                     CirrHitCounts& counts) {
  const at::Tensor cpu = scores.to(at::kFloat).contiguous();
  for (int64_t i = 0; i < cpu.size(0); ++i)
    count_row_hits(cpu.data_ptr<float>() + i * cpu.size(1), cpu.size(1), triplets[first + i], counts);
}

std::map<std::string, double> cirr_metrics(Communicator& comm, const std::vector<CirrTriplet>& triplets,
                                           const at::Tensor& gallery, const at::Tensor& local_queries) {
  const ShardRange mine = shard_range(static_cast<int64_t>(triplets.size()), comm.size(), comm.rank());
  CirrHitCounts counts;
  for_each_score_row(local_queries, gallery, mine.begin, [&](int64_t query, const float* row) {
    count_row_hits(row, gallery.size(0), triplets[query], counts);
  });
  std::vector<int64_t> flat = {counts.queries};
  flat.insert(flat.end(), counts.recall.begin(), counts.recall.end());
  flat.insert(flat.end(), counts.subset.begin(), counts.subset.end());
  at::Tensor totals = at::tensor(flat, at::kLong);
  comm.all_reduce(totals, ReduceOp::Sum);
  const int64_t* total = totals.data_ptr<int64_t>();
  const double queries = static_cast<double>(std::max<int64_t>(1, total[0]));
  std::map<std::string, double> metrics;
  for (size_t k = 0; k < kRecallAt.size(); ++k) metrics[recall_metric(kRecallAt[k])] = 100.0 * total[1 + k] / queries;
  for (size_t k = 0; k < kSubsetRecallAt.size(); ++k)
    metrics[subset_recall_metric(kSubsetRecallAt[k])] = 100.0 * total[1 + kRecallAt.size() + k] / queries;
  metrics[kAverageMetric] = (metrics[recall_metric(5)] + metrics[subset_recall_metric(1)]) / 2;
  return metrics;
}

}  // namespace spn
