#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "data/cirr.h"
#include "data/image_io.h"
#include "data/shapes_benchmark.h"
#include "data/shapes_render.h"
#include "data/split_check.h"
#include "test_files.h"
#include "test_world.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using testing::world;

ShapesConfig small_shapes() {
  ShapesConfig config;
  config.train_triplets = 25;
  config.extra_images = 11;
  config.val_triplets = 7;
  config.image_size = 48;
  return config;
}

TEST(Shapes, ModificationsChangeTheSceneAndSayHow) {
  shapes::Rng rng(3);
  std::set<int> kinds;
  for (int i = 0; i < 500; ++i) {
    const shapes::Scene reference = shapes::random_scene(rng);
    ASSERT_GE(reference.objects.size(), 1u);
    ASSERT_LE(reference.objects.size(), static_cast<size_t>(shapes::kMaxObjects));
    const shapes::Modification modification = shapes::random_modification(reference, rng);
    kinds.insert(static_cast<int>(modification.kind));
    EXPECT_FALSE(modification.target == reference) << modification.text;
    EXPECT_FALSE(modification.text.empty());
    std::set<int> cells;
    for (const auto& object : modification.target.objects) cells.insert(object.cell);
    EXPECT_EQ(cells.size(), modification.target.objects.size()) << "two objects in one cell";
  }
  EXPECT_EQ(kinds.size(), 6u) << "every modification kind occurs";
}

TEST(Shapes, DescriptionAndRendering) {
  shapes::Scene scene;
  scene.objects = {{shapes::Shape::Circle, 0, 1, 0}, {shapes::Shape::Square, 2, 0, 4}};
  EXPECT_EQ(shapes::describe(scene), "a large red circle at the top left, a small blue square in the center");
  const RgbImage image = shapes::render_scene(scene, 64);
  ASSERT_EQ(image.pixels.size(), 64u * 64 * 3);
  const uint8_t* centre_of_circle = &image.pixels[(10 * 64 + 10) * 3];
  EXPECT_GT(centre_of_circle[0], 200);  // red
  EXPECT_LT(centre_of_circle[2], 60);
  const uint8_t* centre_of_square = &image.pixels[(32 * 64 + 32) * 3];
  EXPECT_GT(centre_of_square[2], 200);  // blue
  const uint8_t* empty_cell = &image.pixels[(55 * 64 + 55) * 3];
  EXPECT_EQ(empty_cell[0], empty_cell[1]);  // background
}

TEST(Shapes, PlanIsDeterministicAndValidatesAsCirr) {
  const ShapesPlan a = plan_shapes_benchmark(small_shapes());
  const ShapesPlan b = plan_shapes_benchmark(small_shapes());
  ASSERT_EQ(a.train_triplets.size(), 25u);
  ASSERT_EQ(a.train_images.size(), 2u * 25 + 11);
  ASSERT_EQ(a.val_images.size(), 7u * 6);
  for (size_t i = 0; i < a.val_triplets.size(); ++i) {
    EXPECT_EQ(a.val_triplets[i].caption, b.val_triplets[i].caption);
    EXPECT_EQ(a.val_triplets[i].members.size(), 6u);
  }
  ShapesConfig other = small_shapes();
  other.seed = 2;
  EXPECT_NE(
      plan_shapes_benchmark(other).train_triplets[0].caption + plan_shapes_benchmark(other).train_triplets[1].caption,
      a.train_triplets[0].caption + a.train_triplets[1].caption);
}

// Digest of every file under dir: relative paths in sorted order, each path and its bytes.
uint64_t tree_digest(const fs::path& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) paths.push_back(fs::relative(entry.path(), dir).generic_string());
  std::sort(paths.begin(), paths.end());
  uint64_t hash = kFnvOffset;
  for (const auto& path : paths) {
    hash = fnv1a(path + '\0', hash);
    hash = fnv1a(read_file(dir / path) + '\0', hash);
  }
  return hash;
}

