#include "data/image_cache.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "core/file_lock.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/progress.h"
#include "data/image_prefetcher.h"
#include "data/image_tensor.h"
#include "dist/sharding.h"

namespace spn {
namespace {

using hdf5::check;
using hdf5::Handle;

constexpr int64_t kCacheFormatVersion = 1;
constexpr int64_t kImagesPerWrite = 32;  // images decoded and written at a time
constexpr const char* kCacheContents = "the decoded-image cache";

[[noreturn]] void refuse(const fs::path& file, const std::string& why) {
  throw UserError(file.string() + ": " + why + "; delete " + file.parent_path().string() +
                  " and rerun to rebuild the decoded-image cache");
}

std::string shard_file_name(int rank, int world) {
  return "shard-" + std::to_string(rank) + "-of-" + std::to_string(world) + ".h5";
}

// Rank `rank`'s images, decoded through the loader and written kImagesPerWrite at a time.
void write_shard(const ImageRows& images, const ShardRange& mine, const fs::path& file, const ImageCacheKey& key,
                 const DataConfig& data, bool show_progress) {
  const hsize_t size = static_cast<hsize_t>(key.image_size);
  errno = 0;
  const Handle access = hdf5::checksummed_file_access();
  Handle out(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), H5Fclose);
  if (!out.valid())
    throw UserError(file.string() + ": cannot create the decoded-image cache file (" +
                    (errno != 0 ? std::strerror(errno) : "HDF5 refused it") + ")");
  const hsize_t shape[4] = {static_cast<hsize_t>(mine.size()), 3, size, size};
  const hsize_t most[4] = {H5S_UNLIMITED, 3, size, size};  // chunked, and an empty shard is valid
  Handle space(H5Screate_simple(4, shape, most), H5Sclose);
  Handle layout(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const hsize_t one_image[4] = {1, 3, size, size};
  check(H5Pset_chunk(layout.get(), 4, one_image), "chunk shape");
  check(H5Pset_fletcher32(layout.get()), "checksum filter");
  Handle pixels(H5Dcreate2(out.get(), "pixels", H5T_STD_U8LE, space.get(), H5P_DEFAULT, layout.get(), H5P_DEFAULT),
                H5Dclose);
  check(pixels.valid() ? 0 : -1, "creating /pixels");

  const int64_t writes = (mine.size() + kImagesPerWrite - 1) / kImagesPerWrite;
  ImagePrefetcher loader(
      images,
      [&](int64_t k) {
        std::vector<int64_t> rows;
        for (int64_t row = mine.begin + k * kImagesPerWrite;
             row < std::min(mine.end, mine.begin + (k + 1) * kImagesPerWrite); ++row)
          rows.push_back(row);
        return rows;
      },
      writes, loader_options_of(data, false));
  Progress progress("caching " + key.split + " images", mine.size(), show_progress);
  for (int64_t k = 0; k < writes; ++k) {
    const at::Tensor block = loader.take(k);
    const hsize_t start[4] = {static_cast<hsize_t>(k * kImagesPerWrite), 0, 0, 0};
    const hsize_t count[4] = {static_cast<hsize_t>(block.size(0)), 3, size, size};
    Handle file_space(H5Dget_space(pixels.get()), H5Sclose);
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr), "hyperslab");
    Handle memory(H5Screate_simple(4, count, nullptr), H5Sclose);
    errno = 0;
    hdf5::check_write(
        H5Dwrite(pixels.get(), H5T_NATIVE_UINT8, memory.get(), file_space.get(), H5P_DEFAULT, block.data_ptr()),
        "writing pixels", file, kCacheContents);
    progress.update(std::min(mine.size(), (k + 1) * kImagesPerWrite));
  }
  progress.finish();
  const hid_t root = out.get();
  hdf5::write_int_attribute(root, "format_version", kCacheFormatVersion);
  hdf5::write_string_attribute(root, "images_hash", key.images_hash);
  hdf5::write_string_attribute(root, "transform", key.transform);
  hdf5::write_int_attribute(root, "first_row", mine.begin);
  hdf5::write_int_attribute(root, "rows", mine.size());
  hdf5::write_int_attribute(root, "complete", 1);  // last: a reader trusts nothing without it
  errno = 0;
  hdf5::check_write(H5Fflush(root, H5F_SCOPE_GLOBAL), "flush", file, kCacheContents);
}

}  // namespace

