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

torch::Tensor ClipTextEmbeddingsImpl::forward(const torch::Tensor& tokens) {
  const int64_t length = tokens.size(1);
  if (length > position_embedding_->weight.size(0))
    throw UserError("token rows of length " + std::to_string(length) + " exceed the text tower's " +
                    std::to_string(position_embedding_->weight.size(0)) + " positions");
  return token_embedding_(tokens) + position_embedding_->weight.slice(0, 0, length).unsqueeze(0);
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const ClipTextConfig& config) : eos_token_id_(config.eos_token_id) {
  embeddings_ = register_module("embeddings", ClipTextEmbeddings(config));
  encoder_ = register_module("encoder", ClipEncoder(config.transformer));
  final_layer_norm_ = register_module(
      "final_layer_norm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config.transformer.hidden_size}).eps(config.transformer.layer_norm_eps)));
}

torch::Tensor ClipTextTransformerImpl::forward(const torch::Tensor& tokens) {
  const int64_t length = tokens.size(1);
  torch::Tensor x = embeddings_(tokens);
  // Causal: a position attends to itself and earlier ones, so the end token's features
  // do not depend on the padding after it.
  torch::Tensor mask = torch::full({length, length}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);
  x = final_layer_norm_(encoder_(x, mask));
  // CLIP's end token has the largest id, so configs with the legacy eos_token_id (2)
  // pool at the argmax; the others at the first occurrence of their end token.
  torch::Tensor end = eos_token_id_ == 2 ? tokens.argmax(1) : tokens.eq(eos_token_id_).to(torch::kInt).argmax(1);
  return x.index({torch::arange(tokens.size(0), end.options()), end});
}

ClipTextTower::ClipTextTower(const ClipTextConfig& config, int64_t projection_dim) {
  text_model_ = register_module("text_model", ClipTextTransformer(config));
  text_projection_ = register_module(
      "text_projection",
      torch::nn::Linear(torch::nn::LinearOptions(config.transformer.hidden_size, projection_dim).bias(false)));
}

torch::Tensor ClipTextTower::forward(const torch::Tensor& tokens) { return text_projection_(text_model_(tokens)); }

}  // namespace spn
