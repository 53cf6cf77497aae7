#pragma once
// CLIP's text tower with Hugging Face's names (text_model.*, text_projection): token
// and position embeddings, a causal pre-LayerNorm transformer, the final LayerNorm,
// the features at the end token, and the projection.
#include <torch/nn/modules/embedding.h>

#include "models/clip_transformer.h"
#include "models/interfaces.h"

namespace spn {

class ClipTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipTextEmbeddingsImpl(const ClipTextConfig& config);
  torch::Tensor forward(const torch::Tensor& tokens);

 private:
  torch::nn::Embedding token_embedding_{nullptr}, position_embedding_{nullptr};
};
TORCH_MODULE(ClipTextEmbeddings);

class ClipTextTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipTextTransformerImpl(const ClipTextConfig& config);
  // [B, L] token rows -> [B, hidden] features at each row's end token.
  torch::Tensor forward(const torch::Tensor& tokens);

 private:
  int64_t eos_token_id_;
  ClipTextEmbeddings embeddings_{nullptr};
  ClipEncoder encoder_{nullptr};
  torch::nn::LayerNorm final_layer_norm_{nullptr};
};
TORCH_MODULE(ClipTextTransformer);

// [B, L] CLIP token rows (start, ids, end, zero padding) -> [B, projection_dim].
class ClipTextTower : public TextEncoder {
 public:
  ClipTextTower(const ClipTextConfig& config, int64_t projection_dim);
  torch::Tensor forward(const torch::Tensor& tokens) override;

 private:
  ClipTextTransformer text_model_{nullptr};
  torch::nn::Linear text_projection_{nullptr};
};

}  // namespace spn
