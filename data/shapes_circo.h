#pragma once
// A CIRCO-style split of the built-in benchmark: queries with several ground truths, in
// CIRCO's file layout, so load_circo_split (data/circo.h) reads it and CIRCO's protocol
// (mAP@K over every ground truth) runs offline.
//
//   <root>/annotations/val.json    [{id, reference_img_id, target_img_id, gt_img_ids,
//                                    relative_caption, shared_concept}]
//   <root>/annotations/test.json   the same without target_img_id and gt_img_ids
//   <root>/COCO2017_unlabeled/annotations/image_info_unlabeled2017.json
//   <root>/COCO2017_unlabeled/unlabeled2017/<12-digit id>.png
//   <root>/descriptions.json       {"<image id>": its inventory}
//   <root>/generator.json          fingerprint; written last
//
// A query is a reference scene and a modification that changes what the scene holds
// (never a move). Its target description is the target's inventory
// (shapes::describe_inventory: its objects, not where they are; written as
// shared_concept), and its ground truths are every gallery image with that inventory,
// the target first and the others in gallery order: as in CIRCO, images that fit the
// query but are not the one annotated target. One gallery serves both splits; for each
// query it holds the reference, the target, 1-3 rearrangements of the target (further
// ground truths), a rearrangement of the reference and two other modifications of the
// reference (hard negatives), in a shuffled order. Image ids are gallery positions + 1.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/data_config.h"
#include "data/shapes_scene.h"
#include "dist/communicator.h"

namespace spn {

struct ShapesCircoQuery {
  int64_t reference;  // gallery indices
  int64_t target;
  std::string caption;
  std::string target_description;
  std::vector<int64_t> ground_truth;  // the target first
};

struct ShapesCircoPlan {
  std::vector<shapes::Scene> gallery;
  std::vector<ShapesCircoQuery> val;
  std::vector<ShapesCircoQuery> test;
};

// `queries` per split, from [data.shapes]'s seed (streams of their own: the benchmark's
// train and val splits are unchanged).
ShapesCircoPlan plan_shapes_circo(const ShapesConfig& shapes, int64_t queries);

// Gallery index -> the image id in the files.
inline int64_t shapes_circo_image_id(int64_t gallery_index) { return gallery_index + 1; }

// Makes sure `root` holds the split for these settings (data/generated_dataset.h), the
// images rendered as image_size-pixel PNGs, sharded across ranks; `key` names root in
// errors. Returns true when it generated.
bool ensure_shapes_circo(Communicator& comm, const ShapesConfig& shapes, int64_t queries,
                         const std::filesystem::path& root, const std::string& key, bool show_progress);

}  // namespace spn
