#include "models/pseudo_word_mappers.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>

#include "models/safetensors.h"

namespace spn {

Im2TextImpl::Im2TextImpl(const Im2TextOptions& options) {
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t width = options.input_dim;
  for (int64_t i = 0; i < options.layers; ++i) {
    layers_->push_back(torch::nn::Sequential(torch::nn::Linear(width, options.hidden_dim),
                                             torch::nn::Dropout(options.dropout), torch::nn::ReLU()));
    width = options.hidden_dim;
  }
  fc_out_ = register_module("fc_out", torch::nn::Linear(width, options.output_dim));
}

torch::Tensor Im2TextImpl::forward(const torch::Tensor& image_features) {
  torch::Tensor x = image_features;
  for (const auto& block : *layers_) x = block->as<torch::nn::Sequential>()->forward(x);
  return fc_out_(x);
}

PhiImpl::PhiImpl(const PhiOptions& options) {
  layers_ = register_module("layers", torch::nn::Sequential(torch::nn::Linear(options.input_dim, options.hidden_dim),
                                                            torch::nn::GELU(), torch::nn::Dropout(options.dropout),
                                                            torch::nn::Linear(options.hidden_dim, options.hidden_dim),
                                                            torch::nn::GELU(), torch::nn::Dropout(options.dropout),
                                                            torch::nn::Linear(options.hidden_dim, options.output_dim)));
}

torch::Tensor PhiImpl::forward(const torch::Tensor& image_features) { return layers_->forward(image_features); }

void load_mapper_weights(torch::nn::Module& mapper, const std::filesystem::path& file) {
  load_safetensors_into({&mapper}, SafetensorsFile(file));
}

}  // namespace spn
