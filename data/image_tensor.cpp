#include "data/image_tensor.h"

#include <ATen/ATen.h>

#include "core/progress.h"
#include "data/image_io.h"
#include "dist/sharding.h"

namespace spn {
ImageTransform image_transform_of(const DataConfig& data) {
  return ImageTransform{data.image_size, data.preprocess, data.target_ratio};
}

at::Tensor decode_split_images(const CirrSplit& split, const std::vector<int64_t>& indices,
                               const ImageTransform& transform) {
  const int64_t size = transform.size;
  at::Tensor pixels = at::empty({static_cast<int64_t>(indices.size()), 3, size, size}, at::kByte);
  for (size_t i = 0; i < indices.size(); ++i)
    pixels[i].copy_(transform_image(read_image(split.image_path(indices[i])), transform));
  return pixels;
}

at::Tensor load_split_images(Communicator& comm, const CirrSplit& split, const std::vector<int64_t>& indices,
                             const ImageTransform& transform, bool show_progress) {
  constexpr int64_t kChunk = 256;
  const int64_t size = transform.size;
  const ShardRange mine = shard_range(static_cast<int64_t>(indices.size()), comm.size(), comm.rank());
  std::vector<at::Tensor> chunks = {at::empty({0, 3, size, size}, at::kByte)};
  Progress progress("decoding " + split.name + " images", mine.size(), show_progress);
  for (int64_t begin = mine.begin; begin < mine.end; begin += kChunk) {
    const int64_t end = std::min(mine.end, begin + kChunk);
    chunks.push_back(decode_split_images(split, {indices.begin() + begin, indices.begin() + end}, transform));
    progress.update(end - mine.begin);
  }
  progress.finish();
  return comm.all_gather(at::cat(chunks));
}

at::Tensor normalize_images(const at::Tensor& pixels) { return pixels.to(at::kFloat).div_(127.5).sub_(1.0); }

}  // namespace spn