ImageCacheKey image_cache_key(const CirrSplit& split, const ImageTransform& transform) {
  ImageCacheKey key;
  key.split = split.name;
  key.rows = static_cast<int64_t>(split.images.size());
  key.image_size = transform.size;
  uint64_t hash = fnv1a("spn decoded images v1\n");
  for (size_t i = 0; i < split.images.size(); ++i) {
    const fs::path path = split.image_path(static_cast<int64_t>(i));
    std::error_code missing;  // a missing image is reported when it is decoded
    const auto bytes = fs::file_size(path, missing);
    const auto modified = fs::last_write_time(path, missing).time_since_epoch().count();
    hash = fnv1a(split.images[i] + "\n" + split.relative_paths[i] + "\n" + std::to_string(missing ? 0 : bytes) + " " +
                     std::to_string(missing ? 0 : modified) + "\n",
                 hash);
  }
  key.images_hash = hex64(hash);
  // The resampling kernel is part of the fingerprint: caches written by the float32
  // passes of earlier versions differ from the 8-bit kernel by 1 in a few pixels.
  key.transform = hex64(fnv1a("uint8 [3, " + std::to_string(transform.size) + ", " + std::to_string(transform.size) +
                              "] " + choice_name(transform.mode) + " target_ratio " +
                              std::to_string(transform.target_ratio) + " bicubic uint8-antialiased"));
  return key;
}

fs::path image_cache_dir(const fs::path& cache_dir, const ImageCacheKey& key) {
  return cache_dir /
         ("images-v1-" + key.split + "-" + key.images_hash.substr(0, 12) + "-" + key.transform.substr(0, 12));
}

