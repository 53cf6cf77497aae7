#include "train/submissions.h"

#include <algorithm>

#include "train/query_scores.h"

namespace spn {
namespace {

constexpr int64_t kListed = 50;
constexpr int64_t kListedSubset = 3;

}  // namespace

nlohmann::json cirr_submission(const CirrSplit& split, const at::Tensor& gallery, const at::Tensor& queries,
                               bool subset) {
  nlohmann::json out = {{"version", "rc2"}, {"metric", subset ? "recall_subset" : "recall"}};
  for_each_score_row(queries, gallery, 0, [&](int64_t query, const float* row) {
    const CirrTriplet& triplet = split.triplets[query];
    std::vector<int64_t> ranked;
    if (subset) {
      for (int64_t member : triplet.members) {
        if (member != triplet.reference) ranked.push_back(member);
      }
      std::stable_sort(ranked.begin(), ranked.end(), [&](int64_t a, int64_t b) { return row[a] > row[b]; });
      ranked.resize(std::min<size_t>(ranked.size(), kListedSubset));
    } else {
      ranked = top_indices(row, gallery.size(0), kListed, {triplet.reference});
    }
    nlohmann::json names = nlohmann::json::array();
    for (int64_t image : ranked) names.push_back(split.images[image]);
    out[std::to_string(triplet.pairid)] = names;
  });
  return out;
}

nlohmann::json circo_submission(const CirrSplit& split, const at::Tensor& gallery, const at::Tensor& queries,
                                bool remove_reference) {
  nlohmann::json out = nlohmann::json::object();
  for_each_score_row(queries, gallery, 0, [&](int64_t query, const float* row) {
    const CirrTriplet& triplet = split.triplets[query];
    const auto excluded = remove_reference ? std::vector<int64_t>{triplet.reference} : std::vector<int64_t>{};
    nlohmann::json ids = nlohmann::json::array();
    for (int64_t image : top_indices(row, gallery.size(0), kListed, excluded))
      ids.push_back(std::stoll(split.images[image]));
    out[std::to_string(triplet.pairid)] = ids;
  });
  return out;
}

}  // namespace spn
