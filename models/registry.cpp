#include "models/registry.h"

#include <map>

#include "core/error.h"
#include "models/clip_model.h"
#include "models/dual_encoder_model.h"
#include "models/heads.h"
#include "models/rtd_model.h"
#include "models/small_encoders.h"
#include "models/sprc_model.h"
#include "models/zero_shot_model.h"

namespace spn {
namespace {

template <class Factory>
struct Registry {
  std::map<std::string, Factory> factories;

  auto make(const ExperimentConfig& config, const std::string& key, const std::string& name,
            const ModelShape& shape) const {
    auto found = factories.find(name);
    if (found == factories.end()) {
      std::string known;
      for (const auto& entry : factories) known += (known.empty() ? "" : ", ") + entry.first;
      throw UserError(config.where(key) + ": unknown name \"" + name + "\" (registered: " + known + ")");
    }
    return found->second(shape);
  }
};

Registry<ImageEncoderFactory>& image_encoders() {
  static Registry<ImageEncoderFactory> registry{{
      {"small_cnn",
       [](const ModelShape& s) {
         return std::make_shared<SmallCnnEncoder>(s.model.image_width, s.image_size, s.model.embed_dim);
       }},
      {"clip", [](const ModelShape& s) -> std::shared_ptr<ImageEncoder> { return clip_image_encoder(s); }},
  }};
  return registry;
}

Registry<TextEncoderFactory>& text_encoders() {
  static Registry<TextEncoderFactory> registry{{
      {"gru",
       [](const ModelShape& s) {
         return std::make_shared<GruTextEncoder>(s.vocab_size, s.model.text_width, s.model.embed_dim);
       }},
      {"bow",
       [](const ModelShape& s) {
         return std::make_shared<BagOfWordsTextEncoder>(s.vocab_size, s.model.text_width, s.model.embed_dim);
       }},
      {"clip", [](const ModelShape& s) -> std::shared_ptr<TextEncoder> { return clip_text_encoder(s); }},
  }};
  return registry;
}

Registry<HeadFactory>& heads() {
  static Registry<HeadFactory> registry{{
      {"sum", [](const ModelShape&) { return std::make_shared<SumHead>(); }},
      {"text_only", [](const ModelShape&) { return std::make_shared<TextOnlyHead>(); }},
      {"image_only", [](const ModelShape&) { return std::make_shared<ImageOnlyHead>(); }},
      {"combiner",
       [](const ModelShape& s) {
         const int64_t projection = s.model.combiner_width;
         return std::make_shared<CombinerHead>(CombinerShape{
             s.model.embed_dim, projection, s.model.combiner_hidden > 0 ? s.model.combiner_hidden : 2 * projection,
             s.model.combiner_gate_hidden > 0 ? s.model.combiner_gate_hidden : projection, s.model.combiner_dropout});
       }},
  }};
  return registry;
}

Registry<ModelFamilyFactory>& model_families() {
  static Registry<ModelFamilyFactory> registry{{
      {"dual_encoder",
       [](const ModelShape& s) -> std::shared_ptr<CirModel> {
         return make_dual_encoder_model(s.experiment, s.vocab_size);
       }},
      {"sprc",
       [](const ModelShape& s) -> std::shared_ptr<CirModel> { return make_sprc_model(s.experiment, s.vocab_size); }},
      {"pic2word",
       [](const ModelShape& s) -> std::shared_ptr<CirModel> {
         return make_zero_shot_model(s.experiment, s.vocab_size, ZeroShotMethod::kPic2Word);
       }},
      {"searle",
       [](const ModelShape& s) -> std::shared_ptr<CirModel> {
         return make_zero_shot_model(s.experiment, s.vocab_size, ZeroShotMethod::kSearle);
       }},
      {"rtd",
       [](const ModelShape& s) -> std::shared_ptr<CirModel> { return make_rtd_model(s.experiment, s.vocab_size); }},
  }};
  return registry;
}

}  // namespace

void register_image_encoder(const std::string& name, ImageEncoderFactory factory) {
  image_encoders().factories[name] = std::move(factory);
}
void register_text_encoder(const std::string& name, TextEncoderFactory factory) {
  text_encoders().factories[name] = std::move(factory);
}
void register_head(const std::string& name, HeadFactory factory) { heads().factories[name] = std::move(factory); }
void register_model_family(const std::string& name, ModelFamilyFactory factory) {
  model_families().factories[name] = std::move(factory);
}

std::shared_ptr<ImageEncoder> make_image_encoder(const ExperimentConfig& config, const ModelShape& shape) {
  return image_encoders().make(config, "model.image_encoder", config.model.image_encoder, shape);
}
std::shared_ptr<TextEncoder> make_text_encoder(const ExperimentConfig& config, const ModelShape& shape) {
  return text_encoders().make(config, "model.text_encoder", config.model.text_encoder, shape);
}
std::shared_ptr<CirHead> make_head(const ExperimentConfig& config, const ModelShape& shape) {
  return heads().make(config, "model.head", config.model.head, shape);
}
std::shared_ptr<CirModel> make_model_family(const ExperimentConfig& config, const ModelShape& shape) {
  return model_families().make(config, "model.family", config.model.family, shape);
}

}  // namespace spn
