// The decoded-image cache (data/image_cache.h): built on any world size it reads back
// exactly what decoding the files gives; a second use reads it without rebuilding; a
// stale or corrupt cache is refused naming the file and the mismatch; and a run that
// trains from it gets the results of one that decodes the files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "data/image_cache.h"
#include "data/image_tensor.h"
#include "launch_fixture.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

// Every row of `rows` decoded, one tensor [n, 3, S, S].
torch::Tensor decode_all(const ImageRows& rows) {
  const int64_t size = rows.transform.size;
  torch::Tensor out = torch::empty({rows.size(), 3, size, size}, torch::kByte);
  for (int64_t r = 0; r < rows.size(); ++r) rows.decode(r, out[r].data_ptr<uint8_t>());
  return out;
}

// The message of the UserError opening the cache and reading every image gives, or "".
std::string refusal(const fs::path& dir, const ImageCacheKey& key) {
  try {
    const ImageCache cache(dir, key);
    std::vector<uint8_t> pixels(static_cast<size_t>(3 * key.image_size * key.image_size));
    for (int64_t i = 0; i < key.rows; ++i) cache.read(i, pixels.data());
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

TEST(DistImageCache, ReadsBackWhatDecodingGivesAndRefusesAStaleOrCorruptCache) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "image-cache");
  const CirrSplit split = testing::varied_png_split(comm, dir, 10);
  DataConfig data;
  data.image_size = 48;
  data.preprocess = Preprocess::CenterCrop;
  data.cache_dir = (dir / "cache").string();
  data.cache = ImageCacheMode::Hdf5;
  const std::vector<int64_t> order = {4, 0, 9, 2, 7};

  const ImageCacheKey key = image_cache_key(split, image_transform_of(data));
  const fs::path cache_dir = image_cache_dir(data.cache_dir, key);
  {
    // Released before the cache is damaged below: the HDF5 library shares an open
    // file's chunk cache with every later opening of it in the process.
    const ImageRows cached = split_image_rows(comm, split, order, data, false);
    ASSERT_NE(cached.cache, nullptr);
    ImageRows files = cached;
    files.cache = nullptr;
    EXPECT_TRUE(torch::equal(decode_all(cached), decode_all(files)));
    for (int r = 0; r < comm.size(); ++r)
      EXPECT_TRUE(
          fs::exists(cache_dir / ("shard-" + std::to_string(r) + "-of-" + std::to_string(comm.size()) + ".h5")));
    const auto built = fs::last_write_time(cache_dir / "cache.json");
    EXPECT_TRUE(torch::equal(decode_all(split_image_rows(comm, split, order, data, false)), decode_all(files)));
    EXPECT_EQ(fs::last_write_time(cache_dir / "cache.json"), built) << "the second use rebuilt the cache";
  }

  // Another transform is another cache, never this one.
  DataConfig other = data;
  other.image_size = 32;
  EXPECT_NE(image_cache_dir(data.cache_dir, image_cache_key(split, image_transform_of(other))), cache_dir);

  // Stale: the manifest says the cache holds other images.
  comm.barrier();
  const std::string manifest = comm.rank() == 0 ? read_file(cache_dir / "cache.json") : "";
  if (comm.rank() == 0) {
    nlohmann::json stale = nlohmann::json::parse(manifest);
    stale["images_hash"] = "0123456789abcdef";
    write_file_atomic(cache_dir / "cache.json", stale.dump());
  }
  comm.barrier();
  std::string error = refusal(cache_dir, key);
  EXPECT_NE(error.find("cache.json: decoded-image cache images hash mismatch: the cache has 0123456789abcdef"),
            std::string::npos)
      << error;
  comm.barrier();

  // Corrupt: bytes of the first shard's pixels overwritten.
  if (comm.rank() == 0) {
    write_file_atomic(cache_dir / "cache.json", manifest);
    const fs::path shard = cache_dir / ("shard-0-of-" + std::to_string(comm.size()) + ".h5");
    std::fstream file(shard, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(fs::file_size(shard) / 2));
    file.write("corrupt!corrupt!", 16);
  }
  comm.barrier();
  error = refusal(cache_dir, key);
  EXPECT_NE(error.find("shard-0-of-" + std::to_string(comm.size()) + ".h5: "), std::string::npos) << error;
  EXPECT_NE(error.find("rerun to rebuild the decoded-image cache"), std::string::npos) << error;
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

TEST(ImageCache, AChangedImageFileChangesTheKey) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "image-cache-key");
  CirrSplit split = testing::varied_png_split(*local, dir, 3);
  const ImageTransform transform{16, Preprocess::Resize, 1.25};
  const ImageCacheKey before = image_cache_key(split, transform);
  EXPECT_EQ(image_cache_key(split, transform).images_hash, before.images_hash);
  std::ofstream(split.image_path(1), std::ios::app) << "x";  // one byte more
  EXPECT_NE(image_cache_key(split, transform).images_hash, before.images_hash);
  fs::remove_all(dir);
}

using testing::Launch;
using testing::Outcome;

nlohmann::json val_results(const fs::path& run) {
  return nlohmann::json::parse(read_file(run / "results.json"))["stage1"]["val"];
}

TEST_F(Launch, TrainingFromTheDecodedImageCacheGivesTheResultsOfDecodingTheFiles) {
  write("tiny.toml", testing::kTinyExperiment);
  const Outcome files = launch("tiny.toml --run-id files");
  ASSERT_EQ(files.status, 0) << files.output;
  const Outcome first = launch("tiny.toml --set data.cache=hdf5 --run-id first");
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("built decoded-image cache"), std::string::npos) << first.output;
  const Outcome second = launch("tiny.toml --set data.cache=hdf5 --run-id second");
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_EQ(second.output.find("built decoded-image cache"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("reading train images from the decoded-image cache"), std::string::npos)
      << second.output;
  EXPECT_EQ(val_results(dir_ / "runs/tiny/first"), val_results(dir_ / "runs/tiny/files"));
  EXPECT_EQ(val_results(dir_ / "runs/tiny/second"), val_results(dir_ / "runs/tiny/files"));
}

}  // namespace
}  // namespace spn
