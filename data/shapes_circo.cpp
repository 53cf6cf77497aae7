#include "data/shapes_circo.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>

#include "core/files.h"
#include "core/hash.h"
#include "core/progress.h"
#include "core/random.h"
#include "data/generated_dataset.h"
#include "data/image_io.h"
#include "data/shapes_render.h"
#include "dist/sharding.h"

namespace spn {
namespace {

constexpr const char* kCircoGeneratorVersion = "spn shapes circo v1";
// Seed streams: the benchmark's train and val splits use 1 and 2 (data/shapes_plan.cpp).
constexpr uint64_t kCircoValStream = 3, kCircoTestStream = 4, kCircoOrderStream = 5;
constexpr int kCircoHardNegatives = 2;
constexpr int kMaxRearrangedTargets = 3;

// A modification that changes the reference's inventory: a move only relocates.
shapes::Modification inventory_change(const shapes::Scene& reference, shapes::Rng& rng) {
  shapes::Modification modification = shapes::random_modification(reference, rng);
  while (modification.kind == shapes::ModificationKind::Move)
    modification = shapes::random_modification(reference, rng);
  return modification;
}

// Appends a split's queries and their gallery scenes (in planning order; shuffled later).
void plan_circo_queries(int64_t count, shapes::Rng& rng, std::vector<shapes::Scene>& gallery,
                        std::vector<ShapesCircoQuery>& queries) {
  for (int64_t i = 0; i < count; ++i) {
    const shapes::Scene reference = shapes::random_scene(rng);
    const shapes::Modification modification = inventory_change(reference, rng);
    ShapesCircoQuery query;
    query.reference = static_cast<int64_t>(gallery.size());
    gallery.push_back(reference);
    query.target = static_cast<int64_t>(gallery.size());
    gallery.push_back(modification.target);
    query.caption = modification.text;
    query.target_description = shapes::describe_inventory(modification.target);
    const int rearrangements = 1 + shapes::uniform_index(rng, kMaxRearrangedTargets);
    for (int r = 0; r < rearrangements; ++r) gallery.push_back(shapes::rearranged(modification.target, rng));
    gallery.push_back(shapes::rearranged(reference, rng));
    for (int n = 0; n < kCircoHardNegatives; ++n) gallery.push_back(shapes::random_modification(reference, rng).target);
    queries.push_back(std::move(query));
  }
}

std::string circo_image_file_name(int64_t gallery_index) {
  char name[32];
  std::snprintf(name, sizeof name, "%012lld.png", static_cast<long long>(shapes_circo_image_id(gallery_index)));
  return name;
}

std::string circo_fingerprint(const ShapesConfig& shapes, int64_t queries) {
  return hex64(fnv1a(std::string(kCircoGeneratorVersion) + "/" + std::to_string(shapes.seed) + "/" +
                     std::to_string(queries) + "/" + std::to_string(shapes.image_size)));
}

nlohmann::ordered_json circo_queries_json(const std::vector<ShapesCircoQuery>& queries, bool with_ground_truth) {
  auto out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < queries.size(); ++i) {
    const ShapesCircoQuery& q = queries[i];
    nlohmann::ordered_json item = {{"id", static_cast<int64_t>(i)},
                                   {"reference_img_id", shapes_circo_image_id(q.reference)}};
    if (with_ground_truth) {
      item["target_img_id"] = shapes_circo_image_id(q.target);
      auto ids = nlohmann::ordered_json::array();
      for (int64_t g : q.ground_truth) ids.push_back(shapes_circo_image_id(g));
      item["gt_img_ids"] = ids;
    }
    item["relative_caption"] = q.caption;
    item["shared_concept"] = q.target_description;
    out.push_back(std::move(item));
  }
  return out;
}

void write_circo_annotations(const ShapesCircoPlan& plan, const std::string& fingerprint, const fs::path& dir) {
  write_file_atomic(dir / "annotations/val.json", circo_queries_json(plan.val, true).dump(1) + "\n");
  write_file_atomic(dir / "annotations/test.json", circo_queries_json(plan.test, false).dump(1) + "\n");
  nlohmann::ordered_json images = nlohmann::ordered_json::array();
  nlohmann::ordered_json descriptions = nlohmann::ordered_json::object();
  for (size_t g = 0; g < plan.gallery.size(); ++g) {
    const int64_t index = static_cast<int64_t>(g);
    images.push_back({{"id", shapes_circo_image_id(index)}, {"file_name", circo_image_file_name(index)}});
    descriptions[std::to_string(shapes_circo_image_id(index))] = shapes::describe_inventory(plan.gallery[g]);
  }
  write_file_atomic(dir / "COCO2017_unlabeled/annotations/image_info_unlabeled2017.json",
                    nlohmann::ordered_json{{"images", images}}.dump(1) + "\n");
  write_file_atomic(dir / "descriptions.json", descriptions.dump(1) + "\n");
  const nlohmann::ordered_json generator = {{"generator", kCircoGeneratorVersion},
                                            {"fingerprint", fingerprint},
                                            {"val_queries", plan.val.size()},
                                            {"test_queries", plan.test.size()},
                                            {"gallery_images", plan.gallery.size()}};
  write_file_atomic(dir / "generator.json", generator.dump(1) + "\n");  // last: marks the directory complete
}

}  // namespace

