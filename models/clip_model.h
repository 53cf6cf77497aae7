#pragma once
// A CLIP model directory: config.json (sizes), model.safetensors (weights), and the
// tokenizer files (vocab.json + merges.txt, or tokenizer.json), as Hugging Face's
// openai/clip-vit-* repositories hold them; scripts/convert-clip-checkpoint.py writes
// one from an OpenAI .pt or open_clip checkpoint (the only way for ResNet towers).
#include <filesystem>
#include <memory>

#include "models/clip_config.h"
#include "models/clip_image_tower.h"
#include "models/clip_text.h"
#include "models/registry.h"

namespace spn {

struct ClipTowers {
  ClipConfig config;
  std::shared_ptr<ClipImageTower> image;
  std::shared_ptr<ClipTextTower> text;
};

// The towers `config` describes, randomly initialised.
std::shared_ptr<ClipImageTower> make_clip_image_tower(const ClipConfig& config);
std::shared_ptr<ClipTextTower> make_clip_text_tower(const ClipConfig& config);
ClipTowers make_clip_towers(const ClipConfig& config);

// Reads config.json and model.safetensors. A missing file is a UserError that says
// what to download and where to put it; weights that do not fit name every key.
ClipTowers load_clip(const std::filesystem::path& directory);

// The registry's "clip" encoders: one tower of model.clip_dir, with its weights. The
// experiment must match the model (data.image_size, model.embed_dim = projection_dim,
// data.max_words within the context, the tokenizer within the token table); a
// mismatch is a UserError naming the key.
std::shared_ptr<ClipImageTower> clip_image_encoder(const ModelShape& shape);
std::shared_ptr<ClipTextTower> clip_text_encoder(const ModelShape& shape);

// The UserError message for a directory without the CLIP file `file`.
std::string missing_clip_file_message(const std::filesystem::path& directory, const std::string& file);

}  // namespace spn
