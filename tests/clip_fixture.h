#pragma once
// A tiny random CLIP model directory, as a user's downloaded one looks: the golden ViT
// CLIP's sizes (tests/golden/clip_vit: 32 px images, width 48, projection 24, text
// width 32), its token table as large as the golden tokenizer's vocabulary (CLIP's ids
// for the placeholders `$` 259 and `*` 265), that tokenizer beside it, and CLIP's
// logit_scale ln 100. The weights are torch's initialisation under seed 0, so every
// call writes the same model.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "models/clip_model.h"
#include "models/clip_tokenizer.h"
#include "models/safetensors.h"
#include "test_files.h"

namespace spn::testing {

inline void write_tiny_clip(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const fs::path tokenizer = golden_dir() / "tokenizer";
  fs::copy_file(tokenizer / "vocab.json", dir / "vocab.json", fs::copy_options::overwrite_existing);
  fs::copy_file(tokenizer / "merges.txt", dir / "merges.txt", fs::copy_options::overwrite_existing);
  nlohmann::json config = nlohmann::json::parse(read_file(golden_dir() / "clip_vit" / "config.json"));
  config["text_config"]["vocab_size"] = ClipTokenizer::from_directory(dir).size();
  config["text_config"]["eos_token_id"] = 2;  // pool at the end token, CLIP's largest id
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

}  // namespace spn::testing
