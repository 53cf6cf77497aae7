#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "core/files.h"
#include "data/cirr.h"
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
