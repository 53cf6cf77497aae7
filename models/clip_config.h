#pragma once
// CLIP's sizes, read from a model directory's config.json in Hugging Face's CLIPConfig
// layout (text_config, vision_config, projection_dim). Modified-ResNet image towers,
// which Hugging Face does not have, are written by scripts/convert-clip-checkpoint.py
// as vision_config {"model_type": "clip_resnet", "layers": [..4], "width", "heads",
// "image_size"}. Missing keys take CLIPConfig's defaults (ViT-B/32).
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

namespace spn {

struct ClipTransformerConfig {
  int64_t hidden_size = 512;
  int64_t intermediate_size = 2048;
  int64_t num_layers = 12;
  int64_t num_heads = 8;
  std::string activation = "quick_gelu";  // or "gelu"
  double layer_norm_eps = 1e-5;
};

struct ClipTextConfig {
  ClipTransformerConfig transformer;
  int64_t vocab_size = 49408;
  int64_t max_positions = 77;
  // 2 marks configs written before Hugging Face fixed it: pool at the largest token id
  // (CLIP's end token). Otherwise pool at the first occurrence of this id.
  int64_t eos_token_id = 2;
};

struct ClipVisionConfig {
  bool resnet = false;
  int64_t image_size = 224;
  // Vision transformer
  ClipTransformerConfig transformer{768, 3072, 12, 12, "quick_gelu", 1e-5};
  int64_t patch_size = 32;
  // Modified ResNet
  std::array<int64_t, 4> resnet_layers{3, 4, 6, 3};
  int64_t resnet_width = 64;
  int64_t resnet_heads = 32;
};

struct ClipConfig {
  ClipTextConfig text;
  ClipVisionConfig vision;
  int64_t projection_dim = 512;
};

// Throws UserError naming the file and the key.
ClipConfig read_clip_config(const std::filesystem::path& config_json);

}  // namespace spn
