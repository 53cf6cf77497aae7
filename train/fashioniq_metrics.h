#pragma once
// The FashionIQ protocol as CLIP4CIR's validate.py computes it: each category's
// queries retrieve from that category's gallery; Recall@10 and @50 per category, their
// means over categories, and Avg = (R@10 + R@50) / 2. CLIP4CIR keeps the reference
// image in the gallery; `remove_reference` leaves it out, as some codebases do. A
// target's rank is the number of other candidates scoring strictly higher.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

// Metrics in percent: "<category>/R@10", "<category>/R@50", "R@10", "R@50", "Avg",
// given the whole gallery's embeddings (every rank) and this rank's shard of the
// queries (shard_range over split.triplets).
std::map<std::string, double> fashioniq_metrics(Communicator& comm, const CirrSplit& split, const at::Tensor& gallery,
                                                const at::Tensor& local_queries, bool remove_reference);

}  // namespace spn
