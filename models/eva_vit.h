#pragma once
// EVA ViT-g/14, BLIP-2's frozen image tower, with Hugging Face's Blip2VisionModel names
// (embeddings.{class_embedding, patch_embedding, position_embedding},
// encoder.layers.N.{layer_norm1, self_attn.{qkv, projection}, layer_norm2, mlp.fc1/fc2},
// post_layernorm). As EVA computes it: 14-pixel patches (a convolution with bias), the
// class token, learned positions, pre-LayerNorm blocks whose attention has q and v
// biases (the k third of qkv.bias is zero in converted checkpoints and used as stored),
// exact GELU, no final norm of its own. post_layernorm is LAVIS's ln_vision, run in
// float32 with its own epsilon (Blip2Config's ln_vision_eps) and returned in the input's
// dtype, as LAVIS's fp16-safe LayerNorm does. The block count is the config's: LAVIS
// builds EVA-CLIP-g's first 39 of 40 blocks, and converted checkpoints hold those 39.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "models/blip2_config.h"
#include "models/clip_transformer.h"

namespace spn {

class EvaVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit EvaVisionEmbeddingsImpl(const EvaVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& pixels);

 private:
  torch::Tensor class_embedding_;     // [1, 1, D]
  torch::Tensor position_embedding_;  // [1, patches + 1, D]
  torch::nn::Conv2d patch_embedding_{nullptr};
};
TORCH_MODULE(EvaVisionEmbeddings);

// Self-attention with one fused qkv projection and its bias.
class EvaAttentionImpl : public torch::nn::Module {
 public:
  EvaAttentionImpl(int64_t hidden, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_;
  torch::nn::Linear qkv_{nullptr}, projection_{nullptr};
};
TORCH_MODULE(EvaAttention);

class EvaBlockImpl : public torch::nn::Module {
 public:
  explicit EvaBlockImpl(const EvaVisionConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::LayerNorm layer_norm1_{nullptr}, layer_norm2_{nullptr};
  EvaAttention self_attn_{nullptr};
  ClipMlp mlp_{nullptr};
};
TORCH_MODULE(EvaBlock);

// "layers.N": the blocks.
class EvaEncoderImpl : public torch::nn::Module {
 public:
  explicit EvaEncoderImpl(const EvaVisionConfig& config);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::ModuleList layers_;
};
TORCH_MODULE(EvaEncoder);

class EvaVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit EvaVisionTransformerImpl(const EvaVisionConfig& config);
  // [B, 3, S, S] pixels (CLIP-normalised) -> [B, patches + 1, D] image tokens after
  // ln_vision. Another S is a UserError: the position embeddings fix it.
  torch::Tensor forward(const torch::Tensor& pixels);
  int64_t image_size() const { return image_size_; }

 private:
  int64_t image_size_;
  EvaVisionEmbeddings embeddings_{nullptr};
  EvaEncoder encoder_{nullptr};
  torch::nn::LayerNorm post_layernorm_{nullptr};
};
TORCH_MODULE(EvaVisionTransformer);

}  // namespace spn
