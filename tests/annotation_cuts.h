#pragma once
// Small datasets cut from the real CIRR, FashionIQ and CIRCO annotation files in ../shared
// (which hold val and test1 only, CIRCO val only): consecutive entries of a shipped split become the cut's
// train, val or test1 split, with an image split listing exactly the images those entries
// name, and an 8x8 placeholder PNG for each. Experiments then run on the real files'
// formats, names and captions without the images.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "data/circo.h"
#include "data/cirr.h"
#include "data/fashioniq.h"
#include "test_models.h"

namespace spn::testing {

struct AnnotationCut {
  std::string source_split;  // the shipped split the entries come from
  std::string split;         // the cut's name for them
  size_t begin = 0, count = 0;
};

inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// CIRR: captions/cap.rc2.<split>.json and image_splits/split.rc2.<split>.json per cut,
// the images every kept entry names (reference, target, img_set members, soft targets).
inline void write_cirr_cut(const std::filesystem::path& shared, const std::filesystem::path& root,
                           const std::vector<AnnotationCut>& cuts) {
  for (const AnnotationCut& cut : cuts) {
    const nlohmann::json entries = read_json_file(shared / "captions" / ("cap.rc2." + cut.source_split + ".json"));
    const nlohmann::json paths = read_json_file(shared / "image_splits" / ("split.rc2." + cut.source_split + ".json"));
    nlohmann::json kept = nlohmann::json::array();
    std::set<std::string> names;
    for (size_t i = cut.begin; i < cut.begin + cut.count && i < entries.size(); ++i) {
      const nlohmann::json& entry = entries[i];
      kept.push_back(entry);
      names.insert(entry["reference"].get<std::string>());
      if (entry.contains("target_hard")) names.insert(entry["target_hard"].get<std::string>());
      for (const auto& member : entry["img_set"]["members"]) names.insert(member.get<std::string>());
      if (entry.contains("target_soft"))
        for (const auto& [name, score] : entry["target_soft"].items()) names.insert(name);
    }
    nlohmann::json split = nlohmann::json::object();
    for (const std::string& name : names) split[name] = paths.at(name);
    std::filesystem::create_directories(root / "captions");
    std::filesystem::create_directories(root / "image_splits");
    write_file_atomic(root / "captions" / ("cap.rc2." + cut.split + ".json"), kept.dump());
    write_file_atomic(root / "image_splits" / ("split.rc2." + cut.split + ".json"), split.dump());
    write_placeholder_images(load_cirr_split(root, cut.split));
  }
}

// FashionIQ: per category, captions/cap.<category>.<split>.json and
// image_splits/split.<category>.<split>.json with the candidates and targets kept.
inline void write_fashioniq_cut(const std::filesystem::path& shared, const std::filesystem::path& root,
                                const std::vector<std::string>& categories, const std::vector<AnnotationCut>& cuts) {
  std::filesystem::create_directories(root / "captions");
  std::filesystem::create_directories(root / "image_splits");
  for (const AnnotationCut& cut : cuts) {
    for (const std::string& category : categories) {
      const nlohmann::json entries =
          read_json_file(shared / "captions" / ("cap." + category + "." + cut.source_split + ".json"));
      nlohmann::json kept = nlohmann::json::array();
      std::set<std::string> names;
      for (size_t i = cut.begin; i < cut.begin + cut.count && i < entries.size(); ++i) {
        kept.push_back(entries[i]);
        names.insert(entries[i]["candidate"].get<std::string>());
        names.insert(entries[i]["target"].get<std::string>());
      }
      write_file_atomic(root / "captions" / ("cap." + category + "." + cut.split + ".json"), kept.dump());
      write_file_atomic(root / "image_splits" / ("split." + category + "." + cut.split + ".json"),
                        nlohmann::json(std::vector<std::string>(names.begin(), names.end())).dump());
    }
    FashionIqOptions options;
    options.categories = categories;
    write_placeholder_images(load_fashioniq_split(root, cut.split, options));
  }
}

// COCO's index of the unlabeled images CIRCO ranks, under `root`: `ids` named as COCO
// names them (000000xxxxxx.jpg).
inline void write_circo_image_index(const std::filesystem::path& root, const std::set<int64_t>& ids) {
  nlohmann::json info = {{"images", nlohmann::json::array()}};
  for (int64_t id : ids) {
    char name[32];
    std::snprintf(name, sizeof name, "%012lld.jpg", static_cast<long long>(id));
    info["images"].push_back({{"id", id}, {"file_name", name}});
  }
  std::filesystem::create_directories(root / "COCO2017_unlabeled" / "annotations");
  write_file_atomic(root / "COCO2017_unlabeled" / "annotations" / "image_info_unlabeled2017.json", info.dump());
}

// CIRCO: annotations/<split>.json per cut, COCO's image index listing exactly the images
// the kept queries name (reference and ground truths) as COCO2017_unlabeled/unlabeled2017
// files. A cut named "test" drops the targets from its queries, as CIRCO's test.json has
// none; its ground truths stay in the gallery.
inline void write_circo_cut(const std::filesystem::path& shared, const std::filesystem::path& root,
                            const std::vector<AnnotationCut>& cuts) {
  std::set<int64_t> ids;
  std::filesystem::create_directories(root / "annotations");
  for (const AnnotationCut& cut : cuts) {
    const nlohmann::json entries = read_json_file(shared / "annotations" / (cut.source_split + ".json"));
    nlohmann::json kept = nlohmann::json::array();
    for (size_t i = cut.begin; i < cut.begin + cut.count && i < entries.size(); ++i) {
      nlohmann::json entry = entries[i];
      ids.insert(entry["reference_img_id"].get<int64_t>());
      for (const auto& id : entry["gt_img_ids"]) ids.insert(id.get<int64_t>());
      if (cut.split == "test") {
        entry.erase("target_img_id");
        entry.erase("gt_img_ids");
      }
      kept.push_back(entry);
    }
    write_file_atomic(root / "annotations" / (cut.split + ".json"), kept.dump());
  }
  write_circo_image_index(root, ids);
  for (const AnnotationCut& cut : cuts) write_placeholder_images(load_circo_split(root, cut.split));
}

}  // namespace spn::testing
