#include "data/circo.h"

#include <map>

#include "core/error.h"
#include "data/annotation_json.h"

namespace spn {

using nlohmann::json;

CirrSplit load_circo_split(const std::filesystem::path& root, const std::string& split_name) {
  CirrSplit split;
  split.name = split_name;
  split.root = root;
  split.format = AnnotationFormat::kCirco;
  const auto info_file = root / "COCO2017_unlabeled" / "annotations" / "image_info_unlabeled2017.json";
  const json info = parse_annotation_file(info_file);
  if (!info.is_object() || !info.contains("images") || !info["images"].is_array())
    throw UserError(info_file.string() + ": expected {\"images\": [{\"id\", \"file_name\"}, ...]}");
  const std::unordered_map<std::string, int64_t> no_images;
  for (size_t i = 0; i < info["images"].size(); ++i) {
    const AnnotationItem image(info_file, i, info["images"][i], "id", no_images, split_name);
    const std::string name = std::to_string(image.integer("id"));
    if (!split.index_of.emplace(name, static_cast<int64_t>(split.images.size())).second)
      image.fail("image id listed twice");
    split.images.push_back(name);
    split.relative_paths.push_back("COCO2017_unlabeled/unlabeled2017/" + image.text("file_name"));
  }

  const auto annotations = root / "annotations" / (split_name + ".json");
  const json items = parse_annotation_file(annotations);
  if (!items.is_array()) throw UserError(annotations.string() + ": expected an array of queries");
  std::map<int64_t, size_t> first_item_of_id;
  for (size_t i = 0; i < items.size(); ++i) {
    const AnnotationItem item(annotations, i, items[i], "id", split.index_of, split.name);
    CirrTriplet query;
    query.pairid = item.integer("id");
    auto [previous, inserted] = first_item_of_id.emplace(query.pairid, i);
    if (!inserted) item.fail("duplicate id, first used by item " + std::to_string(previous->second));
    query.reference = item.image(std::to_string(item.integer("reference_img_id")), "reference_img_id");
    query.caption = item.text("relative_caption");
    if (item.has("target_img_id")) {
      query.target = item.image(std::to_string(item.integer("target_img_id")), "target_img_id");
      const json& ground_truth = item.field("gt_img_ids");
      if (!ground_truth.is_array() || ground_truth.empty() || !ground_truth[0].is_number_integer() ||
          item.image(std::to_string(ground_truth[0].get<int64_t>()), "gt_img_ids[0]") != query.target)
        item.fail("gt_img_ids must be a list of image ids starting with target_img_id");
      for (size_t g = 1; g < ground_truth.size(); ++g) {
        if (!ground_truth[g].is_number_integer()) item.fail("gt_img_ids must hold integer image ids");
        query.equally_good_targets.push_back(
            item.image(std::to_string(ground_truth[g].get<int64_t>()), "gt_img_ids member"));
      }
    }
    split.triplets.push_back(std::move(query));
  }
  return split;
}

}  // namespace spn
