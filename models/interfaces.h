#pragma once
// What a CIR model is made of. A new backbone (CLIP, ...) implements these and is
// added to the registry; trainers only see CirModel.
#include <torch/nn/module.h>
#include <torch/types.h>

namespace spn {

// [B, 3, S, S] float images in [-1, 1] -> [B, D] features (not normalised).
class ImageEncoder : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
};

// [B, L] int64 token ids (0 = padding, at the end) -> [B, D] features.
class TextEncoder : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& tokens) = 0;
};

// Unit-norm reference-image and text features -> [B, D] query (not normalised).
class CirHead : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features) = 0;
};

}  // namespace spn
