#include "models/clip_transformer.h"

#include <torch/nn/functional/activation.h>

#include "models/multi_head_attention.h"

namespace spn {

torch::Tensor clip_activation(const torch::Tensor& x, const std::string& name) {
  if (name == "quick_gelu") return x * torch::sigmoid(1.702 * x);
  return torch::gelu(x);
}

ClipAttentionImpl::ClipAttentionImpl(int64_t hidden, int64_t heads) : heads_(heads) {
  q_proj_ = register_module("q_proj", torch::nn::Linear(hidden, hidden));
  k_proj_ = register_module("k_proj", torch::nn::Linear(hidden, hidden));
  v_proj_ = register_module("v_proj", torch::nn::Linear(hidden, hidden));
  out_proj_ = register_module("out_proj", torch::nn::Linear(hidden, hidden));
}

torch::Tensor ClipAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  return out_proj_(multi_head_attention(q_proj_(x), k_proj_(x), v_proj_(x), heads_, mask));
}

ClipMlpImpl::ClipMlpImpl(const ClipTransformerConfig& config) : activation_(config.activation) {
  fc1_ = register_module("fc1", torch::nn::Linear(config.hidden_size, config.intermediate_size));
  fc2_ = register_module("fc2", torch::nn::Linear(config.intermediate_size, config.hidden_size));
}

torch::Tensor ClipMlpImpl::forward(const torch::Tensor& x) { return fc2_(clip_activation(fc1_(x), activation_)); }

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTransformerConfig& config) {
  auto norm = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
  };
  self_attn_ = register_module("self_attn", ClipAttention(config.hidden_size, config.num_heads));
  layer_norm1_ = register_module("layer_norm1", norm());
  mlp_ = register_module("mlp", ClipMlp(config));
  layer_norm2_ = register_module("layer_norm2", norm());
}

torch::Tensor ClipEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  torch::Tensor h = x + self_attn_(layer_norm1_(x), mask);
  return h + mlp_(layer_norm2_(h));
}

ClipEncoderImpl::ClipEncoderImpl(const ClipTransformerConfig& config) {
  for (int64_t i = 0; i < config.num_layers; ++i) layers_->push_back(ClipEncoderLayer(config));
  register_module("layers", layers_);
}

torch::Tensor ClipEncoderImpl::forward(torch::Tensor x, const torch::Tensor& mask) {
  for (auto& layer : *layers_) x = layer->as<ClipEncoderLayer>()->forward(x, mask);
  return x;
}

}  // namespace spn
