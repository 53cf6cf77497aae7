#pragma once
// What a CIR model is made of. A new backbone (CLIP, ...) implements these and is
// added to the registry; trainers only see CirModel.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>

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

// What a head's random draws in training (dropout masks) depend on: row r of a forward
// draws from (seed, first_row + r) alone, so a row draws the same whichever rank holds
// it, and runs match across world sizes.
struct RowDraws {
  uint64_t seed = 0;      // of the training step and of the call within it
  int64_t first_row = 0;  // global index of the forward's first row
};

// Unit-norm reference-image and text features -> [B, D] query (not normalised).
class CirHead : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features,
                                const RowDraws& draws) = 0;
};

}  // namespace spn
