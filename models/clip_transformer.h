#pragma once
// The pre-LayerNorm transformer of both CLIP towers, with Hugging Face's parameter
// names (layers.N.self_attn.{q,k,v,out}_proj, layer_norm1/2, mlp.fc1/fc2), so a
// model.safetensors of openai/clip-vit-* loads by name.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "models/clip_config.h"

namespace spn {

// quick_gelu (x * sigmoid(1.702 x), OpenAI's) or the exact gelu.
torch::Tensor clip_activation(const torch::Tensor& x, const std::string& name);

// Multi-head attention with separate q/k/v projections; `mask` ([L, L], added to the
// scores) may be undefined.
class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(int64_t hidden, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

 private:
  int64_t heads_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, out_proj_{nullptr};
};
TORCH_MODULE(ClipAttention);

// "mlp.fc1", "mlp.fc2" with the activation between.
class ClipMlpImpl : public torch::nn::Module {
 public:
  explicit ClipMlpImpl(const ClipTransformerConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::string activation_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(ClipMlp);

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderLayerImpl(const ClipTransformerConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

 private:
  ClipAttention self_attn_{nullptr};
  torch::nn::LayerNorm layer_norm1_{nullptr}, layer_norm2_{nullptr};
  ClipMlp mlp_{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

// "layers.N...": the stack of encoder layers.
class ClipEncoderImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderImpl(const ClipTransformerConfig& config);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask);

 private:
  torch::nn::ModuleList layers_;
};
TORCH_MODULE(ClipEncoder);

}  // namespace spn
