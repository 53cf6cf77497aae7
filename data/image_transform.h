#pragma once
// From a decoded image to the encoder's square input (uint8 [3, S, S]):
//   "resize"       squeeze to S x S (bilinear): the built-in benchmark's square scenes;
//   "center_crop"  CLIP's preprocessing: the shorter side to S (bicubic, antialiased
//                  as PIL resamples), then the centre S x S;
//   "targetpad"    CLIP4CIR's and SEARLE's: black borders up to the aspect ratio
//                  target_ratio when an image is more elongated, then center_crop.
// The mean/std normalisation is the encoder's (ClipImageTower). Bicubic resampling is
// LibTorch's antialiased kernel, which follows PIL's, in PIL's two 8-bit passes; it
// matches torchvision + PIL (tests/golden/preprocess) to within one level on a few
// pixels in a thousand.
#include <ATen/core/Tensor.h>

#include <string>

#include "config/choices.h"
#include "data/image_io.h"

namespace spn {

struct ImageTransform {
  int64_t size = 64;
  Preprocess mode = Preprocess::Resize;
  double target_ratio = 1.25;
};

at::Tensor transform_image(const RgbImage& image, const ImageTransform& transform);

// A uint8 [3, H, W] image resized to height x width as PIL's bicubic resize does it:
// horizontally, rounded to 8 bits, then vertically (a pass whose size is unchanged is
// skipped). What center_crop, targetpad and data.augment's crops resize with.
at::Tensor resize_bicubic(const at::Tensor& chw, int64_t height, int64_t width);

}  // namespace spn
