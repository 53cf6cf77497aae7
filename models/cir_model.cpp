#include "models/cir_model.h"

#include <torch/nn/functional/normalization.h>

#include "models/registry.h"

namespace spn {

std::vector<torch::Tensor> CirModel::state_tensors() const {
  std::vector<torch::Tensor> tensors = parameters();
  for (const auto& buffer : buffers()) tensors.push_back(buffer);
  return tensors;
}

std::vector<torch::Tensor> CirModel::trainable_parameters() const {
  std::vector<torch::Tensor> trainable;
  for (const auto& p : parameters())
    if (p.requires_grad()) trainable.push_back(p);
  return trainable;
}

torch::Tensor unit_float32(const torch::Tensor& x) {
  const bool reduced = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  return torch::nn::functional::normalize(reduced ? x.to(torch::kFloat) : x,
                                          torch::nn::functional::NormalizeFuncOptions().dim(1));
}

std::shared_ptr<CirModel> make_cir_model(const ExperimentConfig& config, int64_t vocab_size) {
  return make_model_family(config, ModelShape{config, config.model, config.data.image_size, vocab_size});
}

}  // namespace spn
