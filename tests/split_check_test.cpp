// The checks a run makes of its splits before any compute (data/split_check.h), against
// splits whose files the test writes, on however many ranks the test runs (the first bad
// image is the same whatever the sharding).
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "data/image_io.h"
#include "data/split_check.h"
#include "test_files.h"
#include "test_world.h"

namespace spn {
namespace {

// A split of `images` PNGs and one triplet per consecutive pair of them.
CirrSplit written_split(const fs::path& root, int images, bool write) {
  CirrSplit split;
  split.name = "val";
  split.root = root;
  RgbImage pixels;
  pixels.width = pixels.height = 4;
  pixels.pixels.assign(4 * 4 * 3, 128);
  if (write) fs::create_directories(root / "images");
  for (int i = 0; i < images; ++i) {
    split.images.push_back("img" + std::to_string(i));
    split.relative_paths.push_back("images/img" + std::to_string(i) + ".png");
    if (write) write_png(split.image_path(i), pixels);
  }
  for (int i = 0; i + 1 < images; ++i) {
    CirrTriplet triplet;
    triplet.pairid = 100 + i;
    triplet.reference = i;
    triplet.target = i + 1;
    split.triplets.push_back(triplet);
  }
  return split;
}

TEST(SplitCheck, MissingTargetsNameTheItem) {
  CirrSplit split = written_split("/nonexistent", 5, false);
  EXPECT_EQ(missing_targets(split), "");
  split.triplets[2].target = -1;
  EXPECT_EQ(missing_targets(split), "split 'val' item 2 (pairid 102) has no target (target_hard)");
  split.triplets.clear();
  EXPECT_EQ(missing_targets(split), "split 'val' has no items");
}

TEST(DistSplitCheck, TheFirstBadImageIsNamedWithTheItemUsingIt) {
  Communicator& world = testing::world();
  const fs::path root = testing::shared_temp_dir(world, "split-check");
  const CirrSplit split = written_split(root, 7, world.rank() == 0);
  world.barrier();
  check_split_images(world, split, false);  // all whole: no error

  if (world.rank() == 0) {
    const std::string bytes = read_file(split.image_path(4));
    write_file_atomic(split.image_path(4), bytes.substr(0, bytes.size() / 2));
    fs::remove(split.image_path(5));
  }
  world.barrier();
  try {
    check_split_images(world, split, false);
    ADD_FAILURE() << "a cut image passed";
  } catch (const UserError& error) {
    // Image 4 comes first in split order, whichever rank checked it.
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(split.image_path(4).string() + ": image 'img4': not a readable PNG", 0), 0u) << message;
    EXPECT_NE(message.find("split 'val' item 3 (pairid 103) uses it as its target"), std::string::npos) << message;
  }
  world.barrier();
  if (world.rank() == 0) fs::remove_all(root);
}

}  // namespace
}  // namespace spn
