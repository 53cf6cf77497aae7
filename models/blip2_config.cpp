#include "models/blip2_config.h"

#include "core/error.h"
#include "models/config_json.h"

namespace spn {
namespace {

using Json = nlohmann::json;

// Both towers use the exact (erf) GELU; another activation is another model.
void require_exact_gelu(const Json& object, const std::string& where) {
  if (object.contains("hidden_act") && object["hidden_act"] != "gelu")
    throw UserError(where + "hidden_act: expected \"gelu\" (BLIP-2's exact GELU)");
}

}  // namespace

Blip2Config read_blip2_config(const std::filesystem::path& config_json) {
  const std::string file = config_json.string();
  const Json root = read_json_object(config_json, "a Blip2Config");
  Blip2Config config;
  read_int(root, file + ": ", "num_query_tokens", config.num_query_tokens);
  read_int(root, file + ": ", "image_text_hidden_size", config.embed_dim);

  const Json& vision = json_section(root, file, "vision_config");
  const std::string vision_where = file + ": vision_config.";
  EvaVisionConfig& v = config.vision;
  read_int(vision, vision_where, "hidden_size", v.hidden_size);
  read_int(vision, vision_where, "intermediate_size", v.intermediate_size);
  read_int(vision, vision_where, "num_hidden_layers", v.num_layers, 0);
  read_int(vision, vision_where, "num_attention_heads", v.num_heads);
  read_int(vision, vision_where, "image_size", v.image_size);
  read_int(vision, vision_where, "patch_size", v.patch_size);
  read_positive_number(vision, vision_where, "layer_norm_eps", v.layer_norm_eps);
  read_positive_number(vision, vision_where, "ln_vision_eps", v.ln_vision_eps);
  require_exact_gelu(vision, vision_where);
  require_heads_divide(vision_where, v.hidden_size, v.num_heads);
  if (v.image_size % v.patch_size != 0) throw UserError(vision_where + "patch_size: must divide image_size");
  if (vision.contains("qkv_bias") && vision["qkv_bias"] != true)
    throw UserError(vision_where + "qkv_bias: expected true (EVA's q and v biases)");

  const Json& qformer = json_section(root, file, "qformer_config");
  const std::string qformer_where = file + ": qformer_config.";
  QFormerConfig& q = config.qformer;
  read_int(qformer, qformer_where, "vocab_size", q.vocab_size);
  read_int(qformer, qformer_where, "hidden_size", q.hidden_size);
  read_int(qformer, qformer_where, "num_hidden_layers", q.num_layers, 0);
  read_int(qformer, qformer_where, "num_attention_heads", q.num_heads);
  read_int(qformer, qformer_where, "intermediate_size", q.intermediate_size);
  read_int(qformer, qformer_where, "max_position_embeddings", q.max_positions);
  read_positive_number(qformer, qformer_where, "layer_norm_eps", q.layer_norm_eps);
  read_int(qformer, qformer_where, "cross_attention_frequency", q.cross_attention_frequency);
  // Blip2Config sets it to the ViT's width whatever the file says; so does spn.
  q.encoder_hidden_size = v.hidden_size;
  require_exact_gelu(qformer, qformer_where);
  require_heads_divide(qformer_where, q.hidden_size, q.num_heads);
  if (q.max_positions < 2) throw UserError(qformer_where + "max_position_embeddings: expected at least 2");
  return config;
}

}  // namespace spn
