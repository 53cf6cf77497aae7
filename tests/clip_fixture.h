#pragma once
// Random CLIP model directories, as a user's downloaded one looks. write_tiny_clip: the
// golden ViT CLIP's sizes (tests/golden/clip_vit: 32 px images, width 48, projection 24,
// text width 32), its token table as large as the golden tokenizer's vocabulary (CLIP's
// ids for the placeholders `$` 259 and `*` 265), that tokenizer beside it, and CLIP's
// logit_scale ln 100. write_vit_l14_widths_clip: the same with OpenAI's ViT-L/14 widths.
// The weights are torch's initialisation under seed 0, so every call writes the same model.
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/files.h"
#include "models/clip_model.h"
#include "models/clip_tokenizer.h"
#include "models/safetensors.h"
#include "test_files.h"

namespace spn::testing {

// The golden CLIP's config, changed by `adjust` before the weights are drawn.
inline void write_clip(const std::filesystem::path& dir, const std::function<void(nlohmann::json&)>& adjust) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const fs::path tokenizer = golden_dir() / "tokenizer";
  fs::copy_file(tokenizer / "vocab.json", dir / "vocab.json", fs::copy_options::overwrite_existing);
  fs::copy_file(tokenizer / "merges.txt", dir / "merges.txt", fs::copy_options::overwrite_existing);
  nlohmann::json config = nlohmann::json::parse(read_file(golden_dir() / "clip_vit" / "config.json"));
  config["text_config"]["vocab_size"] = ClipTokenizer::from_directory(dir).size();
  config["text_config"]["eos_token_id"] = 2;  // pool at the end token, CLIP's largest id
  adjust(config);
  write_file_atomic(dir / "config.json", config.dump(1));
  torch::manual_seed(0);
  ClipTowers towers = make_clip_towers(read_clip_config(dir / "config.json"));
  std::vector<std::pair<std::string, at::Tensor>> tensors = {{"logit_scale", torch::tensor(4.6052f)}};
  for (const torch::nn::Module* tower :
       {static_cast<torch::nn::Module*>(towers.image.get()), static_cast<torch::nn::Module*>(towers.text.get())}) {
    for (const auto& item : tower->named_parameters()) tensors.emplace_back(item.key(), item.value());
  }
  write_safetensors(dir / "model.safetensors", tensors);
}

inline void write_tiny_clip(const std::filesystem::path& dir) {
  write_clip(dir, [](nlohmann::json&) {});
}

// OpenAI's ViT-L/14 (clip-vit-large-patch14) at its widths: text 768 wide in 12 heads,
// vision 1024 in 16, 14-px patches, projection 768; one layer per tower (ViT-L/14 has 12
// and 24) and 28 px images (224), so a recipe's shapes are exercised in seconds on a CPU.
inline void write_vit_l14_widths_clip(const std::filesystem::path& dir) {
  write_clip(dir, [](nlohmann::json& config) {
    config["projection_dim"] = 768;
    for (const auto& [tower, width, heads] :
         {std::tuple<const char*, int, int>{"text_config", 768, 12}, {"vision_config", 1024, 16}}) {
      config[tower]["hidden_size"] = width;
      config[tower]["intermediate_size"] = 4 * width;
      config[tower]["num_attention_heads"] = heads;
      config[tower]["num_hidden_layers"] = 1;
      config[tower]["projection_dim"] = 768;
    }
    config["vision_config"]["patch_size"] = 14;
    config["vision_config"]["image_size"] = 28;
  });
}

}  // namespace spn::testing
