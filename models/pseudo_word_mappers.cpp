#include "models/pseudo_word_mappers.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>

#include "models/row_dropout.h"
#include "models/safetensors.h"

namespace spn {

Im2TextImpl::Im2TextImpl(const Im2TextOptions& options) : dropout_(options.dropout) {
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t width = options.input_dim;
  for (int64_t i = 0; i < options.layers; ++i) {
    layers_->push_back(torch::nn::Sequential(torch::nn::Linear(width, options.hidden_dim),
                                             torch::nn::Dropout(options.dropout), torch::nn::ReLU()));
    width = options.hidden_dim;
  }
  fc_out_ = register_module("fc_out", torch::nn::Linear(width, options.output_dim));
}

// The reference's modules one by one, each Dropout module's mask drawn by row
// (torch's generator would draw by the order of the rows on this rank).
torch::Tensor Im2TextImpl::forward(const torch::Tensor& image_features, const RowDraws& draws) {
  torch::Tensor x = image_features;
  uint64_t site = 0;
  for (const auto& block : *layers_) {
    const auto& layers = *block->as<torch::nn::Sequential>();
    x = layers[0]->as<torch::nn::LinearImpl>()->forward(x);
    if (is_training() && dropout_ > 0) x = dropout_by_global_row(x, dropout_, draws, site++);
    x = torch::relu(x);
  }
  return fc_out_(x);
}

PhiImpl::PhiImpl(const PhiOptions& options) : dropout_(options.dropout) {
  layers_ = register_module("layers", torch::nn::Sequential(torch::nn::Linear(options.input_dim, options.hidden_dim),
                                                            torch::nn::GELU(), torch::nn::Dropout(options.dropout),
                                                            torch::nn::Linear(options.hidden_dim, options.hidden_dim),
                                                            torch::nn::GELU(), torch::nn::Dropout(options.dropout),
                                                            torch::nn::Linear(options.hidden_dim, options.output_dim)));
}

torch::Tensor PhiImpl::forward(const torch::Tensor& image_features, const RowDraws& draws) {
  const auto linear = [&](size_t index, const torch::Tensor& x) {
    return (*layers_)[index]->as<torch::nn::LinearImpl>()->forward(x);
  };
  const auto drop = [&](const torch::Tensor& x, uint64_t site) {
    return is_training() && dropout_ > 0 ? dropout_by_global_row(x, dropout_, draws, site) : x;
  };
  namespace F = torch::nn::functional;
  const torch::Tensor hidden = drop(F::gelu(linear(0, image_features)), 0);
  return linear(6, drop(F::gelu(linear(3, hidden)), 1));
}

void load_mapper_weights(torch::nn::Module& mapper, const std::filesystem::path& file) {
  load_safetensors_into({&mapper}, SafetensorsFile(file));
}

}  // namespace spn
