#include "models/eva_vit.h"

#include <torch/nn/functional/normalization.h>

#include "core/error.h"
#include "models/multi_head_attention.h"

namespace spn {

EvaVisionEmbeddingsImpl::EvaVisionEmbeddingsImpl(const EvaVisionConfig& config) {
  const int64_t hidden = config.hidden_size, patch = config.patch_size;
  const int64_t patches = (config.image_size / patch) * (config.image_size / patch);
  class_embedding_ = register_parameter("class_embedding", torch::randn({1, 1, hidden}));
  patch_embedding_ =
      register_module("patch_embedding", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, hidden, patch).stride(patch)));
  position_embedding_ = register_parameter("position_embedding", torch::randn({1, patches + 1, hidden}));
}

torch::Tensor EvaVisionEmbeddingsImpl::forward(const torch::Tensor& pixels) {
  torch::Tensor patches = patch_embedding_(pixels).flatten(2).transpose(1, 2);  // [B, P, D]
  torch::Tensor cls = class_embedding_.expand({pixels.size(0), 1, -1}).to(patches.dtype());
  return torch::cat({cls, patches}, 1) + position_embedding_.to(patches.dtype());
}

EvaAttentionImpl::EvaAttentionImpl(int64_t hidden, int64_t heads) : heads_(heads) {
  qkv_ = register_module("qkv", torch::nn::Linear(hidden, 3 * hidden));
  projection_ = register_module("projection", torch::nn::Linear(hidden, hidden));
}

torch::Tensor EvaAttentionImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> qkv = qkv_(x).chunk(3, -1);
  return projection_(multi_head_attention(qkv[0], qkv[1], qkv[2], heads_, torch::Tensor()));
}

EvaBlockImpl::EvaBlockImpl(const EvaVisionConfig& config) {
  auto norm = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
  };
  ClipTransformerConfig mlp;
  mlp.hidden_size = config.hidden_size;
  mlp.intermediate_size = config.intermediate_size;
  mlp.activation = "gelu";
  layer_norm1_ = register_module("layer_norm1", norm());
  self_attn_ = register_module("self_attn", EvaAttention(config.hidden_size, config.num_heads));
  layer_norm2_ = register_module("layer_norm2", norm());
  mlp_ = register_module("mlp", ClipMlp(mlp));
}

torch::Tensor EvaBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x + self_attn_(layer_norm1_(x));
  return h + mlp_(layer_norm2_(h));
}

EvaEncoderImpl::EvaEncoderImpl(const EvaVisionConfig& config) {
  for (int64_t i = 0; i < config.num_layers; ++i) layers_->push_back(EvaBlock(config));
  register_module("layers", layers_);
}

torch::Tensor EvaEncoderImpl::forward(torch::Tensor x) {
  for (auto& layer : *layers_) x = layer->as<EvaBlock>()->forward(x);
  return x;
}

EvaVisionTransformerImpl::EvaVisionTransformerImpl(const EvaVisionConfig& config) : image_size_(config.image_size) {
  embeddings_ = register_module("embeddings", EvaVisionEmbeddings(config));
  encoder_ = register_module("encoder", EvaEncoder(config));
  post_layernorm_ = register_module(
      "post_layernorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.ln_vision_eps)));
}

torch::Tensor EvaVisionTransformerImpl::forward(const torch::Tensor& pixels) {
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != image_size_ || pixels.size(3) != image_size_)
    throw UserError("the BLIP-2 image tower takes [B, 3, " + std::to_string(image_size_) + ", " +
                    std::to_string(image_size_) + "] images, got " + std::string(c10::str(pixels.sizes())) +
                    " (set data.image_size to the model's)");
  torch::Tensor x = encoder_(embeddings_(pixels));
  const auto& norm = post_layernorm_->options;
  torch::Tensor normed =
      torch::layer_norm(x.to(torch::kFloat), norm.normalized_shape(), post_layernorm_->weight.to(torch::kFloat),
                        post_layernorm_->bias.to(torch::kFloat), norm.eps());
  return normed.to(x.dtype());
}

}  // namespace spn
