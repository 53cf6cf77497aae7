// The built-in benchmark's CIRCO-style split: its files read back through CIRCO's own
// loader, every query's ground truths are exactly the gallery images holding the
// target's objects (computed here from the scenes, not with the generator's matching),
// the test split hides them, a directory generated with other settings is refused, and
// its CIRCO metrics on a random model are the same on 1, 2 and 3 ranks.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/files.h"
#include "data/circo.h"
#include "data/shapes_circo.h"
#include "data/split_check.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSplitQueries = 24;

ShapesConfig small_circo_shapes() {
  ShapesConfig config;
  config.seed = 11;
  config.image_size = 32;
  return config;
}

// A scene's objects as (shape, colour, size), sorted: what it holds, wherever.
std::vector<std::tuple<int, int, int>> held_objects(const shapes::Scene& scene) {
  std::vector<std::tuple<int, int, int>> out;
  for (const shapes::Object& o : scene.objects) out.emplace_back(static_cast<int>(o.shape), o.color, o.size);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ShapesCirco, GroundTruthsAreExactlyTheGalleryImagesHoldingTheTargetsObjects) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "shapes-circo");
  const fs::path root = dir / "circo";
  EXPECT_TRUE(ensure_shapes_circo(*local, small_circo_shapes(), kSplitQueries, root, "eval.circo.root", false));
  EXPECT_FALSE(ensure_shapes_circo(*local, small_circo_shapes(), kSplitQueries, root, "eval.circo.root", false))
      << "a complete split with the same settings is reused";

  const ShapesCircoPlan plan = plan_shapes_circo(small_circo_shapes(), kSplitQueries);
  const CirrSplit val = load_circo_split(root, "val");
  ASSERT_EQ(val.images.size(), plan.gallery.size());
  ASSERT_EQ(val.triplets.size(), static_cast<size_t>(kSplitQueries));
  EXPECT_NO_THROW(check_split_images(*local, val, false));  // every gallery image was rendered
  const auto gallery_index = [&](int64_t image) { return std::stoll(val.images[image]) - 1; };
  size_t several = 0, total_ground_truth = 0;
  for (size_t q = 0; q < val.triplets.size(); ++q) {
    const CirrTriplet& query = val.triplets[q];
    const shapes::Scene& target = plan.gallery[gallery_index(query.target)];
    const shapes::Scene& reference = plan.gallery[gallery_index(query.reference)];
    EXPECT_NE(held_objects(reference), held_objects(target))
        << "query " << q << ": the modification only moved an object";
    std::set<int64_t> expected;  // gallery indices
    for (size_t g = 0; g < plan.gallery.size(); ++g)
      if (held_objects(plan.gallery[g]) == held_objects(target)) expected.insert(static_cast<int64_t>(g));
    std::set<int64_t> written = {gallery_index(query.target)};
    for (int64_t image : query.equally_good_targets) written.insert(gallery_index(image));
    EXPECT_EQ(written.size(), 1 + query.equally_good_targets.size()) << "query " << q << " lists an image twice";
    EXPECT_EQ(written, expected) << "query " << q << ": " << query.caption;
    EXPECT_EQ(query.caption, plan.val[q].caption);
    several += written.size() >= 2;
    total_ground_truth += written.size();
  }
  EXPECT_EQ(several, val.triplets.size()) << "every query has the target and at least one rearrangement";
  EXPECT_GT(total_ground_truth, 2 * val.triplets.size());

  // The target description is the target's inventory, written as shared_concept, and
  // descriptions.json gives every gallery image's.
  const auto items = nlohmann::json::parse(read_file(root / "annotations/val.json"));
  const auto descriptions = nlohmann::json::parse(read_file(root / "descriptions.json"));
  ASSERT_EQ(descriptions.size(), plan.gallery.size());
  for (const auto& item : items) {
    const std::string target = std::to_string(item["target_img_id"].get<int64_t>());
    EXPECT_EQ(item["shared_concept"], descriptions[target]);
  }

  // The test split: the same gallery, queries without targets.
  const CirrSplit test = load_circo_split(root, "test");
  EXPECT_EQ(test.triplets.size(), static_cast<size_t>(kSplitQueries));
  EXPECT_EQ(test.images, val.images);
  EXPECT_NE(missing_targets(test), "");

  // Another number of queries makes another split: refused in place, naming the key.
  try {
    ensure_shapes_circo(*local, small_circo_shapes(), kSplitQueries + 1, root, "eval.circo.root", false);
    ADD_FAILURE() << "a split generated with other settings was reused";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("eval.circo.root"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("other"), std::string::npos) << error.what();
  }
  fs::remove_all(dir);
}

TEST(ShapesCirco, InventoryIgnoresWhereObjectsAre) {
  shapes::Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    const shapes::Scene scene = shapes::random_scene(rng);
    const shapes::Scene moved = shapes::rearranged(scene, rng);
    EXPECT_FALSE(moved == scene);
    EXPECT_EQ(held_objects(moved), held_objects(scene));
    EXPECT_EQ(shapes::describe_inventory(moved), shapes::describe_inventory(scene));
  }
  shapes::Scene scene;
  scene.objects = {{shapes::Shape::Square, 2, 0, 4}, {shapes::Shape::Circle, 0, 1, 0}};
  EXPECT_EQ(shapes::describe_inventory(scene), "a large red circle, a small blue square");
}

// Generated by every rank (each renders its shard), then evaluated with a random model:
// the world's CIRCO metrics are one process's.
TEST(DistShapesCirco, GeneratedAndEvaluatedTheSameOnEveryWorldSize) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "dist-shapes-circo");
  ensure_shapes_circo(comm, small_circo_shapes(), kSplitQueries, dir / "circo", "eval.circo.root", false);
  const CirrSplit val = load_circo_split(dir / "circo", "val");
  EXPECT_EQ(val.format, AnnotationFormat::kCirco);
  const auto [metrics, reference] = testing::random_model_metrics(comm, val);
  ASSERT_EQ(metrics.size(), 8u);  // mAP@5..50, R@5..50
  for (const auto& [name, value] : reference) {
    EXPECT_NEAR(metrics.at(name), value, 1e-6) << name;
    EXPECT_GE(value, 0.0);
    EXPECT_LE(value, 100.0);
  }
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
