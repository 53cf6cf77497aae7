#pragma once
// What the retrieval protocols share: scoring this rank's queries against the whole
// gallery in chunks, and averaging per-query values over all ranks' queries.
#include <ATen/core/Tensor.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace spn {

// Calls visit(query, row) for each of this rank's queries (query = global index:
// `first` + local row), `row` pointing at its gallery.size(0) float scores. The gallery
// is one vector per image [N, D] or a token set per image [N, T, D] (SPRC), scored by
// its best token (max_token_similarity): every protocol's metrics and submission files
// score through here.
void for_each_score_row(const at::Tensor& local_queries, const at::Tensor& gallery, int64_t first,
                        const std::function<void(int64_t, const float*)>& visit);

// Each value summed over all ranks (every rank passes the same names).
std::map<std::string, double> sum_over_ranks(Communicator& comm, const std::map<std::string, double>& values);

// Whether gallery image `index` scoring `score` ranks above the target, image
// `target_index` scoring `target`. NaN ranks last: a NaN target is beaten by every
// candidate and a NaN candidate beats no number, so a diverged model never scores a hit.
// Ties go by gallery index, as a stable sort of the scores orders them (the reference
// code's argsort): a collapsed model whose scores all tie scores about 1/N, not 100.
inline bool ranks_above(float score, int64_t index, float target, int64_t target_index) {
  if (std::isnan(target)) return true;
  if (std::isnan(score)) return false;
  return score > target || (score == target && index < target_index);
}

// Gallery indices by decreasing score (NaN last), ties by index, `excluded` left out;
// the first k.
std::vector<int64_t> top_indices(const float* row, int64_t gallery, int64_t k, const std::vector<int64_t>& excluded);

}  // namespace spn
