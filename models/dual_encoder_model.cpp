#include "models/dual_encoder_model.h"

#include <cmath>

#include "core/hash.h"
#include "models/registry.h"

namespace spn {
namespace {

constexpr double kMaxLogitScale = 100.0;

}  // namespace

DualEncoderModel::DualEncoderModel(std::shared_ptr<ImageEncoder> image_encoder,
                                   std::shared_ptr<TextEncoder> text_encoder, std::shared_ptr<CirHead> head,
                                   double temperature, bool learn_temperature, int64_t embed_dim)
    : image_encoder_(register_module("image_encoder", std::move(image_encoder))),
      text_encoder_(register_module("text_encoder", std::move(text_encoder))),
      head_(register_module("head", std::move(head))),
      embed_dim_(embed_dim) {
  const torch::Tensor initial = torch::full({}, std::log(1.0 / temperature));
  log_logit_scale_ =
      learn_temperature ? register_parameter("log_logit_scale", initial) : register_buffer("log_logit_scale", initial);
}

torch::Tensor DualEncoderModel::encode_target(const torch::Tensor& images) {
  return unit_float32(image_encoder_->forward(images));
}

torch::Tensor DualEncoderModel::encode_query_from_features(const torch::Tensor& reference_features,
                                                           const torch::Tensor& tokens, int64_t first_row) {
  return combine(reference_features, encode_text(tokens), first_row);
}

torch::Tensor DualEncoderModel::encode_text(const torch::Tensor& tokens) {
  return unit_float32(text_encoder_->forward(tokens));
}

torch::Tensor DualEncoderModel::combine(const torch::Tensor& reference_features, const torch::Tensor& text_features,
                                        int64_t first_row, uint64_t call) {
  return unit_float32(
      head_->forward(reference_features, text_features, RowDraws{mix_seed(step_seed_, call), first_row}));
}

void DualEncoderModel::set_step_seed(uint64_t seed) { step_seed_ = seed; }

void DualEncoderModel::set_temperature(double temperature) {
  torch::NoGradGuard no_grad;
  log_logit_scale_.fill_(std::log(1.0 / temperature));
}

torch::Tensor DualEncoderModel::logit_scale() const { return log_logit_scale_.exp().clamp_max(kMaxLogitScale); }

c10::Device DualEncoderModel::device() const { return log_logit_scale_.device(); }

std::vector<torch::Tensor> DualEncoderModel::target_side_tensors() const {
  std::vector<torch::Tensor> tensors = image_encoder_->parameters();
  for (const auto& buffer : image_encoder_->buffers()) tensors.push_back(buffer);
  return tensors;
}

std::vector<torch::Tensor> DualEncoderModel::query_side_parameters() const {
  std::vector<torch::Tensor> parameters = text_encoder_->parameters();
  for (const auto& p : head_->parameters()) parameters.push_back(p);
  if (log_logit_scale_.requires_grad()) parameters.push_back(log_logit_scale_);
  return parameters;
}

void DualEncoderModel::freeze_target_side() {
  for (auto& p : image_encoder_->parameters()) p.set_requires_grad(false);
}

std::shared_ptr<DualEncoderModel> make_dual_encoder_model(const ExperimentConfig& config, int64_t vocab_size) {
  const ModelShape shape{config, config.model, config.data.image_size, vocab_size};
  return std::make_shared<DualEncoderModel>(make_image_encoder(config, shape), make_text_encoder(config, shape),
                                            make_head(config, shape), config.stage1.temperature,
                                            config.stage1.learn_temperature, config.model.embed_dim);
}

}  // namespace spn
