#include "models/qformer.h"

#include <torch/torch.h>

#include "models/multi_head_attention.h"

namespace spn {
namespace {

torch::nn::LayerNorm qformer_norm(const QFormerConfig& config) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

// LAVIS's additive mask value for padding (BERT's; finite, so fp16 holds it).
constexpr double kMaskedScore = -10000.0;

}  // namespace

QFormerMultiHeadAttentionImpl::QFormerMultiHeadAttentionImpl(const QFormerConfig& config, int64_t kv_width)
    : heads_(config.num_heads) {
  query_ = register_module("query", torch::nn::Linear(config.hidden_size, config.hidden_size));
  key_ = register_module("key", torch::nn::Linear(kv_width, config.hidden_size));
  value_ = register_module("value", torch::nn::Linear(kv_width, config.hidden_size));
}

torch::Tensor QFormerMultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                                     const torch::Tensor& context) {
  const torch::Tensor& source = context.defined() ? context : x;
  return multi_head_attention(query_(x), key_(source), value_(source), heads_, mask);
}

QFormerOutputImpl::QFormerOutputImpl(const QFormerConfig& config, int64_t in_features) {
  dense_ = register_module("dense", torch::nn::Linear(in_features, config.hidden_size));
  layer_norm_ = register_module("LayerNorm", qformer_norm(config));
}

torch::Tensor QFormerOutputImpl::forward(const torch::Tensor& h, const torch::Tensor& residual) {
  return layer_norm_(dense_(h) + residual);
}

QFormerAttentionImpl::QFormerAttentionImpl(const QFormerConfig& config, int64_t kv_width) {
  attention_ = register_module("attention", QFormerMultiHeadAttention(config, kv_width));
  output_ = register_module("output", QFormerOutput(config, config.hidden_size));
}

torch::Tensor QFormerAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                            const torch::Tensor& context) {
  return output_(attention_(x, mask, context), x);
}

QFormerIntermediateImpl::QFormerIntermediateImpl(const QFormerConfig& config) {
  dense_ = register_module("dense", torch::nn::Linear(config.hidden_size, config.intermediate_size));
}

torch::Tensor QFormerIntermediateImpl::forward(const torch::Tensor& x) { return torch::gelu(dense_(x)); }

QFormerLayerImpl::QFormerLayerImpl(const QFormerConfig& config, int64_t index) {
  attention_ = register_module("attention", QFormerAttention(config, config.hidden_size));
  if (index % config.cross_attention_frequency == 0)
    crossattention_ = register_module("crossattention", QFormerAttention(config, config.encoder_hidden_size));
  intermediate_ = register_module("intermediate", QFormerIntermediate(config));
  output_ = register_module("output", QFormerOutput(config, config.intermediate_size));
  intermediate_query_ = register_module("intermediate_query", QFormerIntermediate(config));
  output_query_ = register_module("output_query", QFormerOutput(config, config.intermediate_size));
}

torch::Tensor QFormerLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                        const torch::Tensor& image_tokens, int64_t query_length) {
  const torch::Tensor h = attention_(x, mask, torch::Tensor());
  auto text_ffn = [&](const torch::Tensor& t) { return output_(intermediate_(t), t); };
  if (!image_tokens.defined()) return text_ffn(h);  // SPRC: no image, no query path
  torch::Tensor queries = h.narrow(1, 0, query_length);
  // Every image token is valid: the cross-attention needs no mask.
  if (crossattention_) queries = crossattention_(queries, torch::Tensor(), image_tokens);
  torch::Tensor out = output_query_(intermediate_query_(queries), queries);
  if (h.size(1) == query_length) return out;
  return torch::cat({out, text_ffn(h.narrow(1, query_length, h.size(1) - query_length))}, 1);
}

QFormerEncoderImpl::QFormerEncoderImpl(const QFormerConfig& config) {
  for (int64_t i = 0; i < config.num_layers; ++i) layers_->push_back(QFormerLayer(config, i));
  register_module("layer", layers_);
}

torch::Tensor QFormerEncoderImpl::forward(torch::Tensor x, const torch::Tensor& mask, const torch::Tensor& image_tokens,
                                          int64_t query_length) {
  for (auto& layer : *layers_) x = layer->as<QFormerLayer>()->forward(x, mask, image_tokens, query_length);
  return x;
}

QFormerImpl::QFormerImpl(const QFormerConfig& config) {
  layernorm_ = register_module("layernorm", qformer_norm(config));
  encoder_ = register_module("encoder", QFormerEncoder(config));
}

torch::Tensor QFormerImpl::forward(const torch::Tensor& embeddings, const torch::Tensor& attention_mask,
                                   const torch::Tensor& image_tokens, int64_t query_length) {
  torch::Tensor x = layernorm_(embeddings);
  torch::Tensor mask;
  if (attention_mask.defined())  // [B, L] -> [B, 1, 1, L], added to every head's scores
    mask = ((1 - attention_mask.to(x.dtype())) * kMaskedScore).view({x.size(0), 1, 1, x.size(1)});
  const torch::Tensor image = image_tokens.defined() ? image_tokens.to(x.dtype()) : image_tokens;
  return encoder_(x, mask, image, query_length);
}

}  // namespace spn