// The default benchmark is what it was before presets existed (so are the quickstart's
// numbers): the digest and fingerprint were recorded from the generator of commit
// a81626c, which had no presets.
TEST(Shapes, DefaultPresetGivesTheBytesItGaveBeforePresets) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "shapes-golden");
  ASSERT_TRUE(ensure_shapes_benchmark(*local, small_shapes(), dir / "benchmark", false));
  EXPECT_EQ(hex64(tree_digest(dir / "benchmark")), "99a47119600fee28");
  EXPECT_EQ(shapes_fingerprint(ShapesConfig{}), "1dd32ad9982e6c5c");  // existing datasets are reused
  fs::remove_all(dir);
}

size_t json_entries(const fs::path& file) { return nlohmann::json::parse(read_file(file)).size(); }

// Preset "cirr" has the counts of the real CIRR annotation files (its training captions
// are not among the shared files: 28,225 is the count CIRR publishes), and its plan
// carries every one of them.
TEST(Shapes, CirrPresetHasTheRealDatasetsCounts) {
  const fs::path cirr = testing::shared_datasets_dir() / "cirr";
  if (!fs::exists(cirr)) GTEST_SKIP() << "no " << cirr;
  EXPECT_EQ(static_cast<int64_t>(json_entries(cirr / "image_splits/split.rc2.train.json")), kCirrSizes.train_images);
  EXPECT_EQ(static_cast<int64_t>(json_entries(cirr / "image_splits/split.rc2.val.json")), kCirrSizes.val_images);
  const nlohmann::json queries = nlohmann::json::parse(read_file(cirr / "captions/cap.rc2.val.json"));
  EXPECT_EQ(static_cast<int64_t>(queries.size()), kCirrSizes.val_queries);
  for (const auto& query : queries)
    ASSERT_EQ(static_cast<int64_t>(query["img_set"]["members"].size()), kCirrSizes.set_size);
  if (fs::exists(cirr / "captions/cap.rc2.train.json"))
    EXPECT_EQ(static_cast<int64_t>(json_entries(cirr / "captions/cap.rc2.train.json")), kCirrSizes.train_triplets);

  ShapesConfig config;
  config.preset = ShapesPreset::Cirr;
  const ShapesPlan plan = plan_shapes_benchmark(config);
  EXPECT_EQ(static_cast<int64_t>(plan.train_images.size()), kCirrSizes.train_images);
  EXPECT_EQ(static_cast<int64_t>(plan.train_triplets.size()), kCirrSizes.train_triplets);
  EXPECT_EQ(static_cast<int64_t>(plan.val_images.size()), kCirrSizes.val_images);
  EXPECT_EQ(static_cast<int64_t>(plan.val_triplets.size()), kCirrSizes.val_queries);
}