ShapesCircoPlan plan_shapes_circo(const ShapesConfig& shapes, int64_t queries) {
  ShapesCircoPlan plan;
  const uint64_t seed = static_cast<uint64_t>(shapes.seed);
  shapes::Rng val_rng(mix_seed(seed, kCircoValStream)), test_rng(mix_seed(seed, kCircoTestStream));
  plan_circo_queries(queries, val_rng, plan.gallery, plan.val);
  plan_circo_queries(queries, test_rng, plan.gallery, plan.test);

  // Shuffle the gallery, so nothing about a query follows from where its images sit.
  const int64_t n = static_cast<int64_t>(plan.gallery.size());
  std::vector<int64_t> position(n);  // planned index -> shuffled index
  for (int64_t i = 0; i < n; ++i) position[i] = i;
  shapes::Rng order_rng(mix_seed(seed, kCircoOrderStream));
  seeded_shuffle(position, order_rng);
  std::vector<shapes::Scene> shuffled(n);
  for (int64_t i = 0; i < n; ++i) shuffled[position[i]] = std::move(plan.gallery[i]);
  plan.gallery = std::move(shuffled);

  // Ground truths over the whole gallery: every image whose inventory is the target's.
  std::multimap<std::string, int64_t> by_inventory;
  for (int64_t g = 0; g < n; ++g) by_inventory.emplace(shapes::describe_inventory(plan.gallery[g]), g);
  for (auto* split : {&plan.val, &plan.test}) {
    for (ShapesCircoQuery& query : *split) {
      query.reference = position[query.reference];
      query.target = position[query.target];
      query.ground_truth = {query.target};
      const auto [first, last] = by_inventory.equal_range(query.target_description);
      for (auto it = first; it != last; ++it)
        if (it->second != query.target) query.ground_truth.push_back(it->second);
    }
  }
  return plan;
}

bool ensure_shapes_circo(Communicator& comm, const ShapesConfig& shapes, int64_t queries, const fs::path& root,
                         const std::string& key, bool show_progress) {
  const GeneratedDataset dataset{root, "generator.json", circo_fingerprint(shapes, queries), key,
                                 "[data.shapes] or eval.circo.queries"};
  const ShapesCircoPlan plan = plan_shapes_circo(shapes, queries);
  const auto render_shard = [&](const fs::path& staging) {
    const fs::path images = staging / "COCO2017_unlabeled" / "unlabeled2017";
    make_directories(images);
    const ShardRange mine = shard_range(static_cast<int64_t>(plan.gallery.size()), comm.size(), comm.rank());
    Progress progress("generating the CIRCO-style split", mine.size(), show_progress);
    for (int64_t g = mine.begin; g < mine.end; ++g) {
      write_png(images / circo_image_file_name(g),
                shapes::render_scene(plan.gallery[g], static_cast<int>(shapes.image_size)));
      progress.update(g - mine.begin + 1);
    }
    progress.finish();
  };
  return ensure_generated_dataset(comm, dataset, render_shard, [&](const fs::path& staging) {
    write_circo_annotations(plan, dataset.fingerprint, staging);
  });
}

}  // namespace spn
