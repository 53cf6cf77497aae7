#include "data/image_tensor.h"

#include <ATen/ATen.h>

#include "core/progress.h"
#include "data/image_io.h"
#include "dist/sharding.h"

namespace spn {
namespace {

at::Tensor to_chw(const RgbImage& image, int64_t size) {
  at::Tensor hwc = at::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, at::kByte);
  at::Tensor chw = hwc.permute({2, 0, 1});
  if (image.height == size && image.width == size) return chw.contiguous();
  at::Tensor resized = at::upsample_bilinear2d(chw.unsqueeze(0).to(at::kFloat), {size, size}, false);
  return resized.squeeze(0).round().clamp(0, 255).to(at::kByte);
}

}  // namespace

at::Tensor decode_split_images(const CirrSplit& split, const std::vector<int64_t>& indices, int64_t size) {
  at::Tensor pixels = at::empty({static_cast<int64_t>(indices.size()), 3, size, size}, at::kByte);
  for (size_t i = 0; i < indices.size(); ++i) pixels[i].copy_(to_chw(read_image(split.image_path(indices[i])), size));
  return pixels;
}

at::Tensor load_split_images(Communicator& comm, const CirrSplit& split, const std::vector<int64_t>& indices,
                             int64_t size, bool show_progress) {
  constexpr int64_t kChunk = 256;
  const ShardRange mine = shard_range(static_cast<int64_t>(indices.size()), comm.size(), comm.rank());
  std::vector<at::Tensor> chunks = {at::empty({0, 3, size, size}, at::kByte)};
  Progress progress("decoding " + split.name + " images", mine.size(), show_progress);
  for (int64_t begin = mine.begin; begin < mine.end; begin += kChunk) {
    const int64_t end = std::min(mine.end, begin + kChunk);
    chunks.push_back(decode_split_images(split, {indices.begin() + begin, indices.begin() + end}, size));
    progress.update(end - mine.begin);
  }
  progress.finish();
  return comm.all_gather(at::cat(chunks));
}

at::Tensor normalize_images(const at::Tensor& pixels) { return pixels.to(at::kFloat).div_(127.5).sub_(1.0); }

}  // namespace spn
