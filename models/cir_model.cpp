#include "models/cir_model.h"

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

std::shared_ptr<CirModel> make_cir_model(const ExperimentConfig& config, int64_t vocab_size) {
  return make_model_family(config, ModelShape{config, config.model, config.data.image_size, vocab_size});
}

}  // namespace spn
