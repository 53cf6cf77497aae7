#pragma once
// The CIRR protocol (Liu et al. 2021, as its official evaluation computes it):
// Recall@K over the whole split gallery with the query's reference image removed, and
// Recall_subset@K over the query's img_set members, also without the reference.
// A target's rank is the number of other candidates scoring strictly higher (ties
// count in the target's favour).
#include <ATen/core/Tensor.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

struct CirrHitCounts {
  int64_t queries = 0;
  std::array<int64_t, kRecallAt.size()> recall{};
  std::array<int64_t, kSubsetRecallAt.size()> subset{};
};

// Adds the hits of `triplets[first + i]` for each row i of `scores` ([q, gallery]).
void count_cirr_hits(const at::Tensor& scores, const std::vector<CirrTriplet>& triplets, int64_t first,
                     CirrHitCounts& counts);

// Metrics in percent ("R@1" ... "R@50", "Rsubset@1" ... "Rsubset@3", and "Avg", the
// CIRR leaderboard's (R@5 + Rsubset@1) / 2) for all triplets,
// given the whole gallery's embeddings (every rank) and the embeddings of this rank's
// shard of the queries (shard_range over the triplets).
std::map<std::string, double> cirr_metrics(Communicator& comm, const std::vector<CirrTriplet>& triplets,
                                           const at::Tensor& gallery, const at::Tensor& local_queries);

}  // namespace spn
