#include "data/cirr.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/files.h"
#include "data/annotation_json.h"

namespace spn {

using nlohmann::json;

CirrSplit load_cirr_split(const fs::path& root, const std::string& split_name) {
  CirrSplit split;
  split.name = split_name;
  split.root = root;

  const fs::path split_file = root / "image_splits" / ("split.rc2." + split_name + ".json");
  const json names = parse_annotation_file(split_file);
  if (!names.is_object()) throw UserError(split_file.string() + ": expected an object {image name: path}");
  for (const auto& [name, path] : names.items()) {
    if (!path.is_string()) throw UserError(split_file.string() + ": image '" + name + "': path must be a string");
    split.index_of.emplace(name, static_cast<int64_t>(split.images.size()));
    split.images.push_back(name);
    split.relative_paths.push_back(path.get<std::string>());
  }

  split.triplets = load_cirr_triplets(root / "captions" / ("cap.rc2." + split_name + ".json"), split);
  return split;
}

std::vector<CirrTriplet> load_cirr_triplets(const fs::path& captions_file, const CirrSplit& split) {
  std::vector<CirrTriplet> triplets;
  const json items = parse_annotation_file(captions_file);
  if (!items.is_array()) throw UserError(captions_file.string() + ": expected an array of triplets");
  std::map<int64_t, size_t> first_item_of_pairid;
  for (size_t i = 0; i < items.size(); ++i) {
    const AnnotationItem item(captions_file, i, items[i], "pairid", split.index_of, split.name);
    CirrTriplet triplet;
    triplet.pairid = item.integer("pairid");
    auto [previous, inserted] = first_item_of_pairid.emplace(triplet.pairid, i);
    if (!inserted) item.fail("duplicate pairid, first used by item " + std::to_string(previous->second));
    triplet.reference = item.image(item.text("reference"), "reference");
    if (item.has("target_hard")) triplet.target = item.image(item.text("target_hard"), "target_hard");
    // A list is several texts for one triplet (SPN4CIR's generated files, one per
    // template): evaluation reads the first, training draws one per step.
    const json& caption = item.field("caption");
    if (caption.is_array()) {
      if (caption.empty()) item.fail("field 'caption' must be a string or a non-empty list of strings");
      for (const json& text : caption) {
        if (!text.is_string()) item.fail("field 'caption' must be a string or a non-empty list of strings");
        triplet.captions.push_back(text.get<std::string>());
      }
      triplet.caption = triplet.captions.front();
      if (triplet.captions.size() == 1) triplet.captions.clear();
    } else {
      triplet.caption = item.text("caption");
    }
    if (item.has("target_soft")) {
      const json& soft = items[i]["target_soft"];
      if (!soft.is_object()) item.fail("field 'target_soft' must be an object {image name: score}");
      for (const auto& [name, score] : soft.items()) {
        if (!score.is_number()) item.fail("target_soft['" + name + "'] must be a number");
        const int64_t image = item.image(name, "target_soft image");
        if (score.get<double>() == 1.0 && image != triplet.target) triplet.equally_good_targets.push_back(image);
      }
    }
    const json& img_set = item.field("img_set");
    if (!img_set.is_object() || !img_set.contains("members") || !img_set["members"].is_array())
      item.fail("field 'img_set' must be an object with a 'members' array");
    for (const json& member : img_set["members"]) {
      if (!member.is_string()) item.fail("img_set.members must hold image names");
      triplet.members.push_back(item.image(member.get<std::string>(), "img_set member"));
    }
    triplets.push_back(std::move(triplet));
  }
  return triplets;
}

}  // namespace spn