// A small preset-"cirr" benchmark: chained img_sets, shared images, and JPEGs of the
// preset's size that load and decode; the same bytes for any world size.
TEST(DistShapes, CirrPresetWritesChainedJpegsThatLoadAndDecode) {
  Communicator& comm = world();
  const fs::path dir = testing::shared_temp_dir(comm, "shapes-cirr");
  ShapesConfig config;
  config.preset = ShapesPreset::Cirr;
  CirrSizes sizes;
  sizes.train_images = 14;    // chains of 6, 6 and 2
  sizes.train_triplets = 20;  // 11 of one step, then 9 of two (of 8) and three
  sizes.val_images = 6;
  sizes.val_queries = 4;
  sizes.width = 120;
  sizes.height = 90;
  if (comm.rank() == 0) {
    auto local = make_local_communicator();
    ASSERT_TRUE(ensure_shapes_benchmark(*local, config, dir / "reference", false, sizes));
  }
  comm.barrier();
  ASSERT_TRUE(ensure_shapes_benchmark(comm, config, dir / "world", false, sizes));
  EXPECT_NE(shapes_fingerprint(config, sizes), shapes_fingerprint(config));
  if (comm.rank() == 0) {
    EXPECT_EQ(tree_digest(dir / "world"), tree_digest(dir / "reference"));
    const CirrSplit train = load_cirr_split(dir / "world", "train");
    ASSERT_EQ(train.images.size(), 14u);
    ASSERT_EQ(train.triplets.size(), 20u);
    const CirrSplit val = load_cirr_split(dir / "world", "val");
    ASSERT_EQ(val.images.size(), 6u);
    ASSERT_EQ(val.triplets.size(), 4u);
    EXPECT_EQ(missing_targets(val), "");
    for (const auto& triplet : val.triplets) EXPECT_EQ(triplet.members.size(), 6u);  // the one chain

    const ShapesPlan plan = plan_shapes_benchmark(config, sizes);
    // Steps of one, then of two from the first chain: image 0 -> 2 in two modifications.
    EXPECT_EQ(plan.train_triplets[0].reference, plan.train_images[0].name);
    EXPECT_EQ(plan.train_triplets[0].target, plan.train_images[1].name);
    EXPECT_EQ(plan.train_triplets[11].reference, plan.train_images[0].name);
    EXPECT_EQ(plan.train_triplets[11].target, plan.train_images[2].name);
    EXPECT_EQ(plan.train_triplets[11].caption,
              plan.train_triplets[0].caption + ", then " + plan.train_triplets[1].caption);
    EXPECT_EQ(plan.train_triplets[19].reference, plan.train_images[0].name);  // three steps
    EXPECT_EQ(plan.train_triplets[19].target, plan.train_images[3].name);

    for (const auto* images : {&plan.train_images, &plan.val_images}) {
      for (const auto& image : *images) {
        const fs::path path = dir / "world" / image.relative_path;
        ASSERT_EQ(path.extension(), ".jpg");
        const std::string bytes = read_file(path);
        ASSERT_GE(bytes.size(), 2u);
        EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0xFF) << path;  // JPEG's start-of-image marker
        EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0xD8) << path;
        const RgbImage decoded = read_image(path);
        EXPECT_EQ(decoded.width, 120);
        EXPECT_EQ(decoded.height, 90);
      }
    }
  }
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

// Generation on the world (1, 2 or 3 ranks) gives the same bytes as on one process.
TEST(DistShapes, GenerationIsByteIdenticalForAnyWorldSize) {
  Communicator& comm = world();
  const fs::path dir = testing::shared_temp_dir(comm, "shapes");
  const ShapesConfig config = small_shapes();
  if (comm.rank() == 0) {
    auto local = make_local_communicator();
    ASSERT_TRUE(ensure_shapes_benchmark(*local, config, dir / "reference", false));
  }
  comm.barrier();
  ASSERT_TRUE(ensure_shapes_benchmark(comm, config, dir / "world", false));
  if (comm.rank() == 0) {
    size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir / "reference")) {
      if (!entry.is_regular_file()) continue;
      const fs::path relative = fs::relative(entry.path(), dir / "reference");
      EXPECT_EQ(read_file(entry.path()), read_file(dir / "world" / relative)) << relative;
      ++files;
    }
    EXPECT_EQ(files, 2u * 25 + 11 + 7 * 6 + 6);  // images, 4 annotation files, descriptions, generator.json
    EXPECT_FALSE(fs::exists(dir / "world.partial"));

    // The files are a valid CIRR-format dataset.
    const CirrSplit val = load_cirr_split(dir / "world", "val");
    EXPECT_EQ(val.triplets.size(), 7u);
    EXPECT_EQ(missing_targets(val), "");
    EXPECT_EQ(load_cirr_split(dir / "world", "train").images.size(), 2u * 25 + 11);
  }
  // A complete dataset is reused; one generated differently is refused, by name.
  EXPECT_FALSE(ensure_shapes_benchmark(comm, config, dir / "world", false));
  ShapesConfig changed = config;
  changed.val_triplets = 8;
  try {
    ensure_shapes_benchmark(comm, changed, dir / "world", false);
    ADD_FAILURE() << "a dataset of other settings was accepted";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("data.root"), std::string::npos);
  }
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
