#pragma once
// The zero-shot methods as CIR model families (model.family = "pic2word", "searle"): a
// frozen CLIP (model.clip_dir) and a trainable mapping network from the reference
// image's un-normalised CLIP feature to one pseudo-word token embedding
// (models/pseudo_word_mappers.h), which the method's prompt carries into CLIP's text
// tower (models/zero_shot_query.h):
//   targets     CLIP image features, normalised: unit [B, projection_dim];
//   references  CLIP image features, un-normalised (what the mapping networks take);
//   queries     the composed prompt ("a photo of * , {caption}" for Pic2Word, "a
//               photo of $ that {caption}" for SEARLE; the tokenizer writes the
//               prompt around each caption, models/zero_shot_tokenizer.h) with the
//               pseudo word in place of the placeholder, normalised;
//   scale       CLIP's own logit scale (exp(logit_scale) of model.safetensors, capped
//               at 100), fixed.
// Only the mapping network trains: every CLIP parameter has requires_grad false (the
// gradient still flows through the frozen text tower into the pseudo word).
#include <memory>
#include <optional>
#include <vector>

#include "models/cir_model.h"
#include "models/clip_model.h"
#include "models/pseudo_word_mappers.h"
#include "models/zero_shot_query.h"

namespace spn {

// A batch of Pic2Word's training pairs: each image's CLIP feature and the features of
// "a photo of" with the image's pseudo word inserted before the end token.
struct PseudoWordPairs {
  torch::Tensor image_features;  // [B, projection_dim], un-normalised, no gradient
  torch::Tensor text_features;   // [B, projection_dim], un-normalised, float32
};

class ZeroShotModel : public CirModel {
 public:
  // `mapper` is an Im2Text (Pic2Word) or a Phi (SEARLE); `log_logit_scale` CLIP's.
  ZeroShotModel(ZeroShotMethod method, std::shared_ptr<ClipImageTower> image, std::shared_ptr<ClipTextTower> text,
                int64_t projection_dim, std::shared_ptr<torch::nn::Module> mapper, double log_logit_scale);

  ZeroShotMethod method() const { return method_; }
  ClipImageTower& image_tower() { return *image_; }
  ClipTextTower& text_tower() { return *text_; }
  torch::nn::Module& mapper() { return *mapper_; }

  torch::Tensor encode_target(const torch::Tensor& images) override;
  std::vector<int64_t> target_row_shape() const override { return {projection_dim_}; }
  torch::Tensor encode_reference(const torch::Tensor& images) override;
  bool references_are_targets() const override { return false; }
  torch::Tensor encode_query_from_features(const torch::Tensor& reference_features, const torch::Tensor& tokens,
                                           int64_t first_row = 0) override;
  // The composed queries of pseudo words [B, hidden] found some other way (SEARLE-OTI's
  // test-time inversion, train/searle_oti_queries.h), normalised.
  torch::Tensor encode_query_from_words(const torch::Tensor& words, const torch::Tensor& tokens);
  // The pseudo words [B, hidden] of un-normalised image features; in training mode the
  // mapping network's dropout masks follow the step seed and the global rows.
  torch::Tensor pseudo_words(const torch::Tensor& reference_features, int64_t first_row);
  // Pic2Word's training pairs for images [B, 3, S, S] and "a photo of" token rows [B, L].
  PseudoWordPairs pic2word_pairs(const torch::Tensor& images, const torch::Tensor& prompt_tokens, int64_t first_row);

  void set_step_seed(uint64_t seed) override { step_seed_ = seed; }
  torch::Tensor logit_scale() const override;
  void set_temperature(double temperature) override;
  c10::Device device() const override { return log_logit_scale_.device(); }

  // The targets are CLIP's image tower; the query side is the mapping network (the
  // text tower is frozen); freezing the target side changes nothing.
  std::vector<torch::Tensor> target_side_tensors() const override;
  std::vector<torch::Tensor> query_side_parameters() const override { return mapper_->parameters(); }
  void freeze_target_side() override {}
  // The references' recipes leave biases out of the weight decay.
  std::vector<torch::Tensor> parameters_without_weight_decay() const override;

 private:
  ZeroShotMethod method_;
  std::shared_ptr<ClipImageTower> image_;
  std::shared_ptr<ClipTextTower> text_;
  std::shared_ptr<torch::nn::Module> mapper_;
  std::function<torch::Tensor(const torch::Tensor&, const RowDraws&)> map_;
  torch::Tensor log_logit_scale_;
  int64_t projection_dim_;
  uint64_t step_seed_ = 0;
};

// The zero-shot method of model.family, if it names one ("pic2word", "searle", "rtd").
std::optional<ZeroShotMethod> zero_shot_method_of(const ModelConfig& model);

// The model of model.family ("pic2word" or "searle") from model.clip_dir, checked
// against the experiment as the clip encoders are (data.image_size, model.embed_dim =
// projection_dim, data.max_words, the token table), with the mapping network sized by
// CLIP's widths and model.mapper_hidden and, when model.mapper_weights names a
// safetensors file with the reference names, its weights. Errors name the key.
std::shared_ptr<ZeroShotModel> make_zero_shot_model(const ExperimentConfig& config, int64_t vocab_size,
                                                    ZeroShotMethod method);

// What make_zero_shot_model assembles, for a family that adds to it (RTD: a frozen copy of
// the text tower, models/rtd_model.h). The mapper is IM2TEXT for Pic2Word, φ otherwise.
struct ZeroShotParts {
  std::shared_ptr<ClipImageTower> image;
  std::shared_ptr<ClipTextTower> text;
  std::shared_ptr<torch::nn::Module> mapper;
  int64_t projection_dim = 0;
  double log_logit_scale = 0;
};
ZeroShotParts make_zero_shot_parts(const ExperimentConfig& config, int64_t vocab_size, ZeroShotMethod method);

}  // namespace spn
