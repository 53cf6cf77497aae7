#pragma once
// The mapping networks from a CLIP image feature to a pseudo-word token embedding,
// with the reference implementations' parameter names so their weights load by name
// from safetensors (converted from the .pt checkpoints: Pic2Word's
// checkpoint["state_dict_img2text"] without the "module." prefix DistributedDataParallel
// adds; SEARLE's checkpoint["Phi"]):
//   Pic2Word IM2TEXT (model/model.py): layers.{i}.0.{weight,bias} (Linear, then
//     Dropout and ReLU), i < layers; fc_out.{weight,bias}.
//   SEARLE φ (src/phi.py): layers.{0,3,6}.{weight,bias} (Linear, GELU, Dropout,
//     Linear, GELU, Dropout, Linear).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <filesystem>

#include "models/interfaces.h"

namespace spn {

// Pic2Word: Linear -> Dropout -> ReLU, `layers` times, then Linear. ViT-L/14:
// 768 -> 512 -> 512 -> 768 (input: the un-normalised CLIP image feature).
struct Im2TextOptions {
  int64_t input_dim = 768;
  int64_t hidden_dim = 512;
  int64_t output_dim = 768;
  int64_t layers = 2;
  double dropout = 0.1;
};

class Im2TextImpl : public torch::nn::Module {
 public:
  explicit Im2TextImpl(const Im2TextOptions& options = {});
  // [B, input_dim] -> [B, output_dim]. In training mode the dropout masks follow
  // `draws` (models/row_dropout.h), so a row draws the same on every rank.
  torch::Tensor forward(const torch::Tensor& image_features, const RowDraws& draws = {});

 private:
  double dropout_;
  torch::nn::ModuleList layers_{nullptr};  // of Sequential(Linear, Dropout, ReLU)
  torch::nn::Linear fc_out_{nullptr};
};
TORCH_MODULE(Im2Text);

// SEARLE: Linear -> GELU -> Dropout -> Linear -> GELU -> Dropout -> Linear. ViT-L/14:
// 768 -> 3072 -> 3072 -> 768; ViT-B/32: 512 -> 2048 -> 2048 -> 512.
struct PhiOptions {
  int64_t input_dim = 768;
  int64_t hidden_dim = 3072;
  int64_t output_dim = 768;
  double dropout = 0.5;
};

class PhiImpl : public torch::nn::Module {
 public:
  explicit PhiImpl(const PhiOptions& options = {});
  // [B, input_dim] -> [B, output_dim], dropout masks as Im2Text's.
  torch::Tensor forward(const torch::Tensor& image_features, const RowDraws& draws = {});

 private:
  double dropout_;
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(Phi);

// Loads a safetensors file with the reference names into `mapper`; missing, unused and
// misshapen keys are one UserError naming each (models/safetensors.h).
void load_mapper_weights(torch::nn::Module& mapper, const std::filesystem::path& file);

}  // namespace spn
