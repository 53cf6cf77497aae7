#include "models/clip_vision.h"

namespace spn {

ClipVisionEmbeddingsImpl::ClipVisionEmbeddingsImpl(const ClipVisionConfig& config) {
  const int64_t hidden = config.transformer.hidden_size, patch = config.patch_size;
  const int64_t patches = (config.image_size / patch) * (config.image_size / patch);
  class_embedding_ = register_parameter("class_embedding", torch::randn({hidden}));
  patch_embedding_ = register_module(
      "patch_embedding", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, hidden, patch).stride(patch).bias(false)));
  position_embedding_ = register_module("position_embedding", torch::nn::Embedding(patches + 1, hidden));
}

torch::Tensor ClipVisionEmbeddingsImpl::forward(const torch::Tensor& pixels) {
  torch::Tensor patches = patch_embedding_(pixels).flatten(2).transpose(1, 2);  // [B, P, hidden]
  torch::Tensor cls = class_embedding_.view({1, 1, -1}).expand({pixels.size(0), 1, -1});
  return torch::cat({cls, patches}, 1) + position_embedding_->weight.unsqueeze(0);
}

ClipVisionTransformerImpl::ClipVisionTransformerImpl(const ClipVisionConfig& config) {
  auto norm = [&] {
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({config.transformer.hidden_size}).eps(config.transformer.layer_norm_eps));
  };
  embeddings_ = register_module("embeddings", ClipVisionEmbeddings(config));
  pre_layrnorm_ = register_module("pre_layrnorm", norm());
  encoder_ = register_module("encoder", ClipEncoder(config.transformer));
  post_layernorm_ = register_module("post_layernorm", norm());
}

torch::Tensor ClipVisionTransformerImpl::forward(const torch::Tensor& pixels) {
  torch::Tensor x = encoder_(pre_layrnorm_(embeddings_(pixels)), torch::Tensor());
  return post_layernorm_(x.select(1, 0));
}

ClipVisionTower::ClipVisionTower(const ClipVisionConfig& config, int64_t projection_dim)
    : ClipImageTower(config.image_size) {
  vision_model_ = register_module("vision_model", ClipVisionTransformer(config));
  visual_projection_ = register_module(
      "visual_projection",
      torch::nn::Linear(torch::nn::LinearOptions(config.transformer.hidden_size, projection_dim).bias(false)));
}

torch::Tensor ClipVisionTower::encode_pixels(const torch::Tensor& pixels) {
  return visual_projection_(vision_model_(pixels));
}

}  // namespace spn
