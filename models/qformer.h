#pragma once
// BLIP-2's Querying Transformer as SPRC runs it, with Hugging Face's Blip2QFormerModel
// names (layernorm, encoder.layer.N.{attention, crossattention, intermediate, output,
// intermediate_query, output_query}): a post-LayerNorm BERT whose layers 0, f, 2f, ...
// (f = cross_attention_frequency) let the query positions attend to image tokens, and
// whose query positions have a feed-forward network of their own.
//
// SPRC's change (LAVIS's Qformer.py as SPRC edits it): the query positions take the
// cross-attention and the query FFN only when image tokens are given. In a pass without
// image every position, query slots included, takes the text FFN. transformers computes
// that pass with query_length = 0; given query_length > 0 and no image it would run the
// query FFN, which SPRC never does.
//
// Attention masks: 1 = attend, 0 = padding, turned into -10000 added to the scores as in
// LAVIS (Hugging Face adds the dtype's lowest value; both give zero weight). Dropout is
// not applied: the Q-Former computes as in evaluation.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "models/blip2_config.h"

namespace spn {

// "query", "key", "value": keys and values from `kv_width`-wide inputs.
class QFormerMultiHeadAttentionImpl : public torch::nn::Module {
 public:
  QFormerMultiHeadAttentionImpl(const QFormerConfig& config, int64_t kv_width);
  // `context` undefined: self-attention. `mask` is additive, or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& context);

 private:
  int64_t heads_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr};
};
TORCH_MODULE(QFormerMultiHeadAttention);

// "dense", "LayerNorm": LayerNorm(dense(h) + residual), BERT's sublayer output.
class QFormerOutputImpl : public torch::nn::Module {
 public:
  QFormerOutputImpl(const QFormerConfig& config, int64_t in_features);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& residual);

 private:
  torch::nn::Linear dense_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
};
TORCH_MODULE(QFormerOutput);

// "attention", "output".
class QFormerAttentionImpl : public torch::nn::Module {
 public:
  QFormerAttentionImpl(const QFormerConfig& config, int64_t kv_width);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& context);

 private:
  QFormerMultiHeadAttention attention_{nullptr};
  QFormerOutput output_{nullptr};
};
TORCH_MODULE(QFormerAttention);

// "dense" followed by the exact GELU.
class QFormerIntermediateImpl : public torch::nn::Module {
 public:
  explicit QFormerIntermediateImpl(const QFormerConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear dense_{nullptr};
};
TORCH_MODULE(QFormerIntermediate);

class QFormerLayerImpl : public torch::nn::Module {
 public:
  QFormerLayerImpl(const QFormerConfig& config, int64_t index);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& image_tokens,
                        int64_t query_length);

 private:
  QFormerAttention attention_{nullptr}, crossattention_{nullptr};  // the latter in cross-attention layers only
  QFormerIntermediate intermediate_{nullptr}, intermediate_query_{nullptr};
  QFormerOutput output_{nullptr}, output_query_{nullptr};
};
TORCH_MODULE(QFormerLayer);

// "layer.N".
class QFormerEncoderImpl : public torch::nn::Module {
 public:
  explicit QFormerEncoderImpl(const QFormerConfig& config);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask, const torch::Tensor& image_tokens,
                        int64_t query_length);

 private:
  torch::nn::ModuleList layers_;
};
TORCH_MODULE(QFormerEncoder);

class QFormerImpl : public torch::nn::Module {
 public:
  explicit QFormerImpl(const QFormerConfig& config);
  // `embeddings` [B, L, H]: the query slots (the first `query_length`) followed by word +
  // position embeddings, before the embedding LayerNorm (which this applies).
  // `attention_mask` [B, L] of 1/0, or undefined (all attend). `image_tokens`
  // [B, N, encoder_hidden_size] or undefined (a pass without image) -> [B, L, H].
  torch::Tensor forward(const torch::Tensor& embeddings, const torch::Tensor& attention_mask,
                        const torch::Tensor& image_tokens, int64_t query_length);

 private:
  torch::nn::LayerNorm layernorm_{nullptr};
  QFormerEncoder encoder_{nullptr};
};
TORCH_MODULE(QFormer);

}  // namespace spn
