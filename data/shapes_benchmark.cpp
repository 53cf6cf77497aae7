#include "data/shapes_benchmark.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/progress.h"
#include "core/visible_path.h"
#include "data/shapes_render.h"
#include "dist/sharding.h"

namespace spn {
namespace {

constexpr const char* kGeneratorVersion = "spn shapes benchmark v1";
constexpr int kImagesPerFolder = 1000;

std::string image_name(const char* prefix, size_t index) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s-%07zu", prefix, index);
  return buffer;
}

ShapesImage make_image(const char* prefix, const char* folder, size_t index, shapes::Scene scene) {
  ShapesImage image;
  image.name = image_name(prefix, index);
  image.relative_path =
      "./" + std::string(folder) + "/" + std::to_string(index / kImagesPerFolder) + "/" + image.name + ".png";
  image.scene = std::move(scene);
  return image;
}

// A modification of `reference` whose result is none of `avoid` (bounded retries: a
// scene always has several distinct modifications, so this ends in practice).
shapes::Modification distinct_modification(const shapes::Scene& reference, const std::vector<shapes::Scene>& avoid,
                                           shapes::Rng& rng) {
  shapes::Modification modification = shapes::random_modification(reference, rng);
  for (int attempt = 0; attempt < 100; ++attempt) {
    bool clash = modification.target == reference;
    for (const auto& scene : avoid) clash = clash || modification.target == scene;
    if (!clash) break;
    modification = shapes::random_modification(reference, rng);
  }
  return modification;
}

nlohmann::ordered_json triplets_json(const std::vector<ShapesTriplet>& triplets, int64_t first_pairid) {
  auto out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < triplets.size(); ++i) {
    const ShapesTriplet& t = triplets[i];
    out.push_back({{"pairid", first_pairid + static_cast<int64_t>(i)},
                   {"reference", t.reference},
                   {"target_hard", t.target},
                   {"target_soft", {{t.target, 1.0}}},
                   {"caption", t.caption},
                   {"img_set", {{"id", static_cast<int64_t>(i)}, {"members", t.members}}}});
  }
  return out;
}

nlohmann::ordered_json split_json(const std::vector<ShapesImage>& images) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& image : images) out[image.name] = image.relative_path;
  return out;
}

void write_annotations(const ShapesPlan& plan, const ShapesConfig& config, const fs::path& dir) {
  write_file_atomic(dir / "captions/cap.rc2.train.json", triplets_json(plan.train_triplets, 0).dump(1) + "\n");
  write_file_atomic(dir / "captions/cap.rc2.val.json",
                    triplets_json(plan.val_triplets, static_cast<int64_t>(plan.train_triplets.size())).dump(1) + "\n");
  write_file_atomic(dir / "image_splits/split.rc2.train.json", split_json(plan.train_images).dump(1) + "\n");
  write_file_atomic(dir / "image_splits/split.rc2.val.json", split_json(plan.val_images).dump(1) + "\n");
  nlohmann::ordered_json descriptions = nlohmann::ordered_json::object();
  for (const auto* images : {&plan.train_images, &plan.val_images})
    for (const auto& image : *images) descriptions[image.name] = shapes::describe(image.scene);
  write_file_atomic(dir / "descriptions.json", descriptions.dump(1) + "\n");
  nlohmann::ordered_json generator = {{"generator", kGeneratorVersion},
                                      {"fingerprint", shapes_fingerprint(config)},
                                      {"train_triplets", plan.train_triplets.size()},
                                      {"val_triplets", plan.val_triplets.size()},
                                      {"train_images", plan.train_images.size()},
                                      {"val_images", plan.val_images.size()}};
  write_file_atomic(dir / "generator.json", generator.dump(1) + "\n");  // last: marks the directory complete
}

std::string recorded_fingerprint(const fs::path& root) {
  const fs::path marker = root / "generator.json";
  if (!fs::exists(marker)) return "";
  try {
    return nlohmann::json::parse(read_file(marker)).at("fingerprint").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return "";
  }
}

constexpr const char* kIncomplete = "(incomplete)";

// What `root` holds: "" (nothing), kIncomplete, or the recorded fingerprint.
std::string benchmark_state(const fs::path& root) {
  if (!visible_here(root)) return "";
  const std::string found = recorded_fingerprint(root);
  return found.empty() ? kIncomplete : found;
}

}  // namespace

