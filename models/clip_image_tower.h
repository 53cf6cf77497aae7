#pragma once
// What the CLIP image towers (ViT and modified ResNet) share: CLIP's pixel
// normalisation, so they fit the ImageEncoder interface's [-1, 1] images.
#include "models/interfaces.h"

namespace spn {

// The per-channel mean and std CLIP was trained with (RGB, pixels in [0, 1]).
inline constexpr double kClipMean[3] = {0.48145466, 0.4578275, 0.40821073};
inline constexpr double kClipStd[3] = {0.26862954, 0.26130258, 0.27577711};

// [B, 3, S, S] images in [-1, 1] -> pixels normalised with kClipMean / kClipStd (also
// BLIP's and BLIP-2's normalisation).
torch::Tensor clip_normalize(const torch::Tensor& images);

class ClipImageTower : public ImageEncoder {
 public:
  explicit ClipImageTower(int64_t image_size) : image_size_(image_size) {}
  // [B, 3, S, S] pixels already normalised with kClipMean / kClipStd -> [B, projection_dim].
  // Another S is a UserError: CLIP's position embeddings fix it.
  torch::Tensor encode(const torch::Tensor& pixels);
  // [B, 3, S, S] images in [-1, 1] -> CLIP normalisation -> encode.
  torch::Tensor forward(const torch::Tensor& images) override;
  int64_t image_size() const { return image_size_; }

 protected:
  virtual torch::Tensor encode_pixels(const torch::Tensor& pixels) = 0;

 private:
  int64_t image_size_;
};

}  // namespace spn
