#include "models/clip_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

using Json = nlohmann::json;

// Reads `object[key]` into `value` when present; `where` names the section for errors.
void read_int(const Json& object, const std::string& where, const char* key, int64_t& value, int64_t min_value = 1) {
  if (!object.contains(key)) return;
  const Json& item = object[key];
  if (!item.is_number_integer() || item.get<int64_t>() < min_value)
    throw UserError(where + key + ": expected an integer >= " + std::to_string(min_value));
  value = item.get<int64_t>();
}

void read_transformer(const Json& object, const std::string& where, ClipTransformerConfig& config) {
  read_int(object, where, "hidden_size", config.hidden_size);
  read_int(object, where, "intermediate_size", config.intermediate_size);
  read_int(object, where, "num_hidden_layers", config.num_layers, 0);
  read_int(object, where, "num_attention_heads", config.num_heads);
  if (config.hidden_size % config.num_heads != 0)
    throw UserError(where + "num_attention_heads: " + std::to_string(config.num_heads) +
                    " does not divide hidden_size " + std::to_string(config.hidden_size));
  if (object.contains("hidden_act")) {
    if (!object["hidden_act"].is_string() || (object["hidden_act"] != "quick_gelu" && object["hidden_act"] != "gelu"))
      throw UserError(where + "hidden_act: expected \"quick_gelu\" or \"gelu\"");
    config.activation = object["hidden_act"].get<std::string>();
  }
  if (object.contains("layer_norm_eps")) {
    if (!object["layer_norm_eps"].is_number() || object["layer_norm_eps"].get<double>() <= 0)
      throw UserError(where + "layer_norm_eps: expected a positive number");
    config.layer_norm_eps = object["layer_norm_eps"].get<double>();
  }
}

const Json& section(const Json& root, const std::string& file, const char* key) {
  static const Json kEmpty = Json::object();
  if (!root.contains(key)) return kEmpty;
  if (!root[key].is_object()) throw UserError(file + ": " + key + ": expected an object");
  return root[key];
}

}  // namespace

ClipConfig read_clip_config(const std::filesystem::path& config_json) {
  const std::string file = config_json.string();
  Json root;
  try {
    root = Json::parse(read_file(config_json));
  } catch (const Json::exception& e) {
    throw UserError(file + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) throw UserError(file + ": expected a JSON object (a CLIPConfig)");
  ClipConfig config;
  read_int(root, file + ": ", "projection_dim", config.projection_dim);

  const Json& text = section(root, file, "text_config");
  const std::string text_where = file + ": text_config.";
  read_transformer(text, text_where, config.text.transformer);
  read_int(text, text_where, "vocab_size", config.text.vocab_size);
  read_int(text, text_where, "max_position_embeddings", config.text.max_positions);
  read_int(text, text_where, "eos_token_id", config.text.eos_token_id, 0);

  const Json& vision = section(root, file, "vision_config");
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