std::string shapes_fingerprint(const ShapesConfig& config) {
  std::string key = kGeneratorVersion;
  for (int64_t value : {config.seed, config.train_triplets, config.val_triplets, config.extra_images, config.image_size,
                        config.set_size})
    key += "/" + std::to_string(value);
  return hex64(fnv1a(key));
}

ShapesPlan plan_shapes_benchmark(const ShapesConfig& config) {
  ShapesPlan plan;
  // Separate streams for train and val, so changing one split's size leaves the other
  // split's content unchanged.
  shapes::Rng train_rng(mix_seed(config.seed, 1));
  for (int64_t i = 0; i < config.train_triplets; ++i) {
    shapes::Scene reference = shapes::random_scene(train_rng);
    shapes::Modification modification = distinct_modification(reference, {}, train_rng);
    const size_t base = plan.train_images.size();
    plan.train_images.push_back(make_image("shapes-train", "train", base, reference));
    plan.train_images.push_back(make_image("shapes-train", "train", base + 1, modification.target));
    plan.train_triplets.push_back({plan.train_images[base].name,
                                   plan.train_images[base + 1].name,
                                   modification.text,
                                   {plan.train_images[base].name, plan.train_images[base + 1].name}});
  }
  for (int64_t i = 0; i < config.extra_images; ++i)
    plan.train_images.push_back(
        make_image("shapes-train", "train", plan.train_images.size(), shapes::random_scene(train_rng)));

  shapes::Rng val_rng(mix_seed(config.seed, 2));
  for (int64_t i = 0; i < config.val_triplets; ++i) {
    const shapes::Scene reference = shapes::random_scene(val_rng);
    std::vector<shapes::Scene> members = {reference};
    std::string caption;
    while (static_cast<int64_t>(members.size()) < config.set_size) {
      shapes::Modification modification = distinct_modification(reference, members, val_rng);
      if (members.size() == 1) caption = modification.text;  // the first modification is the query's target
      members.push_back(modification.target);
    }
    ShapesTriplet triplet;
    triplet.caption = caption;
    for (auto& scene : members) {
      plan.val_images.push_back(make_image("shapes-dev", "dev", plan.val_images.size(), std::move(scene)));
      triplet.members.push_back(plan.val_images.back().name);
    }
    triplet.reference = triplet.members[0];
    triplet.target = triplet.members[1];
    plan.val_triplets.push_back(std::move(triplet));
  }
  return plan;
}

bool ensure_shapes_benchmark(Communicator& comm, const ShapesConfig& config, const fs::path& root, bool show_progress) {
  const std::string fingerprint = shapes_fingerprint(config);
  // Rank 0 looks, so every rank takes the same branch.
  const std::string found = broadcast_string(comm, comm.rank() == 0 ? benchmark_state(root) : "", 0);
  if (!found.empty()) {
    if (found == fingerprint) return false;
    if (found == kIncomplete)
      throw UserError("data.root: " + root.string() +
                      " exists but is not a complete built-in benchmark (no generator.json); "
                      "remove it or choose another data.root");
    throw UserError("data.root: " + root.string() +
                    " holds a benchmark generated with other [data.shapes] settings "
                    "(fingerprint " +
                    found + ", these settings give " + fingerprint +
                    "); choose another data.root or remove that directory");
  }

  const ShapesPlan plan = plan_shapes_benchmark(config);
  const fs::path staging = root.string() + ".partial";
  if (comm.rank() == 0) {
    fs::remove_all(staging);  // leftovers of a generation that was killed
    make_directories(staging);
  }
  comm.barrier();

  // Images are numbered train first, then val; each rank renders its contiguous shard.
  const int64_t total = static_cast<int64_t>(plan.train_images.size() + plan.val_images.size());
  const ShardRange mine = shard_range(total, comm.size(), comm.rank());
  Progress progress("generating benchmark", mine.size(), show_progress);
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    const size_t n_train = plan.train_images.size();
    const ShapesImage& image = i < static_cast<int64_t>(n_train) ? plan.train_images[i] : plan.val_images[i - n_train];
    const fs::path path = staging / image.relative_path;
    make_directories(path.parent_path());
    write_png(path, shapes::render_scene(image.scene, static_cast<int>(config.image_size)));
    progress.update(i - mine.begin + 1);
  }
  progress.finish();
  comm.barrier();
  if (comm.rank() == 0) {
    write_annotations(plan, config, staging);
    fs::rename(staging, root);
  }
  comm.barrier();
  return true;
}

}  // namespace spn
