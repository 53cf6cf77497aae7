#include "models/clip_model.h"

#include "core/error.h"
#include "models/clip_resnet.h"
#include "models/clip_vision.h"
#include "models/safetensors.h"

namespace spn {

std::shared_ptr<ClipImageTower> make_clip_image_tower(const ClipConfig& config) {
  if (config.vision.resnet) return std::make_shared<ClipResNetTower>(config.vision, config.projection_dim);
  return std::make_shared<ClipVisionTower>(config.vision, config.projection_dim);
}

std::shared_ptr<ClipTextTower> make_clip_text_tower(const ClipConfig& config) {
  return std::make_shared<ClipTextTower>(config.text, config.projection_dim);
}

ClipTowers make_clip_towers(const ClipConfig& config) {
  return ClipTowers{config, make_clip_image_tower(config), make_clip_text_tower(config)};
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

namespace {

void require_clip_files(const std::filesystem::path& directory) {
  for (const char* file : {"config.json", "model.safetensors"}) {
    if (!std::filesystem::exists(directory / file)) throw UserError(missing_clip_file_message(directory, file));
  }
}

bool is_text_key(const std::string& name) {
  return name.rfind("text_model.", 0) == 0 || name.rfind("text_projection.", 0) == 0;
}

// Loads the file's weights into `modules`, leaving unused the keys `skip` selects (the
// other tower's, when only one is built). The temperature is the CIR model's own;
// position_ids are buffers older Hugging Face versions saved.
void load_weights(const std::filesystem::path& directory, const std::vector<torch::nn::Module*>& modules,
                  const std::function<bool(const std::string&)>& skip) {
  SafetensorsFile weights(directory / "model.safetensors");
  std::vector<std::string> ignored = {"logit_scale", "text_model.embeddings.position_ids",
                                      "vision_model.embeddings.position_ids"};
  for (const auto& entry : weights.entries()) {
    if (skip(entry.name)) ignored.push_back(entry.name);
  }
  load_safetensors_into(modules, weights, ignored);
}

std::filesystem::path clip_dir_of(const ModelShape& shape) {
  if (shape.model.clip_dir.empty())
    throw UserError(shape.experiment.where("model.clip_dir") +
                    ": the clip encoders need a CLIP model directory (config.json, model.safetensors, vocab.json + "
                    "merges.txt), e.g. the files of https://huggingface.co/openai/clip-vit-base-patch32");
  require_clip_files(shape.model.clip_dir);
  return shape.model.clip_dir;
}

void require_equal(const ModelShape& shape, const std::string& key, int64_t value, int64_t model_value,
                   const std::string& what) {
  if (value != model_value)
    throw UserError(shape.experiment.where(key) + " = " + std::to_string(value) + ", but the CLIP model in " +
                    shape.model.clip_dir + " has " + what + " " + std::to_string(model_value) + "; set " + key + " = " +
                    std::to_string(model_value));
}

}  // namespace

ClipTowers load_clip(const std::filesystem::path& directory) {
  require_clip_files(directory);
  ClipTowers towers = make_clip_towers(read_clip_config(directory / "config.json"));
  load_weights(directory, {towers.image.get(), towers.text.get()}, [](const std::string&) { return false; });
  return towers;
}

std::shared_ptr<ClipImageTower> clip_image_encoder(const ModelShape& shape) {
  const auto directory = clip_dir_of(shape);
  const ClipConfig config = read_clip_config(directory / "config.json");
  require_equal(shape, "data.image_size", shape.image_size, config.vision.image_size, "image size");
  require_equal(shape, "model.embed_dim", shape.model.embed_dim, config.projection_dim, "projection_dim");
  std::shared_ptr<ClipImageTower> tower = make_clip_image_tower(config);
  load_weights(directory, {tower.get()}, is_text_key);
  return tower;
}

std::shared_ptr<ClipTextTower> clip_text_encoder(const ModelShape& shape) {
  const auto directory = clip_dir_of(shape);
  const ClipConfig config = read_clip_config(directory / "config.json");
  require_equal(shape, "model.embed_dim", shape.model.embed_dim, config.projection_dim, "projection_dim");
  if (shape.experiment.data.max_words > config.text.max_positions)
    throw UserError(shape.experiment.where("data.max_words") + " = " + std::to_string(shape.experiment.data.max_words) +
                    " exceeds the CLIP text context " + std::to_string(config.text.max_positions) + " of " +
                    directory.string());
  if (shape.vocab_size > config.text.vocab_size)
    throw UserError((directory / "config.json").string() + ": text_config.vocab_size " +
                    std::to_string(config.text.vocab_size) + " is smaller than the tokenizer's " +
                    std::to_string(shape.vocab_size) + " tokens");
  std::shared_ptr<ClipTextTower> tower = make_clip_text_tower(config);
  load_weights(directory, {tower.get()}, [](const std::string& name) { return !is_text_key(name); });
  return tower;
}

}  // namespace spn
