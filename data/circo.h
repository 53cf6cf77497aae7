#pragma once
// CIRCO annotations (Baldrati et al. 2023) as a CirrSplit:
//   annotations/<split>.json  [{id, reference_img_id, target_img_id, gt_img_ids,
//                               relative_caption, shared_concept, ...}]
//   COCO2017_unlabeled/annotations/image_info_unlabeled2017.json
//                             {"images": [{"id", "file_name"}, ...]}: the gallery
//   COCO2017_unlabeled/unlabeled2017/<file_name>
// Image names are the COCO ids as text. A query's ground truth is its target plus
// equally_good_targets (gt_img_ids); test queries have neither.
#include <filesystem>
#include <string>

#include "data/cirr.h"

namespace spn {

// Errors (UserError) name the file and the item (with its id).
CirrSplit load_circo_split(const std::filesystem::path& root, const std::string& split);

}  // namespace spn
