#include "models/clip_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/config_json.h"

namespace spn {
namespace {

using Json = nlohmann::json;

void read_transformer(const Json& object, const std::string& where, ClipTransformerConfig& config) {
  read_int(object, where, "hidden_size", config.hidden_size);
  read_int(object, where, "intermediate_size", config.intermediate_size);
  read_int(object, where, "num_hidden_layers", config.num_layers, 0);
  read_int(object, where, "num_attention_heads", config.num_heads);
  require_heads_divide(where, config.hidden_size, config.num_heads);
  if (object.contains("hidden_act")) {
    if (!object["hidden_act"].is_string() || (object["hidden_act"] != "quick_gelu" && object["hidden_act"] != "gelu"))
      throw UserError(where + "hidden_act: expected \"quick_gelu\" or \"gelu\"");
    config.activation = object["hidden_act"].get<std::string>();
  }
  read_positive_number(object, where, "layer_norm_eps", config.layer_norm_eps);
}

}  // namespace

ClipConfig read_clip_config(const std::filesystem::path& config_json) {
  const std::string file = config_json.string();
  const Json root = read_json_object(config_json, "a CLIPConfig");
  ClipConfig config;
  read_int(root, file + ": ", "projection_dim", config.projection_dim);

  const Json& text = json_section(root, file, "text_config");
  const std::string text_where = file + ": text_config.";
  read_transformer(text, text_where, config.text.transformer);
  read_int(text, text_where, "vocab_size", config.text.vocab_size);
  read_int(text, text_where, "max_position_embeddings", config.text.max_positions);
  read_int(text, text_where, "eos_token_id", config.text.eos_token_id, 0);

  const Json& vision = json_section(root, file, "vision_config");
  const std::string vision_where = file + ": vision_config.";
  read_int(vision, vision_where, "image_size", config.vision.image_size);
  config.vision.resnet = vision.value("model_type", std::string()) == "clip_resnet";
  if (config.vision.resnet) {
    if (!vision.contains("layers") || !vision["layers"].is_array() || vision["layers"].size() != 4)
      throw UserError(vision_where + "layers: expected four block counts");
    for (size_t i = 0; i < 4; ++i) {
      if (!vision["layers"][i].is_number_integer() || vision["layers"][i].get<int64_t>() < 1)
        throw UserError(vision_where + "layers: expected four block counts >= 1");
      config.vision.resnet_layers[i] = vision["layers"][i].get<int64_t>();
    }
    read_int(vision, vision_where, "width", config.vision.resnet_width);
    read_int(vision, vision_where, "heads", config.vision.resnet_heads);
    if (config.vision.image_size % 32 != 0)
      throw UserError(vision_where + "image_size: a modified ResNet needs a multiple of 32");
    if ((config.vision.resnet_width * 32) % config.vision.resnet_heads != 0)
      throw UserError(vision_where + "heads: must divide width * 32");
  } else {
    read_transformer(vision, vision_where, config.vision.transformer);
    read_int(vision, vision_where, "patch_size", config.vision.patch_size);
    if (config.vision.image_size % config.vision.patch_size != 0)
      throw UserError(vision_where + "patch_size: must divide image_size");
  }
  return config;
}

}  // namespace spn
