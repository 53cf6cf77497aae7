#pragma once
// The CIRCO protocol as its official evaluation (miccunifi/CIRCO src/evaluation.py)
// computes it from each query's top 50: mAP@K over all ground-truth images, with
// min(|GT|, K) in the denominator, and Recall@K of the single target, K = 5, 10, 25,
// 50. The official script scores the ranked lists it is given; spn ranks the whole
// gallery, leaving the reference out when `remove_reference`.
#include <ATen/core/Tensor.h>

#include <array>
#include <map>
#include <string>

#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

// Metrics in percent: "mAP@5" ... "mAP@50", "R@5" ... "R@50".
std::map<std::string, double> circo_metrics(Communicator& comm, const CirrSplit& split, const at::Tensor& gallery,
                                            const at::Tensor& local_queries, bool remove_reference);

}  // namespace spn
