#include "data/cirr.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

using nlohmann::json;

// 1-based line of a byte offset, for JSON syntax errors.
size_t line_of(const std::string& text, size_t offset) {
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n'));
}

json parse_json_file(const fs::path& path) {
  if (!fs::exists(path)) throw UserError(path.string() + ": annotation file not found");
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& error) {
    throw UserError(path.string() + ":" + std::to_string(line_of(text, error.byte)) + ": invalid JSON (" +
                    error.what() + ")");
  }
}

class ItemReader {
 public:
  ItemReader(const fs::path& file, size_t index, const json& item, const CirrSplit& split)
      : file_(file), index_(index), item_(item), split_(split) {
    if (!item.is_object()) fail("expected an object");
    if (item.contains("pairid") && item["pairid"].is_number_integer())
      label_ = " (pairid " + std::to_string(item["pairid"].get<int64_t>()) + ")";
  }

  const json& field(const char* key) const {
    if (!item_.contains(key)) fail(std::string("missing field '") + key + "'");
    return item_[key];
  }
  int64_t integer(const char* key) const {
    const json& value = field(key);
    if (!value.is_number_integer()) fail(std::string("field '") + key + "' must be an integer");
    return value.get<int64_t>();
  }
  std::string text(const char* key) const {
    const json& value = field(key);
    if (!value.is_string()) fail(std::string("field '") + key + "' must be a string");
    return value.get<std::string>();
  }
  int64_t image(const std::string& name, const char* role) const {
    auto found = split_.index_of.find(name);
    if (found == split_.index_of.end())
      fail(std::string(role) + " '" + name + "' is not an image of split '" + split_.name + "'");
    return found->second;
  }
  [[noreturn]] void fail(const std::string& message) const {
    throw UserError(file_.string() + ": item " + std::to_string(index_) + label_ + ": " + message);
  }

 private:
  const fs::path& file_;
  size_t index_;
  const json& item_;
  const CirrSplit& split_;
  std::string label_;
};

}  // namespace

bool CirrSplit::has_targets() const {
  return !triplets.empty() && std::all_of(triplets.begin(), triplets.end(), [](const CirrTriplet& t) {
    return t.target >= 0;
  });
}

CirrSplit load_cirr_split(const fs::path& root, const std::string& split_name) {
  CirrSplit split;
  split.name = split_name;
  split.root = root;

  const fs::path split_file = root / "image_splits" / ("split.rc2." + split_name + ".json");
  const json names = parse_json_file(split_file);
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
  const json items = parse_json_file(captions_file);
  if (!items.is_array()) throw UserError(captions_file.string() + ": expected an array of triplets");
  std::map<int64_t, size_t> first_item_of_pairid;
  for (size_t i = 0; i < items.size(); ++i) {
    const ItemReader item(captions_file, i, items[i], split);
    CirrTriplet triplet;
    triplet.pairid = item.integer("pairid");
    auto [previous, inserted] = first_item_of_pairid.emplace(triplet.pairid, i);
    if (!inserted) item.fail("duplicate pairid, first used by item " + std::to_string(previous->second));
    triplet.reference = item.image(item.text("reference"), "reference");
    if (items[i].contains("target_hard")) triplet.target = item.image(item.text("target_hard"), "target_hard");
    triplet.caption = item.text("caption");
    if (items[i].contains("target_soft")) {
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
