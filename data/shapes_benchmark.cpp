#include "data/shapes_benchmark.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>
#include <vector>

#include "core/files.h"
#include "core/hash.h"
#include "core/progress.h"
#include "data/generated_dataset.h"
#include "data/shapes_render.h"
#include "dist/sharding.h"

namespace spn {
namespace {

constexpr const char* kGeneratorVersion = "spn shapes benchmark v1";
// Preset "cirr"'s JPEGs: a quality and a grain that give files of photo size (tens of
// KB at 500x375) rather than the few KB flat drawings compress to.
constexpr int kJpegQuality = 90;
constexpr int kGrainAmplitude = 12;

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

}  // namespace

std::string shapes_fingerprint(const ShapesConfig& config, const CirrSizes& cirr) {
  std::string key = kGeneratorVersion;
  // Preset "none" keeps the key it had before presets existed, so its datasets are reused.
  const std::vector<int64_t> values =
      config.preset == ShapesPreset::None
          ? std::vector<int64_t>{config.seed,         config.train_triplets, config.val_triplets,
                                 config.extra_images, config.image_size,     config.set_size}
          : std::vector<int64_t>{config.seed,      cirr.train_images, cirr.train_triplets, cirr.val_images,
                                 cirr.val_queries, cirr.set_size,     cirr.width,          cirr.height,
                                 kJpegQuality,     kGrainAmplitude};
  if (config.preset != ShapesPreset::None) key += std::string("/") + choice_name(config.preset);
  for (int64_t value : values) key += "/" + std::to_string(value);
  return hex64(fnv1a(key));
}

bool ensure_shapes_benchmark(Communicator& comm, const ShapesConfig& config, const fs::path& root, bool show_progress,
                             const CirrSizes& cirr) {
  const GeneratedDataset dataset{root, "generator.json", shapes_fingerprint(config, cirr), "data.root",
                                 "[data.shapes]"};
  // Planned only when generating: reusing a benchmark costs one file read.
  std::optional<ShapesPlan> plan;
  const auto render_shard = [&](const fs::path& staging) {
    plan = plan_shapes_benchmark(config, cirr);
    // Images are numbered train first, then val; each rank renders its contiguous shard.
    const int64_t total = static_cast<int64_t>(plan->train_images.size() + plan->val_images.size());
    const ShardRange mine = shard_range(total, comm.size(), comm.rank());
    Progress progress("generating benchmark", mine.size(), show_progress);
    for (int64_t i = mine.begin; i < mine.end; ++i) {
      const size_t n_train = plan->train_images.size();
      const ShapesImage& image =
          i < static_cast<int64_t>(n_train) ? plan->train_images[i] : plan->val_images[i - n_train];
      const fs::path path = staging / image.relative_path;
      make_directories(path.parent_path());
      if (config.preset == ShapesPreset::None) {
        write_png(path, shapes::render_scene(image.scene, static_cast<int>(config.image_size)));
      } else {
        RgbImage pixels = shapes::render_scene(image.scene, cirr.width, cirr.height);
        shapes::add_grain(pixels, mix_seed(static_cast<uint64_t>(config.seed), static_cast<uint64_t>(i)),
                          kGrainAmplitude);
        write_jpeg(path, pixels, kJpegQuality);
      }
      progress.update(i - mine.begin + 1);
    }
    progress.finish();
  };
  return ensure_generated_dataset(comm, dataset, render_shard,
                                  [&](const fs::path& staging) { write_annotations(*plan, config, staging); });
}

}  // namespace spn
