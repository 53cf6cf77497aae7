#include "data/shapes_plan.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "core/hash.h"

namespace spn {
namespace {

constexpr int kImagesPerFolder = 1000;

std::string image_name(const char* prefix, size_t index) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s-%07zu", prefix, index);
  return buffer;
}

ShapesImage make_image(const char* prefix, const char* folder, size_t index, shapes::Scene scene,
                       const char* extension) {
  ShapesImage image;
  image.name = image_name(prefix, index);
  image.relative_path =
      "./" + std::string(folder) + "/" + std::to_string(index / kImagesPerFolder) + "/" + image.name + extension;
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

// preset = "none": see shapes_plan.h.
ShapesPlan plan_separate_sets(const ShapesConfig& config) {
  ShapesPlan plan;
  // Separate streams for train and val, so changing one split's size leaves the other
  // split's content unchanged.
  shapes::Rng train_rng(mix_seed(config.seed, 1));
  for (int64_t i = 0; i < config.train_triplets; ++i) {
    shapes::Scene reference = shapes::random_scene(train_rng);
    shapes::Modification modification = distinct_modification(reference, {}, train_rng);
    const size_t base = plan.train_images.size();
    plan.train_images.push_back(make_image("shapes-train", "train", base, reference, ".png"));
    plan.train_images.push_back(make_image("shapes-train", "train", base + 1, modification.target, ".png"));
    plan.train_triplets.push_back({plan.train_images[base].name,
                                   plan.train_images[base + 1].name,
                                   modification.text,
                                   {plan.train_images[base].name, plan.train_images[base + 1].name}});
  }
  for (int64_t i = 0; i < config.extra_images; ++i)
    plan.train_images.push_back(
        make_image("shapes-train", "train", plan.train_images.size(), shapes::random_scene(train_rng), ".png"));

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
      plan.val_images.push_back(make_image("shapes-dev", "dev", plan.val_images.size(), std::move(scene), ".png"));
      triplet.members.push_back(plan.val_images.back().name);
    }
    triplet.reference = triplet.members[0];
    triplet.target = triplet.members[1];
    plan.val_triplets.push_back(std::move(triplet));
  }
  return plan;
}

// One split of preset = "cirr": `image_count` images in chains of `chain_length`, then
// `triplet_count` triplets along the chains, shortest steps first.
void plan_chains(int64_t image_count, int64_t triplet_count, int64_t chain_length, const char* prefix,
                 const char* folder, shapes::Rng& rng, std::vector<ShapesImage>& images,
                 std::vector<ShapesTriplet>& triplets) {
  struct Chain {
    std::vector<std::string> steps;  // steps[k] turns image first + k into image first + k + 1
    std::vector<std::string> names;
  };
  std::vector<Chain> chains;
  for (int64_t first = 0; first < image_count; first += chain_length) {
    std::vector<shapes::Scene> scenes = {shapes::random_scene(rng)};
    Chain chain;
    while (static_cast<int64_t>(scenes.size()) < std::min(chain_length, image_count - first)) {
      shapes::Modification modification = distinct_modification(scenes.back(), scenes, rng);
      chain.steps.push_back(modification.text);
      scenes.push_back(std::move(modification.target));
    }
    for (auto& scene : scenes) {
      images.push_back(make_image(prefix, folder, images.size(), std::move(scene), ".jpg"));
      chain.names.push_back(images.back().name);
    }
    chains.push_back(std::move(chain));
  }
  const size_t wanted = triplets.size() + static_cast<size_t>(triplet_count);
  for (size_t length = 1; triplets.size() < wanted; ++length) {
    if (static_cast<int64_t>(length) >= chain_length)
      throw std::logic_error("shapes preset: " + std::to_string(image_count) + " images in chains of " +
                             std::to_string(chain_length) + " cannot carry " + std::to_string(triplet_count) +
                             " triplets");
    for (const Chain& chain : chains) {
      for (size_t k = 0; k + length < chain.names.size() && triplets.size() < wanted; ++k) {
        std::string caption = chain.steps[k];
        for (size_t j = k + 1; j < k + length; ++j) caption += ", then " + chain.steps[j];
        triplets.push_back({chain.names[k], chain.names[k + length], caption, chain.names});
      }
    }
  }
}

ShapesPlan plan_chained_sets(const ShapesConfig& config, const CirrSizes& sizes) {
  ShapesPlan plan;
  shapes::Rng train_rng(mix_seed(config.seed, 1)), val_rng(mix_seed(config.seed, 2));
  plan_chains(sizes.train_images, sizes.train_triplets, sizes.set_size, "shapes-train", "train", train_rng,
              plan.train_images, plan.train_triplets);
  plan_chains(sizes.val_images, sizes.val_queries, sizes.set_size, "shapes-dev", "dev", val_rng, plan.val_images,
              plan.val_triplets);
  return plan;
}

}  // namespace

ShapesPlan plan_shapes_benchmark(const ShapesConfig& config, const CirrSizes& cirr) {
  return config.preset == ShapesPreset::Cirr ? plan_chained_sets(config, cirr) : plan_separate_sets(config);
}

}  // namespace spn
