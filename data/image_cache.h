#pragma once
// The decoded-image cache (data.cache = "hdf5"): a split's images decoded once, after
// preprocessing, at the encoder's input size (uint8), and shared by every later run and
// experiment that reads the same image files through the same transform. One directory
// per split, named by what it was built from:
//   <data.cache_dir>/images-v1-<split>-<images hash>-<transform fingerprint>/
//     shard-<r>-of-<W>.h5  /pixels uint8 [rows, 3, S, S], chunked by image, each chunk
//                          with HDF5's Fletcher-32 checksum (verified on every read);
//                          attributes format_version, images_hash, transform, first_row,
//                          rows and complete = 1, written last
//     cache.json           {"format_version", "split", "images_hash", "transform", "rows",
//                           "image_size", "shards": [{"file", "first_row", "rows"}]},
//                          written by rank 0 once every shard is complete
// The images hash covers each image's name, path, size and modification time, so a
// changed dataset gets a new cache. Rank r of the run that builds it decodes images
// shard_range(N, W, r) through the loader (data/image_prefetcher.h) and writes them
// chunk by chunk to its own shard (a .partial name until complete): the ranks build in
// parallel and none holds more than a chunk. Readers read one image at a time. A cache
// whose files disagree with what the run needs, or whose data fails its checksums, is
// refused with a UserError naming the file and the mismatch.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/data_config.h"
#include "data/cirr.h"
#include "data/hdf5_file.h"
#include "data/image_rows.h"
#include "data/image_transform.h"
#include "dist/communicator.h"

namespace spn {

// What a cache must have been built from.
struct ImageCacheKey {
  std::string split;
  std::string images_hash;  // names, paths, sizes and modification times of the split's images
  std::string transform;    // fingerprint of the transform
  int64_t rows = 0;
  int64_t image_size = 0;
};

// The key of `split` through `transform` (stats every image file).
ImageCacheKey image_cache_key(const CirrSplit& split, const ImageTransform& transform);

// The directory of the cache with `key` under `cache_dir`.
std::filesystem::path image_cache_dir(const std::filesystem::path& cache_dir, const ImageCacheKey& key);

class ImageCache {
 public:
  // Opens the complete cache in `dir`, refusing one that was built for another key or
  // whose shards are missing, incomplete or disagree with cache.json.
  ImageCache(const std::filesystem::path& dir, const ImageCacheKey& expected);

  // Image `index` of the split into `out` (3 * S * S bytes). Safe from several threads
  // (the HDF5 library serialises its calls). A UserError naming the shard file and the
  // image when its checksum fails or it cannot be read.
  void read(int64_t index, uint8_t* out) const;

 private:
  struct Shard {
    std::filesystem::path path;
    int64_t first_row = 0;
    int64_t rows = 0;
    hdf5::Handle file{-1, H5Fclose};
    hdf5::Handle pixels{-1, H5Dclose};
  };
  std::vector<std::unique_ptr<Shard>> shards_;
  int64_t image_size_ = 0;
  std::vector<std::string> names_;  // for messages
};

// Builds the cache of `images` (every image of its split, in order) in `dir` unless it is
// there; two runs needing the same cache build it once (rank 0 holds <dir>.lock). A
// collective.
void build_image_cache(Communicator& comm, const ImageRows& images, const std::filesystem::path& dir,
                       const ImageCacheKey& key, const DataConfig& data, bool show_progress);

// The split's images `split_index` through [data]'s transform: from the split's cache
// with data.cache = "hdf5" (built first when missing), else from the image files. A
// collective when data.cache = "hdf5".
ImageRows split_image_rows(Communicator& comm, const CirrSplit& split, std::vector<int64_t> split_index,
                           const DataConfig& data, bool show_progress);

}  // namespace spn
