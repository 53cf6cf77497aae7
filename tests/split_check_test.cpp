// The checks a run makes of its splits before any compute (data/split_check.h), against
// splits whose files the test writes, on however many ranks the test runs (the first bad
// image is the same whatever the sharding).
#include <gtest/gtest.h>

#include <functional>

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

TEST(SplitCheck, DigestChangesWithEveryField) {
  const CirrSplit split = written_split("/nonexistent", 5, false);
  const std::string digest = split_digest(split);
  EXPECT_EQ(digest.rfind("5 images, 4 items, content ", 0), 0u) << digest;
  EXPECT_EQ(split_digest(written_split("/elsewhere", 5, false)), digest) << "the root is where, not what";
  const std::vector<std::function<void(CirrSplit&)>> changes = {
      [](CirrSplit& s) { s.name = "train"; },
      [](CirrSplit& s) { s.format = AnnotationFormat::kCirco; },
      [](CirrSplit& s) { s.images[1] = "img9"; },
      [](CirrSplit& s) { s.relative_paths[1] = "images/img1.jpg"; },
      [](CirrSplit& s) { s.categories = {"dress"}; },
      [](CirrSplit& s) {
        s.category_images = {{0, 1}};
      },
      [](CirrSplit& s) { s.triplets.pop_back(); },
      [](CirrSplit& s) { s.triplets[2].pairid = 7; },
      [](CirrSplit& s) { s.triplets[2].reference = 0; },
      [](CirrSplit& s) { s.triplets[2].target = 0; },
      [](CirrSplit& s) { s.triplets[2].category = 0; },
      [](CirrSplit& s) { s.triplets[2].caption = "make it red"; },
      [](CirrSplit& s) { s.triplets[2].second_caption = "make it red"; },
      [](CirrSplit& s) { s.triplets[2].captions = {"make it red"}; },
      [](CirrSplit& s) { s.triplets[2].equally_good_targets = {4}; },
      [](CirrSplit& s) {
        s.triplets[2].members = {2, 3};
      },
      // Length-prefixed fields: moving a character between two names changes the digest.
      [](CirrSplit& s) {
        s.images[0] = "img0i";
        s.images[1] = "mg1";
      },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    CirrSplit changed = split;
    changes[i](changed);
    EXPECT_NE(split_digest(changed), digest) << "change " << i;
  }
}

TEST(DistSplitCheck, RanksThatReadDifferentSplitsStopTogether) {
  Communicator& world = testing::world();
  const CirrSplit split = written_split("/nonexistent", 7, false);
  EXPECT_NO_THROW(check_split_agrees(world, split));
  if (world.size() == 1) return;  // one rank always agrees with itself (the digest test covers the content)

  // The last rank's copy lacks an image (a folder still being copied) or has another
  // caption (a stale node-local copy): every rank stops with the same error, before the
  // image check shards the split.
  const int last = world.size() - 1;
  CirrSplit shorter = split;
  CirrSplit recaptioned = split;
  if (world.rank() == last) {
    shorter.images.pop_back();
    shorter.relative_paths.pop_back();
    recaptioned.triplets[3].caption = "make it red";
  }
  const std::string rank_words = "rank " + std::to_string(last) + " read ";
  try {
    check_split_images(world, shorter, false);
    ADD_FAILURE() << "ranks with different image lists passed";
  } catch (const UserError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind("/nonexistent: split 'val' differs between ranks: rank 0 read 7 images, 6 items", 0), 0u)
        << message;
    EXPECT_NE(message.find(rank_words + "6 images, 6 items"), std::string::npos) << message;
  }
  try {
    check_split_agrees(world, recaptioned);
    ADD_FAILURE() << "ranks with different captions passed";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find(rank_words + "7 images, 6 items, content "), std::string::npos)
        << error.what();
  }
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
