#include "models/heads.h"

#include <torch/nn/modules/activation.h>

namespace spn {

torch::Tensor SumHead::forward(const torch::Tensor& image_features, const torch::Tensor& text_features) {
  return image_features + text_features;
}

CombinerHead::CombinerHead(int64_t embed_dim, int64_t hidden) {
  image_projection_ = register_module("image_projection", torch::nn::Linear(embed_dim, hidden));
  text_projection_ = register_module("text_projection", torch::nn::Linear(embed_dim, hidden));
  combine_ = register_module("combine", torch::nn::Linear(2 * hidden, 2 * hidden));
  output_ = register_module("output", torch::nn::Linear(2 * hidden, embed_dim));
  mix_weight_ = register_module("mix_weight",
                                torch::nn::Sequential(torch::nn::Linear(2 * hidden, hidden), torch::nn::ReLU(),
                                                      torch::nn::Linear(hidden, 1), torch::nn::Sigmoid()));
}

torch::Tensor CombinerHead::forward(const torch::Tensor& image_features, const torch::Tensor& text_features) {
  const torch::Tensor joint = torch::cat({torch::relu(image_projection_->forward(image_features)),
                                          torch::relu(text_projection_->forward(text_features))},
                                         1);
  const torch::Tensor fused = output_->forward(torch::relu(combine_->forward(joint)));
  const torch::Tensor weight = mix_weight_->forward(joint);
  return fused + weight * text_features + (1 - weight) * image_features;
}

}  // namespace spn
