#include "data/image_augment.h"

#include <ATen/ATen.h>

#include <cmath>
#include <random>

#include "core/random.h"
#include "data/image_transform.h"

namespace spn {
namespace {

// A uniform double in [lo, hi) from the top 53 bits of one draw (the standard's
// uniform_real_distribution is implementation-defined).
double uniform_between(std::mt19937_64& rng, double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Python's int(round(x)): halves to even, as std::nearbyint in the default rounding mode.
int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

}  // namespace

ImageAugment image_augment_of(const DataConfig& data) {
  ImageAugment augment;
  augment.kind = data.augment;
  augment.scale_min = data.crop_scale_min;
  augment.scale_max = data.crop_scale_max;
  return augment;
}

CropBox random_resized_crop_box(int64_t height, int64_t width, const ImageAugment& augment, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const double area = static_cast<double>(height * width);
  const double log_ratio_min = std::log(augment.ratio_min), log_ratio_max = std::log(augment.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * uniform_between(rng, augment.scale_min, augment.scale_max);
    const double ratio = std::exp(uniform_between(rng, log_ratio_min, log_ratio_max));
    const int64_t w = round_half_even(std::sqrt(target_area * ratio));
    const int64_t h = round_half_even(std::sqrt(target_area / ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const auto top = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(height - h + 1)));
      const auto left = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(width - w + 1)));
      return CropBox{top, left, h, w};
    }
  }
  // No draw fitted: the centre of the image, cut to the nearest allowed aspect ratio.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < augment.ratio_min)
    h = round_half_even(static_cast<double>(w) / augment.ratio_min);
  else if (in_ratio > augment.ratio_max)
    w = round_half_even(static_cast<double>(h) * augment.ratio_max);
  return CropBox{(height - h) / 2, (width - w) / 2, h, w};
}

void augment_image(uint8_t* pixels, int64_t size, const ImageAugment& augment, uint64_t seed) {
  if (!augment.enabled()) return;
  const CropBox box = random_resized_crop_box(size, size, augment, seed);
  if (box.height == size && box.width == size) return;  // PIL's resize of an unchanged size is a copy
  at::Tensor image = at::from_blob(pixels, {3, size, size}, at::kByte);
  const at::Tensor crop = image.narrow(1, box.top, box.height).narrow(2, box.left, box.width);
  image.copy_(resize_bicubic(crop, size, size));
}

}  // namespace spn
