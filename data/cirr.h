#pragma once
// CIRR-format annotations: one loader for the built-in benchmark and for real CIRR.
// CirrSplit is also the in-memory form of the other formats' splits (FashionIQ,
// CIRCO: data/fashioniq.h, data/circo.h), so training and evaluation serve all.
//   captions/cap.rc2.<split>.json      [{pairid, reference, target_hard, caption,
//                                        target_soft: {name: score} (optional),
//                                        img_set: {members: [...]}}, ...]
//   (caption may be a list of texts, as in SPN4CIR's generated files: CirrTriplet::captions)
//   image_splits/split.rc2.<split>.json {image name: relative path}
// test1 has no target_hard; such triplets have an empty target.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/protocol.h"

namespace spn {

struct CirrTriplet {
  int64_t pairid = 0;
  int64_t reference = -1;  // index into CirrSplit::images
  int64_t target = -1;     // -1 when the split has no targets (test1)
  std::string caption;
  // Other images the annotators judged to match as well as the target (target_soft
  // score 1.0; CIRR marks partial matches 0.5 and non-matches -1, which are not kept).
  std::vector<int64_t> equally_good_targets;
  std::vector<int64_t> members;  // img_set members (indices), reference included as in CIRR
  int64_t category = -1;         // FashionIQ: index into CirrSplit::categories
  // Training texts drawn from at random per step instead of `caption` (FashionIQ: the
  // four joins of the two annotators' captions CLIP4CIR trains with, data/fashioniq.h;
  // a generated triplet: one text per template, train/positive_scaling.h). Empty: `caption`.
  std::vector<std::string> captions;
  // A second evaluation text: the query embedding is then the normalised mean of the
  // two texts' (FashionIQ under caption_join "both_orders": the captions' other order).
  std::string second_caption;
};

struct CirrSplit {
  std::string name;
  std::filesystem::path root;
  std::vector<std::string> images;          // the split's gallery, in file order
  std::vector<std::string> relative_paths;  // parallel to images
  std::unordered_map<std::string, int64_t> index_of;
  std::vector<CirrTriplet> triplets;
  AnnotationFormat format = AnnotationFormat::kCirr;
  // FashionIQ: category names, and each category's gallery (its split's images).
  std::vector<std::string> categories;
  std::vector<std::vector<int64_t>> category_images;

  std::filesystem::path image_path(int64_t index) const { return root / relative_paths[index]; }
};

// Loads and validates one split. Errors (UserError) name the file and the item:
// missing fields, wrong types, unknown image names, duplicate pairids, bad JSON.
CirrSplit load_cirr_split(const std::filesystem::path& root, const std::string& split);

// The triplets of a CIRR-format captions file whose images are `split`'s (e.g. the
// generated triplets of positive scaling), validated the same way.
std::vector<CirrTriplet> load_cirr_triplets(const std::filesystem::path& captions_file, const CirrSplit& split);

}  // namespace spn
