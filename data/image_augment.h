#pragma once
// Training-time augmentation (data.augment): what a training image goes through after
// preprocessing, in the loader's decode threads (data/image_prefetcher.h).
//   "random_resized_crop"  torchvision's RandomResizedCrop (Pic2Word trains with scale
//                          0.9-1.0, bicubic): up to 10 draws of an area (a uniform
//                          share in [scale_min, scale_max] of the image's) and an
//                          aspect ratio (log-uniform in [3/4, 4/3]); the first box that
//                          fits is placed uniformly, else the centre box of the whole
//                          image clamped to the ratio range; the box is resized back to
//                          the image's size (bicubic, antialiased, PIL's two 8-bit passes).
// It applies to the preprocessed S x S image (after targetpad or center_crop, and after
// reading the decoded-image cache), not to the original file: a run trains on the same
// pixels with and without the cache, and the cache stays a cache of preprocessing only.
// Draws come from mt19937_64 seeded by the caller (train/step_images.h seeds it with
// the experiment seed, the step and the image's place in the global batch), with
// platform-independent conversions (core/random.h), so a crop is a function of its seed.
#include <cstdint>

#include "config/choices.h"
#include "config/data_config.h"

namespace spn {

struct ImageAugment {
  ImageAugmentKind kind = ImageAugmentKind::None;
  double scale_min = 0.08;  // share of the image's area
  double scale_max = 1.0;
  double ratio_min = 3.0 / 4.0;  // width / height
  double ratio_max = 4.0 / 3.0;

  bool enabled() const { return kind != ImageAugmentKind::None; }
};

// [data]'s augment and crop_scale_min/max.
ImageAugment image_augment_of(const DataConfig& data);

// Rows [top, top + height) and columns [left, left + width) of an image.
struct CropBox {
  int64_t top = 0;
  int64_t left = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// RandomResizedCrop's box for a height x width image, drawn from `seed`.
CropBox random_resized_crop_box(int64_t height, int64_t width, const ImageAugment& augment, uint64_t seed);

// `augment` applied in place to the uint8 [3, size, size] image at `pixels`, with draws
// from `seed`. Nothing happens for kind None or a box of the whole image.
void augment_image(uint8_t* pixels, int64_t size, const ImageAugment& augment, uint64_t seed);

}  // namespace spn
