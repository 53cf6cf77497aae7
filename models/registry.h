#pragma once
// Model parts by config name. Built-in parts are listed in registry.cpp; other code
// can add its own with the register_* functions before building a model (explicit
// calls, not static initialisers, which a static library may silently drop).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "models/interfaces.h"

namespace spn {

struct ModelShape {
  const ExperimentConfig& experiment;  // for errors that name a key
  const ModelConfig& model;
  int64_t image_size;
  int64_t vocab_size;
};

using ImageEncoderFactory = std::function<std::shared_ptr<ImageEncoder>(const ModelShape&)>;
using TextEncoderFactory = std::function<std::shared_ptr<TextEncoder>(const ModelShape&)>;
using HeadFactory = std::function<std::shared_ptr<CirHead>(const ModelShape&)>;
// A whole CIR model (models/cir_model.h): "dual_encoder" builds one from the three part
// registries below, "sprc" loads SPRC on BLIP-2 from model.blip2_dir, "pic2word" and
// "searle" a frozen CLIP with a mapping network (models/zero_shot_model.h).
class CirModel;
using ModelFamilyFactory = std::function<std::shared_ptr<CirModel>(const ModelShape&)>;

void register_image_encoder(const std::string& name, ImageEncoderFactory factory);
void register_text_encoder(const std::string& name, TextEncoderFactory factory);
void register_head(const std::string& name, HeadFactory factory);
void register_model_family(const std::string& name, ModelFamilyFactory factory);

// Each throws UserError naming the config key (and its file:line) for an unknown name.
std::shared_ptr<ImageEncoder> make_image_encoder(const ExperimentConfig& config, const ModelShape& shape);
std::shared_ptr<TextEncoder> make_text_encoder(const ExperimentConfig& config, const ModelShape& shape);
std::shared_ptr<CirHead> make_head(const ExperimentConfig& config, const ModelShape& shape);
std::shared_ptr<CirModel> make_model_family(const ExperimentConfig& config, const ModelShape& shape);

}  // namespace spn
