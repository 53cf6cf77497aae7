#pragma once
// A list of a split's images as encoder inputs: row i is split image split_index[i]
// through `transform`. What the loader (data/image_prefetcher.h) decodes from; the
// rows of training images, of the stage-2 bank and of an evaluation gallery.
#include <cstdint>
#include <memory>
#include <vector>

#include "data/cirr.h"
#include "data/image_transform.h"

namespace spn {

class ImageCache;

struct ImageRows {
  const CirrSplit* split = nullptr;
  std::vector<int64_t> split_index;
  ImageTransform transform;
  // The split's decoded-image cache (data/image_cache.h), read instead of the image
  // files when set.
  std::shared_ptr<const ImageCache> cache;

  int64_t size() const { return static_cast<int64_t>(split_index.size()); }
  // Row `row` as uint8 [3, S, S] into `out` (3 * S * S bytes). Safe to call from several
  // threads at once. Throws UserError naming the file when it is not a readable image
  // (or the cache file, when a cached row fails its checksum).
  void decode(int64_t row, uint8_t* out) const;
};

// Every image of `split`, in split order.
ImageRows all_images_of(const CirrSplit& split, const ImageTransform& transform);

}  // namespace spn
