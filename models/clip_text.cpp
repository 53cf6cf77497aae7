#include "models/clip_text.h"

#include <limits>

#include "core/error.h"

namespace spn {

ClipTextEmbeddingsImpl::ClipTextEmbeddingsImpl(const ClipTextConfig& config) {
  token_embedding_ =
      register_module("token_embedding", torch::nn::Embedding(config.vocab_size, config.transformer.hidden_size));
  position_embedding_ =
      register_module("position_embedding", torch::nn::Embedding(config.max_positions, config.transformer.hidden_size));
}

torch::Tensor ClipTextEmbeddingsImpl::embed(const torch::Tensor& tokens) { return token_embedding_(tokens); }

torch::Tensor ClipTextEmbeddingsImpl::add_positions(const torch::Tensor& embeddings) {
  const int64_t length = embeddings.size(1);
  if (length > position_embedding_->weight.size(0))
    throw UserError("token rows of length " + std::to_string(length) + " exceed the text tower's " +
                    std::to_string(position_embedding_->weight.size(0)) + " positions");
  return embeddings + position_embedding_->weight.slice(0, 0, length).unsqueeze(0);
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const ClipTextConfig& config) : eos_token_id_(config.eos_token_id) {
  embeddings_ = register_module("embeddings", ClipTextEmbeddings(config));
  encoder_ = register_module("encoder", ClipEncoder(config.transformer));
  final_layer_norm_ = register_module(
      "final_layer_norm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config.transformer.hidden_size}).eps(config.transformer.layer_norm_eps)));
}

torch::Tensor ClipTextTransformerImpl::forward(const torch::Tensor& tokens) { return encode(embed(tokens), tokens); }

torch::Tensor ClipTextTransformerImpl::embed(const torch::Tensor& tokens) { return embeddings_->embed(tokens); }

torch::Tensor ClipTextTransformerImpl::end_positions(const torch::Tensor& tokens) const {
  // CLIP's end token has the largest id, so configs with the legacy eos_token_id (2)
  // pool at the argmax; the others at the first occurrence of their end token.
  return eos_token_id_ == 2 ? tokens.argmax(1) : tokens.eq(eos_token_id_).to(torch::kInt).argmax(1);
}

torch::Tensor ClipTextTransformerImpl::encode(const torch::Tensor& embeddings, const torch::Tensor& tokens) {
  if (embeddings.dim() != 3 || tokens.dim() != 2 || embeddings.size(0) != tokens.size(0) ||
      embeddings.size(1) != tokens.size(1))
    throw UserError("text embeddings of shape " + c10::str(embeddings.sizes()) + " do not match token rows of shape " +
                    c10::str(tokens.sizes()) + " (expected [B, L, hidden] and [B, L])");
  const int64_t length = tokens.size(1);
  torch::Tensor x = embeddings_->add_positions(embeddings);
  // Causal: a position attends to itself and earlier ones, so the end token's features
  // do not depend on the padding after it.
  torch::Tensor mask = torch::full({length, length}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);
  x = final_layer_norm_(encoder_(x, mask));
  const torch::Tensor end = end_positions(tokens).to(x.device());
  return x.index({torch::arange(tokens.size(0), end.options()), end});
}

ClipTextTower::ClipTextTower(const ClipTextConfig& config, int64_t projection_dim) {
  text_model_ = register_module("text_model", ClipTextTransformer(config));
  text_projection_ = register_module(
      "text_projection",
      torch::nn::Linear(torch::nn::LinearOptions(config.transformer.hidden_size, projection_dim).bias(false)));
}

torch::Tensor ClipTextTower::forward(const torch::Tensor& tokens) { return encode(embed(tokens), tokens); }

torch::Tensor ClipTextTower::embed(const torch::Tensor& tokens) { return text_model_->embed(tokens); }

torch::Tensor ClipTextTower::encode(const torch::Tensor& embeddings, const torch::Tensor& tokens) {
  return text_projection_(text_model_->encode(embeddings, tokens));
}

}  // namespace spn
