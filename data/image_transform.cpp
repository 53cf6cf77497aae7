#include "data/image_transform.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace spn {
namespace {

at::Tensor to_uint8(const at::Tensor& x) { return x.round().clamp(0, 255).to(at::kByte); }

// CLIP4CIR's TargetPad, in its integer arithmetic.
at::Tensor target_pad(const at::Tensor& chw, double target_ratio) {
  const int64_t h = chw.size(1), w = chw.size(2);
  if (static_cast<double>(std::max(w, h)) / static_cast<double>(std::min(w, h)) < target_ratio) return chw;
  const double scaled = static_cast<double>(std::max(w, h)) / target_ratio;
  const int64_t horizontal = std::max<int64_t>(static_cast<int64_t>((scaled - static_cast<double>(w)) / 2), 0);
  const int64_t vertical = std::max<int64_t>(static_cast<int64_t>((scaled - static_cast<double>(h)) / 2), 0);
  return at::constant_pad_nd(chw, {horizontal, horizontal, vertical, vertical}, 0);
}

// torchvision's Resize(size) on a PIL image (the shorter side to `size`, the longer
// truncated in proportion; bicubic) and CenterCrop(size) (offsets rounded half to
// even, as Python's round).
at::Tensor resize_and_center_crop(const at::Tensor& chw, int64_t size) {
  const int64_t h = chw.size(1), w = chw.size(2);
  const int64_t new_h = w <= h ? static_cast<int64_t>(static_cast<double>(size) * h / w) : size;
  const int64_t new_w = w <= h ? size : static_cast<int64_t>(static_cast<double>(size) * w / h);
  const at::Tensor resized = resize_bicubic(chw, new_h, new_w);
  const auto offset = [](int64_t length, int64_t crop) {
    return static_cast<int64_t>(std::nearbyint(static_cast<double>(length - crop) / 2.0));
  };
  return resized.narrow(1, offset(new_h, size), size).narrow(2, offset(new_w, size), size).contiguous();
}

}  // namespace

at::Tensor resize_bicubic(const at::Tensor& chw, int64_t height, int64_t width) {
  if (height == chw.size(1) && width == chw.size(2)) return chw;
  // LibTorch's 8-bit antialiased kernel (what torchvision's resize runs on uint8
  // images): PIL's two passes, horizontal then vertical with 8-bit rounding between
  // them, in fixed point with SIMD. It wants channels-last images; it took a third of
  // the time of the same two passes in float32 on a 500x500 -> 288x288 image.
  const at::Tensor image = chw.unsqueeze(0).contiguous(at::MemoryFormat::ChannelsLast);
  return at::_upsample_bicubic2d_aa(image, {height, width}, false).squeeze(0).contiguous();
}

at::Tensor transform_image(const RgbImage& image, const ImageTransform& transform) {
  const at::Tensor hwc =
      at::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, at::kByte);
  const at::Tensor chw = hwc.permute({2, 0, 1});
  if (transform.mode == Preprocess::CenterCrop) return resize_and_center_crop(chw, transform.size);
  if (transform.mode == Preprocess::TargetPad)
    return resize_and_center_crop(target_pad(chw, transform.target_ratio), transform.size);
  if (image.height == transform.size && image.width == transform.size) return chw.contiguous();
  return to_uint8(
      at::upsample_bilinear2d(chw.unsqueeze(0).to(at::kFloat), {transform.size, transform.size}, false).squeeze(0));
}

}  // namespace spn
