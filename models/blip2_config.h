#pragma once
// BLIP-2's sizes, read from a model directory's config.json in Hugging Face's Blip2Config
// layout (vision_config, qformer_config, num_query_tokens, image_text_hidden_size, as
// Salesforce/blip2-itm-vit-g holds them). Missing keys take Blip2Config's defaults:
// EVA ViT-g/14 at 224 px (39 blocks, 1408 wide) and a BERT-base Q-Former with cross-
// attention every 2nd layer. One key is spn's own: vision_config.ln_vision_eps, the
// epsilon of the LayerNorm after the ViT (LAVIS's ln_vision, Hugging Face's
// post_layernorm): LAVIS trained BLIP-2 and SPRC with 1e-5 while Hugging Face's
// conversion reuses the blocks' 1e-6.
#include <cstdint>
#include <filesystem>

namespace spn {

struct EvaVisionConfig {
  int64_t hidden_size = 1408;
  int64_t intermediate_size = 6144;
  int64_t num_layers = 39;  // EVA-CLIP-g without its last block, as LAVIS builds it
  int64_t num_heads = 16;
  int64_t image_size = 224;
  int64_t patch_size = 14;
  double layer_norm_eps = 1e-6;
  double ln_vision_eps = 1e-5;
};

struct QFormerConfig {
  int64_t vocab_size = 30523;  // bert-base-uncased + [DEC]
  int64_t hidden_size = 768;
  int64_t num_layers = 12;
  int64_t num_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_positions = 512;
  double layer_norm_eps = 1e-12;
  int64_t cross_attention_frequency = 2;  // cross-attention in layers 0, f, 2f, ...
  int64_t encoder_hidden_size = 1408;     // the image tokens' width (the ViT's)
};

struct Blip2Config {
  EvaVisionConfig vision;
  QFormerConfig qformer;
  int64_t num_query_tokens = 32;
  int64_t embed_dim = 256;  // image_text_hidden_size: vision_projection / text_projection
};

// Throws UserError naming the file and the key.
Blip2Config read_blip2_config(const std::filesystem::path& config_json);

}  // namespace spn
