#include "models/small_encoders.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>

namespace spn {
namespace {

torch::Tensor real_token_mask(const torch::Tensor& tokens) { return tokens.ne(0); }

}  // namespace

SmallCnnEncoder::SmallCnnEncoder(int64_t width, int64_t image_size, int64_t embed_dim) {
  const int64_t channels[] = {3, width, 2 * width, 4 * width, 4 * width};
  features_ = torch::nn::Sequential();
  for (int stage = 0; stage < 4; ++stage) {
    features_->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels[stage], channels[stage + 1], 3).stride(2).padding(1)));
    features_->push_back(torch::nn::ReLU());
  }
  register_module("features", features_);
  const int64_t side = (image_size + 15) / 16;
  project_ = register_module("project", torch::nn::Linear(4 * width * side * side, embed_dim));
}

torch::Tensor SmallCnnEncoder::forward(const torch::Tensor& images) {
  return project_->forward(features_->forward(images).flatten(1));
}

GruTextEncoder::GruTextEncoder(int64_t vocab_size, int64_t width, int64_t embed_dim) {
  embed_ =
      register_module("embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab_size, width).padding_idx(0)));
  gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(width, width).batch_first(true)));
  project_ = register_module("project", torch::nn::Linear(width, embed_dim));
}

torch::Tensor GruTextEncoder::forward(const torch::Tensor& tokens) {
  const torch::Tensor outputs = std::get<0>(gru_->forward(embed_->forward(tokens)));  // [B, L, W]
  // Padding sits at the end and the GRU is causal, so the output at the last real
  // token does not depend on the padding. An empty text uses position 0.
  const torch::Tensor last = (real_token_mask(tokens).sum(1) - 1).clamp_min(0);
  const torch::Tensor index = last.view({-1, 1, 1}).expand({-1, 1, outputs.size(2)});
  return project_->forward(outputs.gather(1, index).squeeze(1));
}

BagOfWordsTextEncoder::BagOfWordsTextEncoder(int64_t vocab_size, int64_t width, int64_t embed_dim) {
  embed_ =
      register_module("embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocab_size, width).padding_idx(0)));
  mlp_ = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(width, width), torch::nn::ReLU(),
                                                      torch::nn::Linear(width, embed_dim)));
}

torch::Tensor BagOfWordsTextEncoder::forward(const torch::Tensor& tokens) {
  const torch::Tensor embedded = embed_->forward(tokens);
  const torch::Tensor mask = real_token_mask(tokens).unsqueeze(2).to(embedded.scalar_type());
  const torch::Tensor mean = (embedded * mask).sum(1) / mask.sum(1).clamp_min(1.0);
  return mlp_->forward(mean);
}

}  // namespace spn
