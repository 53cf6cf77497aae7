#pragma once
// Small encoders that train on a CPU in minutes, for the built-in benchmark. No batch
// normalisation anywhere: its statistics would depend on the per-rank batch and break
// world-size invariance.
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include "models/interfaces.h"

namespace spn {

// Four stride-2 3x3 convolutions (width, 2w, 4w, 4w channels), then a linear layer on
// the flattened map, which keeps where things are (the benchmark asks about positions).
class SmallCnnEncoder : public ImageEncoder {
 public:
  SmallCnnEncoder(int64_t width, int64_t image_size, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& images) override;

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear project_{nullptr};
};

// Word embeddings, one GRU layer, the hidden state at the last real token, a linear
// projection.
class GruTextEncoder : public TextEncoder {
 public:
  GruTextEncoder(int64_t vocab_size, int64_t width, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& tokens) override;

 private:
  torch::nn::Embedding embed_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear project_{nullptr};
};

// Mean of word embeddings and a two-layer MLP: ignores word order (a baseline).
class BagOfWordsTextEncoder : public TextEncoder {
 public:
  BagOfWordsTextEncoder(int64_t vocab_size, int64_t width, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& tokens) override;

 private:
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
};

}  // namespace spn
