#include "models/clip_model.h"

#include "core/error.h"
#include "models/clip_resnet.h"
#include "models/clip_vision.h"
#include "models/safetensors.h"

namespace spn {

ClipTowers make_clip_towers(const ClipConfig& config) {
  ClipTowers towers;
  towers.config = config;
  if (config.vision.resnet) {
    towers.image = std::make_shared<ClipResNetTower>(config.vision, config.projection_dim);
  } else {
    towers.image = std::make_shared<ClipVisionTower>(config.vision, config.projection_dim);
  }
  towers.text = std::make_shared<ClipTextTower>(config.text, config.projection_dim);
  return towers;
}

std::string missing_clip_file_message(const std::filesystem::path& directory, const std::string& file) {
  return (directory / file).string() +
         ": missing. A CLIP model directory holds config.json, model.safetensors, and vocab.json + merges.txt "
         "(or tokenizer.json): download them from https://huggingface.co/openai/clip-vit-base-patch32 (or "
         "clip-vit-base-patch16, clip-vit-large-patch14) into " +
         directory.string() +
         ", or convert an OpenAI .pt / open_clip checkpoint (RN50, RN50x4, ...) with "
         "scripts/convert-clip-checkpoint.py CHECKPOINT " +
         directory.string() + " and copy the tokenizer files beside it";
}

ClipTowers load_clip(const std::filesystem::path& directory) {
  for (const char* file : {"config.json", "model.safetensors"}) {
    if (!std::filesystem::exists(directory / file)) throw UserError(missing_clip_file_message(directory, file));
  }
  ClipTowers towers = make_clip_towers(read_clip_config(directory / "config.json"));
  SafetensorsFile weights(directory / "model.safetensors");
  // The temperature is the CIR model's own; position_ids are buffers older Hugging
  // Face versions saved.
  load_safetensors_into({towers.image.get(), towers.text.get()}, weights,
                        {"logit_scale", "text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"});
  return towers;
}

}  // namespace spn
