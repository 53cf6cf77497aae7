#include "data/deduplication.h"

#include <torch/torch.h>

#include <unordered_map>

#include "core/hash.h"
#include "core/progress.h"
#include "data/image_io.h"
#include "dist/sharding.h"

namespace spn {
namespace {

int64_t pixel_hash(const RgbImage& image) {
  const int64_t dims[2] = {image.width, image.height};
  const uint64_t hash = fnv1a(image.pixels.data(), image.pixels.size(), fnv1a(dims, sizeof dims));
  return static_cast<int64_t>(hash);
}

bool same_pixels(const RgbImage& a, const RgbImage& b) {
  return a.width == b.width && a.height == b.height && a.pixels == b.pixels;
}

}  // namespace

Deduplication deduplicate_images(Communicator& comm, const CirrSplit& split, bool show_progress) {
  const int64_t n = static_cast<int64_t>(split.images.size());
  const ShardRange mine = shard_range(n, comm.size(), comm.rank());
  Progress progress("de-duplicating " + split.name + " images", mine.size(), show_progress);
  torch::Tensor local_hashes = torch::empty({mine.size()}, torch::kLong);
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    local_hashes[i - mine.begin] = pixel_hash(read_image(split.image_path(i)));
    progress.update(i + 1 - mine.begin);
  }
  progress.finish();
  const torch::Tensor hashes = comm.all_gather(local_hashes);
  const int64_t* hash = hashes.data_ptr<int64_t>();

  // Earlier images with each hash, in split order.
  std::unordered_map<int64_t, std::vector<int64_t>> earlier;
  std::vector<std::vector<int64_t>> candidates(n);
  for (int64_t i = 0; i < n; ++i) {
    auto& seen = earlier[hash[i]];
    candidates[i] = seen;
    seen.push_back(i);
  }
  // Each rank settles its own images: the first earlier image with the same bytes,
  // else itself (a collision, or the first of its group).
  torch::Tensor local_canonical = torch::empty({mine.size()}, torch::kLong);
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    int64_t kept = i;
    if (!candidates[i].empty()) {
      const RgbImage image = read_image(split.image_path(i));
      for (int64_t j : candidates[i])
        if (same_pixels(image, read_image(split.image_path(j)))) {
          kept = j;
          break;
        }
    }
    local_canonical[i - mine.begin] = kept;
  }
  const torch::Tensor canonical = comm.all_gather(local_canonical);

  Deduplication result;
  result.canonical.assign(canonical.data_ptr<int64_t>(), canonical.data_ptr<int64_t>() + n);
  // Candidates were tried in split order, so each kept copy is the first image with
  // those bytes and is kept itself.
  for (int64_t i = 0; i < n; ++i)
    if (result.canonical[i] == i) result.unique.push_back(i);
  return result;
}

}  // namespace spn
