#include "models/zero_shot_model.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/hash.h"
#include "models/pseudo_words.h"
#include "models/safetensors.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

constexpr double kMaxClipLogitScale = 100.0;  // CLIP's cap, as the dual encoder's

// The placeholder each method's test prompt holds (models/zero_shot_query.h).
int64_t placeholder_of(ZeroShotMethod method) {
  return method == ZeroShotMethod::kPic2Word ? kStarToken : kDollarToken;
}

// CLIP's learned logit_scale (log space) from model.clip_dir/model.safetensors.
double clip_log_logit_scale(const ExperimentConfig& config) {
  const fs::path file = fs::path(config.model.clip_dir) / "model.safetensors";
  const SafetensorsFile weights(file);
  if (!weights.contains("logit_scale"))
    throw UserError(config.where("model.clip_dir") + ": " + file.string() +
                    " holds no logit_scale, which the zero-shot families score with (CLIP's own temperature)");
  return weights.read("logit_scale").to(torch::kDouble).item<double>();
}

}  // namespace

ZeroShotModel::ZeroShotModel(ZeroShotMethod method, std::shared_ptr<ClipImageTower> image,
                             std::shared_ptr<ClipTextTower> text, int64_t projection_dim,
                             std::shared_ptr<torch::nn::Module> mapper, double log_logit_scale)
    : method_(method),
      image_(register_module("image_encoder", std::move(image))),
      text_(register_module("text_encoder", std::move(text))),
      mapper_(register_module("mapper", std::move(mapper))),
      projection_dim_(projection_dim) {
  for (auto& p : image_->parameters()) p.set_requires_grad(false);
  for (auto& p : text_->parameters()) p.set_requires_grad(false);
  if (auto im2text = std::dynamic_pointer_cast<Im2TextImpl>(mapper_)) {
    map_ = [im2text](const torch::Tensor& x, const RowDraws& draws) { return im2text->forward(x, draws); };
  } else if (auto phi = std::dynamic_pointer_cast<PhiImpl>(mapper_)) {
    map_ = [phi](const torch::Tensor& x, const RowDraws& draws) { return phi->forward(x, draws); };
  } else {
    throw std::logic_error("ZeroShotModel: the mapping network is neither Im2Text nor Phi");
  }
  log_logit_scale_ = register_buffer("logit_scale", torch::full({}, log_logit_scale));
}

torch::Tensor ZeroShotModel::encode_reference(const torch::Tensor& images) {
  // The frozen image tower keeps no activations for backward.
  torch::NoGradGuard no_grad;
  return image_->forward(images);
}

torch::Tensor ZeroShotModel::encode_target(const torch::Tensor& images) {
  return unit_float32(encode_reference(images));
}

torch::Tensor ZeroShotModel::pseudo_words(const torch::Tensor& reference_features, int64_t first_row) {
  return map_(reference_features, RowDraws{step_seed_, first_row});
}

torch::Tensor ZeroShotModel::encode_query_from_features(const torch::Tensor& reference_features,
                                                        const torch::Tensor& tokens, int64_t first_row) {
  return encode_query_from_words(pseudo_words(reference_features, first_row), tokens);
}

torch::Tensor ZeroShotModel::encode_query_from_words(const torch::Tensor& words, const torch::Tensor& tokens) {
  const PseudoWordInjection how =
      method_ == ZeroShotMethod::kRtd ? PseudoWordInjection::kReplaceEvery : PseudoWordInjection::kReplaceFirst;
  return unit_float32(encode_with_pseudo_words(*text_, tokens, words, how, placeholder_of(method_)));
}

PseudoWordPairs ZeroShotModel::pic2word_pairs(const torch::Tensor& images, const torch::Tensor& prompt_tokens,
                                              int64_t first_row) {
  PseudoWordPairs pairs;
  pairs.image_features = encode_reference(images);
  // The inserted position gets the placeholder's id: below CLIP's end token, so a
  // legacy config that pools at the largest id still pools at the end token.
  const torch::Tensor texts =
      encode_with_pseudo_words(*text_, prompt_tokens, pseudo_words(pairs.image_features, first_row),
                               PseudoWordInjection::kInsertBeforeEnd, placeholder_of(method_));
  // Autocast leaves both in 16 bits; the loss takes float32.
  const auto widened = [](const torch::Tensor& x) {
    const bool reduced = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
    return reduced ? x.to(torch::kFloat) : x;
  };
  pairs.image_features = widened(pairs.image_features);
  pairs.text_features = widened(texts);
  return pairs;
}

