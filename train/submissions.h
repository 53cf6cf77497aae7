#pragma once
// Test-server submission files, from the whole gallery's and all queries' embeddings:
//   CIRR (cirr.cs.umd.edu): {"version": "rc2", "metric": "recall", "<pairid>": [50
//     image names]} and the same with "metric": "recall_subset" and the 3 best
//     img_set members; the reference is never listed, as CIRR's evaluation removes it.
//   CIRCO (circo.micc.unifi.it): {"<id>": [50 COCO image ids]}.
#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>

#include "data/cirr.h"

namespace spn {

nlohmann::json cirr_submission(const CirrSplit& split, const at::Tensor& gallery, const at::Tensor& queries,
                               bool subset);

nlohmann::json circo_submission(const CirrSplit& split, const at::Tensor& gallery, const at::Tensor& queries,
                                bool remove_reference);

}  // namespace spn