ImageCache::ImageCache(const fs::path& dir, const ImageCacheKey& expected) : image_size_(expected.image_size) {
  hdf5::silence();
  const fs::path manifest_path = dir / "cache.json";
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(manifest_path));
  } catch (const std::exception& error) {
    refuse(manifest_path, std::string("unreadable cache manifest (") + error.what() + ")");
  }
  const auto mismatch = [&](const fs::path& file, const std::string& what, const std::string& has,
                            const std::string& wanted) {
    refuse(file, "decoded-image cache " + what + " mismatch: the cache has " + has + ", this run needs " + wanted);
  };
  try {
    if (manifest.value("format_version", int64_t{0}) != kCacheFormatVersion)
      mismatch(manifest_path, "format version", manifest.value("format_version", nlohmann::json()).dump(),
               std::to_string(kCacheFormatVersion));
    if (manifest.value("split", "") != expected.split)
      mismatch(manifest_path, "split", manifest.value("split", ""), expected.split);
    if (manifest.value("images_hash", "") != expected.images_hash)
      mismatch(manifest_path, "images hash", manifest.value("images_hash", ""),
               expected.images_hash + " (the split's image files changed)");
    if (manifest.value("transform", "") != expected.transform)
      mismatch(manifest_path, "transform fingerprint", manifest.value("transform", ""), expected.transform);
    if (manifest.value("rows", int64_t{-1}) != expected.rows)
      mismatch(manifest_path, "image count", manifest.value("rows", nlohmann::json()).dump(),
               std::to_string(expected.rows));
    if (manifest.value("image_size", int64_t{-1}) != expected.image_size)
      mismatch(manifest_path, "image size", manifest.value("image_size", nlohmann::json()).dump(),
               std::to_string(expected.image_size));
    int64_t next_row = 0;
    for (const auto& entry : manifest.at("shards")) {
      auto shard = std::make_unique<Shard>();
      shard->path = dir / entry.at("file").get<std::string>();
      shard->first_row = entry.at("first_row").get<int64_t>();
      shard->rows = entry.at("rows").get<int64_t>();
      if (shard->first_row != next_row) refuse(manifest_path, "shards do not cover the images in order");
      next_row += shard->rows;
      if (!fs::exists(shard->path)) refuse(shard->path, "shard file missing");
      const std::string format_problem = hdf5::checksummed_format_problem(shard->path);
      if (!format_problem.empty()) refuse(shard->path, format_problem);
      shard->file = Handle(H5Fopen(shard->path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
      if (!shard->file.valid()) refuse(shard->path, "cannot be opened as HDF5 (truncated or corrupt)");
      const hid_t root = shard->file.get();
      if (hdf5::read_int_attribute(root, "complete") != std::optional<int64_t>(1))
        refuse(shard->path, "incomplete shard (no complete = 1 attribute): its writer did not finish");
      if (hdf5::read_string_attribute(root, "images_hash") != std::optional<std::string>(expected.images_hash))
        mismatch(shard->path, "images hash", hdf5::read_string_attribute(root, "images_hash").value_or("none"),
                 expected.images_hash);
      if (hdf5::read_string_attribute(root, "transform") != std::optional<std::string>(expected.transform))
        mismatch(shard->path, "transform fingerprint", hdf5::read_string_attribute(root, "transform").value_or("none"),
                 expected.transform);
      if (hdf5::read_int_attribute(root, "first_row") != std::optional<int64_t>(shard->first_row) ||
          hdf5::read_int_attribute(root, "rows") != std::optional<int64_t>(shard->rows))
        refuse(shard->path, "shard rows disagree with " + manifest_path.string());
      shard->pixels = Handle(H5Dopen2(root, "pixels", H5P_DEFAULT), H5Dclose);
      if (!shard->pixels.valid()) refuse(shard->path, "missing dataset /pixels");
      Handle space(H5Dget_space(shard->pixels.get()), H5Sclose);
      hsize_t dims[4] = {};
      if (H5Sget_simple_extent_ndims(space.get()) != 4 || H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0 ||
          static_cast<int64_t>(dims[0]) != shard->rows || dims[1] != 3 ||
          static_cast<int64_t>(dims[2]) != image_size_ || static_cast<int64_t>(dims[3]) != image_size_)
        refuse(shard->path, "/pixels shape disagrees with the shard's rows and the image size");
      shards_.push_back(std::move(shard));
    }
    if (next_row != expected.rows) refuse(manifest_path, "shards do not cover every image");
  } catch (const nlohmann::json::exception& error) {
    refuse(manifest_path, std::string("malformed cache manifest (") + error.what() + ")");
  }
}

void ImageCache::read(int64_t index, uint8_t* out) const {
  const auto after = std::upper_bound(shards_.begin(), shards_.end(), index,
                                      [](int64_t row, const std::unique_ptr<Shard>& s) { return row < s->first_row; });
  const Shard& shard = **std::prev(after);
  const hsize_t size = static_cast<hsize_t>(image_size_);
  const hsize_t start[4] = {static_cast<hsize_t>(index - shard.first_row), 0, 0, 0};
  const hsize_t count[4] = {1, 3, size, size};
  Handle space(H5Dget_space(shard.pixels.get()), H5Sclose);
  Handle memory(H5Screate_simple(4, count, nullptr), H5Sclose);
  if (!space.valid() || H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
      H5Dread(shard.pixels.get(), H5T_NATIVE_UINT8, memory.get(), space.get(), H5P_DEFAULT, out) < 0)
    refuse(shard.path, "image " + std::to_string(index) + " fails its checksum or cannot be read (corrupt cache)");
}

void build_image_cache(Communicator& comm, const ImageRows& images, const fs::path& dir, const ImageCacheKey& key,
                       const DataConfig& data, bool show_progress) {
  // One builder per cache, as for banks: a run that needs a cache another is building
  // waits for it, then finds it complete.
  std::optional<FileLock> building;
  run_on_rank0(comm, [&] {
    make_directories(dir.parent_path());
    building = FileLock::take(dir.string() + ".lock", [&](const std::string& holder) {
      spdlog::info("waiting for another run's decoded-image cache {} ({})", dir.string(),
                   holder.empty() ? "holder unknown" : holder);
    });
  });
  if (rank0_sees(comm, dir / "cache.json")) return;
  run_on_rank0(comm, [&] { make_directories(dir); });
  hdf5::silence();
  const ShardRange mine = shard_range(images.size(), comm.size(), comm.rank());
  const fs::path shard = dir / shard_file_name(comm.rank(), comm.size());
  const fs::path partial = shard.string() + ".partial";
  try {
    write_shard(images, mine, partial, key, data, show_progress);
    commit_temporary(partial, shard);
  } catch (...) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    throw;
  }
  comm.barrier();
  if (comm.rank() == 0) {
    nlohmann::json shards = nlohmann::json::array();
    for (int r = 0; r < comm.size(); ++r) {
      const ShardRange range = shard_range(images.size(), comm.size(), r);
      shards.push_back({{"file", shard_file_name(r, comm.size())}, {"first_row", range.begin}, {"rows", range.size()}});
    }
    write_file_atomic(dir / "cache.json", nlohmann::json{{"format_version", kCacheFormatVersion},
                                                         {"split", key.split},
                                                         {"images_hash", key.images_hash},
                                                         {"transform", key.transform},
                                                         {"rows", key.rows},
                                                         {"image_size", key.image_size},
                                                         {"shards", shards}}
                                                  .dump(1) +
                                              "\n");
    spdlog::info("built decoded-image cache {} ({} images)", dir.string(), key.rows);
  }
  comm.barrier();
}

ImageRows split_image_rows(Communicator& comm, const CirrSplit& split, std::vector<int64_t> split_index,
                           const DataConfig& data, bool show_progress) {
  ImageRows rows{&split, std::move(split_index), image_transform_of(data), nullptr};
  if (data.cache == ImageCacheMode::None) return rows;
  ImageCacheKey key = image_cache_key(split, rows.transform);
  key.images_hash = broadcast_string(comm, key.images_hash, 0);  // every rank names rank 0's directory
  const fs::path dir = image_cache_dir(data.cache_dir, key);
  if (rank0_sees(comm, dir / "cache.json"))
    spdlog::info("reading {} images from the decoded-image cache {}", split.name, dir.string());
  else
    build_image_cache(comm, all_images_of(split, rows.transform), dir, key, data, show_progress);
  rows.cache = std::make_shared<const ImageCache>(dir, key);
  return rows;
}

}  // namespace spn
