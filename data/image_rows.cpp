#include "data/image_rows.h"

#include <ATen/ATen.h>

#include <cstring>

#include "data/image_cache.h"
#include "data/image_io.h"

namespace spn {

void ImageRows::decode(int64_t row, uint8_t* out) const {
  if (cache) return cache->read(split_index[row], out);
  const at::Tensor pixels = transform_image(read_image(split->image_path(split_index[row])), transform).contiguous();
  std::memcpy(out, pixels.data_ptr<uint8_t>(), static_cast<size_t>(pixels.numel()));
}

ImageRows all_images_of(const CirrSplit& split, const ImageTransform& transform) {
  ImageRows rows{&split, {}, transform, nullptr};
  rows.split_index.resize(split.images.size());
  for (size_t i = 0; i < split.images.size(); ++i) rows.split_index[i] = static_cast<int64_t>(i);
  return rows;
}

}  // namespace spn
