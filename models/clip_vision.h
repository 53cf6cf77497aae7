#pragma once
// CLIP's vision transformer with Hugging Face's names (vision_model.*,
// visual_projection): patches + class token + positions, pre-LayerNorm, the encoder,
// the post-LayerNorm of the class token, and the projection.
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

#include "models/clip_image_tower.h"
#include "models/clip_transformer.h"

namespace spn {

class ClipVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipVisionEmbeddingsImpl(const ClipVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& pixels);

 private:
  torch::Tensor class_embedding_;
  torch::nn::Conv2d patch_embedding_{nullptr};
  torch::nn::Embedding position_embedding_{nullptr};
};
TORCH_MODULE(ClipVisionEmbeddings);

class ClipVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipVisionTransformerImpl(const ClipVisionConfig& config);
  // [B, 3, S, S] normalised pixels -> [B, hidden] class-token features.
  torch::Tensor forward(const torch::Tensor& pixels);

 private:
  ClipVisionEmbeddings embeddings_{nullptr};
  torch::nn::LayerNorm pre_layrnorm_{nullptr};  // sic: Hugging Face's name
  ClipEncoder encoder_{nullptr};
  torch::nn::LayerNorm post_layernorm_{nullptr};
};
TORCH_MODULE(ClipVisionTransformer);

class ClipVisionTower : public ClipImageTower {
 public:
  ClipVisionTower(const ClipVisionConfig& config, int64_t projection_dim);

 private:
  torch::Tensor encode_pixels(const torch::Tensor& pixels) override;
  ClipVisionTransformer vision_model_{nullptr};
  torch::nn::Linear visual_projection_{nullptr};
};

}  // namespace spn
