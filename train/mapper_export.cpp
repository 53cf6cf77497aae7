#include "train/mapper_export.h"

#include <torch/torch.h>

#include "models/safetensors.h"

namespace spn {

void export_mapper_weights(torch::nn::Module& mapper, const std::filesystem::path& file) {
  // The modules are named as the references' (layers.{0,3,6} for φ; layers.{i}.0 and
  // fc_out for IM2TEXT), so the parameter names are the reference names.
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : mapper.named_parameters())
    tensors.emplace_back(item.key(), item.value().detach().to(torch::kCPU).to(torch::kFloat).contiguous());
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  write_safetensors(file, tensors, {{"producer", "spn stage1.export_mapper_weights"}});
}

}  // namespace spn