torch::Tensor ZeroShotModel::logit_scale() const { return log_logit_scale_.exp().clamp_max(kMaxClipLogitScale); }

void ZeroShotModel::set_temperature(double temperature) {
  torch::NoGradGuard no_grad;
  log_logit_scale_.fill_(std::log(1.0 / temperature));
}

std::vector<torch::Tensor> ZeroShotModel::target_side_tensors() const {
  std::vector<torch::Tensor> tensors = image_->parameters();
  for (const auto& buffer : image_->buffers()) tensors.push_back(buffer);
  return tensors;
}

std::vector<torch::Tensor> ZeroShotModel::parameters_without_weight_decay() const {
  // SEARLE's AdamW decays all of φ (src/train_phi.py: AdamW(phi.parameters(), ...)).
  if (method_ == ZeroShotMethod::kSearle) return {};
  std::vector<torch::Tensor> biases;
  for (const auto& item : mapper_->named_parameters())
    if (item.key().size() >= 4 && item.key().compare(item.key().size() - 4, 4, "bias") == 0)
      biases.push_back(item.value());
  return biases;
}

std::optional<ZeroShotMethod> zero_shot_method_of(const ModelConfig& model) {
  if (model.family == "pic2word") return ZeroShotMethod::kPic2Word;
  if (model.family == "searle") return ZeroShotMethod::kSearle;
  if (model.family == "rtd") return ZeroShotMethod::kRtd;
  return std::nullopt;
}

ZeroShotParts make_zero_shot_parts(const ExperimentConfig& config, int64_t vocab_size, ZeroShotMethod method) {
  const ModelShape shape{config, config.model, config.data.image_size, vocab_size};
  // The clip encoders check the directory and the experiment against the model.
  std::shared_ptr<ClipImageTower> image = clip_image_encoder(shape);
  std::shared_ptr<ClipTextTower> text = clip_text_encoder(shape);
  const ClipConfig clip = read_clip_config(fs::path(config.model.clip_dir) / "config.json");
  // Both networks map the image feature (projection_dim) to a token embedding (the
  // text tower's width); the hidden widths are the references' unless set.
  const int64_t input = clip.projection_dim, output = clip.text.transformer.hidden_size;
  std::shared_ptr<torch::nn::Module> mapper;
  if (method == ZeroShotMethod::kPic2Word) {
    Im2TextOptions options;
    options.input_dim = input;
    options.output_dim = output;
    if (config.model.mapper_hidden > 0) options.hidden_dim = config.model.mapper_hidden;
    mapper = Im2Text(options).ptr();
  } else {
    PhiOptions options;
    options.input_dim = input;
    options.output_dim = output;
    options.hidden_dim = config.model.mapper_hidden > 0 ? config.model.mapper_hidden : 4 * input;
    options.dropout = config.searle.phi_dropout;
    mapper = Phi(options).ptr();
  }
  if (!config.model.mapper_weights.empty()) {
    if (!fs::exists(config.model.mapper_weights))
      throw UserError(config.where("model.mapper_weights") + ": " + config.model.mapper_weights + " not found");
    try {
      load_mapper_weights(*mapper, config.model.mapper_weights);
    } catch (const UserError& error) {
      throw UserError(config.where("model.mapper_weights") + ": " + error.what());
    }
  }
  return ZeroShotParts{std::move(image), std::move(text), std::move(mapper), clip.projection_dim,
                       clip_log_logit_scale(config)};
}

std::shared_ptr<ZeroShotModel> make_zero_shot_model(const ExperimentConfig& config, int64_t vocab_size,
                                                    ZeroShotMethod method) {
  ZeroShotParts parts = make_zero_shot_parts(config, vocab_size, method);
  return std::make_shared<ZeroShotModel>(method, std::move(parts.image), std::move(parts.text), parts.projection_dim,
                                         std::move(parts.mapper), parts.log_logit_scale);
}

}  // namespace spn
