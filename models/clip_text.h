#pragma once
// CLIP's text tower with Hugging Face's names (text_model.*, text_projection): token
// and position embeddings, a causal pre-LayerNorm transformer, the final LayerNorm,
// the features at the end token, and the projection. The zero-shot methods edit the
// token embeddings between embed() and encode() (models/pseudo_words.h).
#include <torch/nn/modules/embedding.h>

#include "models/clip_transformer.h"
#include "models/interfaces.h"

namespace spn {

class ClipTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipTextEmbeddingsImpl(const ClipTextConfig& config);
  // [B, L] token ids -> [B, L, hidden] token embeddings (no positions yet).
  torch::Tensor embed(const torch::Tensor& tokens);
  // [B, L, hidden] token embeddings -> the same plus the position embeddings.
  torch::Tensor add_positions(const torch::Tensor& embeddings);

 private:
  torch::nn::Embedding token_embedding_{nullptr}, position_embedding_{nullptr};
};
TORCH_MODULE(ClipTextEmbeddings);

class ClipTextTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipTextTransformerImpl(const ClipTextConfig& config);
  // [B, L] token rows -> [B, hidden] features at each row's end token.
  torch::Tensor forward(const torch::Tensor& tokens);
  torch::Tensor embed(const torch::Tensor& tokens);
  // [B, L, hidden] token embeddings (from embed(), possibly edited) -> [B, hidden]
  // features at the end token of `tokens` ([B, L], the rows the embeddings stand for).
  torch::Tensor encode(const torch::Tensor& embeddings, const torch::Tensor& tokens);
  // [B] the position of each row's end token, where encode() pools.
  torch::Tensor end_positions(const torch::Tensor& tokens) const;

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
  // encode(embed(tokens), tokens).
  torch::Tensor forward(const torch::Tensor& tokens) override;
  // [B, L] token rows -> [B, L, hidden] token embeddings, before the positions.
  torch::Tensor embed(const torch::Tensor& tokens);
  // Positions, transformer, final LayerNorm, the features at each row's end token in
  // `tokens`, projection: [B, L, hidden] -> [B, projection_dim].
  torch::Tensor encode(const torch::Tensor& embeddings, const torch::Tensor& tokens);
  torch::Tensor end_positions(const torch::Tensor& tokens) const { return text_model_->end_positions(tokens); }

 private:
  ClipTextTransformer text_model_{nullptr};
  torch::nn::Linear text_projection_{nullptr};
};

}  // namespace spn
