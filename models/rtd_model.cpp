#include "models/rtd_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/hash.h"
#include "models/clip_model.h"
#include "models/pseudo_words.h"

namespace spn {
namespace {

constexpr uint64_t kNoiseStream = 17;  // the noise's seed stream within a step's seed

}  // namespace

const char* rtd_reference_prompt() { return "a photo of $"; }

RtdModel::RtdModel(std::shared_ptr<ClipImageTower> image, std::shared_ptr<ClipTextTower> text,
                   std::shared_ptr<ClipTextTower> frozen_text, int64_t projection_dim,
                   std::shared_ptr<torch::nn::Module> phi, double log_logit_scale, double noise_scale,
                   double temperature)
    : ZeroShotModel(ZeroShotMethod::kRtd, std::move(image), text, projection_dim, std::move(phi), log_logit_scale),
      copy_(std::move(text)),
      frozen_text_(register_module("frozen_text_encoder", std::move(frozen_text))),
      noise_scale_(noise_scale),
      temperature_(temperature) {
  // The base froze every CLIP tower and left the mapping network trainable: RTD
  // trains the copy alone.
  for (auto& p : copy_->parameters()) p.set_requires_grad(true);
  for (auto& p : frozen_text_->parameters()) p.set_requires_grad(false);
  for (auto& p : mapper().parameters()) p.set_requires_grad(false);
  mapper().eval();
}

void RtdModel::set_step_seed(uint64_t seed) {
  ZeroShotModel::set_step_seed(seed);
  noise_seed_ = mix_seed(seed, kNoiseStream);
}

torch::Tensor RtdModel::logit_scale() const {
  return torch::full({}, 1.0 / temperature_, torch::TensorOptions().dtype(torch::kFloat).device(device()));
}

void RtdModel::train(bool on) {
  ZeroShotModel::train(on);
  mapper().eval();
}

torch::Tensor RtdModel::reference_noise(int64_t rows, int64_t dim, int64_t first_row, const torch::Tensor& like) const {
  // One generator per global row: the row's draws do not depend on which rank holds it
  // or on how many rows come before it on that rank.
  const auto cpu = torch::TensorOptions().dtype(torch::kFloat);
  std::vector<torch::Tensor> noise;
  noise.reserve(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    at::Generator generator =
        at::detail::createCPUGenerator(mix_seed(noise_seed_, static_cast<uint64_t>(first_row + r)));
    const torch::Tensor u = torch::rand({1}, generator, cpu);
    noise.push_back(u * torch::randn({dim}, generator, cpu));
  }
  return (noise_scale_ * torch::stack(noise)).to(like.options());
}

RtdFeatures RtdModel::rtd_features(const torch::Tensor& tokens, int64_t first_row, const torch::Tensor& noise) {
  if (tokens.dim() != 3 || tokens.size(1) != 4)
    throw std::logic_error("RtdModel::rtd_features: expected tokens [B, 4, L]");
  RtdFeatures features;
  torch::Tensor words;
  {
    // The original tower and φ are frozen: nothing of theirs is kept for backward.
    torch::NoGradGuard no_grad;
    const torch::Tensor references = frozen_text_->forward(tokens.select(1, 2));
    const torch::Tensor targets = frozen_text_->forward(tokens.select(1, 3));
    features.targets = unit_float32(torch::cat({targets, references}));
    const torch::Tensor noisy =
        references + (noise.defined() ? noise.to(references.options())
                                      : reference_noise(references.size(0), references.size(1), first_row, references));
    words = pseudo_words(noisy, first_row);
  }
  const torch::Tensor prompts = torch::cat({tokens.select(1, 0), tokens.select(1, 1)});
  features.queries = unit_float32(encode_with_pseudo_words(*copy_, prompts, torch::cat({words, words}),
                                                           PseudoWordInjection::kReplaceEvery, kDollarToken));
  return features;
}

std::shared_ptr<RtdModel> make_rtd_model(const ExperimentConfig& config, int64_t vocab_size) {
  if (config.model.mapper_weights.empty())
    throw UserError(config.where("model.mapper_weights") +
                    ": model.family = \"rtd\" needs phi, SEARLE's mapping network, as a safetensors file with "
                    "SEARLE's names (layers.{0,3,6}.{weight,bias})");
  ZeroShotParts parts = make_zero_shot_parts(config, vocab_size, ZeroShotMethod::kRtd);
  // The copy that trains starts as CLIP's text tower: a second load of the same file.
  const ModelShape shape{config, config.model, config.data.image_size, vocab_size};
  std::shared_ptr<ClipTextTower> frozen = clip_text_encoder(shape);
  return std::make_shared<RtdModel>(std::move(parts.image), std::move(parts.text), std::move(frozen),
                                    parts.projection_dim, std::move(parts.mapper), parts.log_logit_scale,
                                    config.rtd.noise_scale, config.rtd.temperature);
}

}  // namespace spn
