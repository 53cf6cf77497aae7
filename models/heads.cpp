#include "models/heads.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "models/row_dropout.h"

namespace spn {

torch::Tensor SumHead::forward(const torch::Tensor& image_features, const torch::Tensor& text_features,
                               const RowDraws&) {
  return image_features + text_features;
}

torch::Tensor TextOnlyHead::forward(const torch::Tensor&, const torch::Tensor& text_features, const RowDraws&) {
  return text_features;
}

torch::Tensor ImageOnlyHead::forward(const torch::Tensor& image_features, const torch::Tensor&, const RowDraws&) {
  return image_features;
}

CombinerHead::CombinerHead(const CombinerShape& shape) : dropout_(shape.dropout) {
  image_projection_ = register_module("image_projection", torch::nn::Linear(shape.embed_dim, shape.projection));
  text_projection_ = register_module("text_projection", torch::nn::Linear(shape.embed_dim, shape.projection));
  combine_ = register_module("combine", torch::nn::Linear(2 * shape.projection, shape.hidden));
  output_ = register_module("output", torch::nn::Linear(shape.hidden, shape.embed_dim));
  mix_weight_ = register_module(
      "mix_weight", torch::nn::Sequential(torch::nn::Linear(2 * shape.projection, shape.gate_hidden), torch::nn::ReLU(),
                                          torch::nn::Linear(shape.gate_hidden, 1), torch::nn::Sigmoid()));
}

torch::Tensor CombinerHead::forward(const torch::Tensor& image_features, const torch::Tensor& text_features,
                                    const RowDraws& draws) {
  // `site` tells the four dropout layers apart in the draws.
  const auto drop = [&](const torch::Tensor& x, uint64_t site) {
    return dropout_ > 0 && is_training() ? dropout_by_global_row(x, dropout_, draws, site) : x;
  };
  const torch::Tensor joint = torch::cat({drop(torch::relu(image_projection_->forward(image_features)), 0),
                                          drop(torch::relu(text_projection_->forward(text_features)), 1)},
                                         1);
  const torch::Tensor fused = output_->forward(drop(torch::relu(combine_->forward(joint)), 2));
  // The gate's layers one by one, for CLIP4CIR's dropout between them (the parameter
  // names stay those of earlier checkpoints).
  const torch::Tensor gate_hidden =
      drop(torch::relu((*mix_weight_)[0]->as<torch::nn::LinearImpl>()->forward(joint)), 3);
  const torch::Tensor weight = torch::sigmoid((*mix_weight_)[2]->as<torch::nn::LinearImpl>()->forward(gate_hidden));
  return fused + weight * text_features + (1 - weight) * image_features;
}

}  // namespace spn
