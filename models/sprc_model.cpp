#include "models/sprc_model.h"

#include <torch/serialize/input-archive.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/bert_tokenizer.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

// Parameter-name prefixes (in Blip2Sprc) of what the target pass reads, and of what the
// fusion pass reads (a stage-2 reference row).
const std::vector<std::string>& target_side_prefixes() {
  static const std::vector<std::string> prefixes = {"vision_model.", "query_tokens", "qformer.", "vision_projection."};
  return prefixes;
}
const std::vector<std::string>& fusion_prefixes() {
  static const std::vector<std::string> prefixes = {"vision_model.", "query_tokens", "embeddings.", "qformer."};
  return prefixes;
}

bool starts_with_any(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes)
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

// The parts of the stage-2 copy the composed query uses: a pass without image reads no
// cross-attention and no query FFN (models/qformer.h).
bool used_by_composed_query(const std::string& name) {
  const std::string qformer = "qformer_query.";
  if (name.rfind(qformer, 0) != 0) return starts_with_any(name, Blip2Sprc::query_copy_prefixes());
  const std::string layer_part = name.substr(qformer.size());  // intermediate_query., output_query.
  return layer_part.find("crossattention.") == std::string::npos && layer_part.find("_query.") == std::string::npos;
}

// model.blip2_dir, which must hold what Salesforce/blip2-itm-vit-g and bert-base-uncased
// provide; the first file missing is named with where to download it.
fs::path blip2_dir_of(const ExperimentConfig& config) {
  const std::string download =
      "config.json and model.safetensors from https://huggingface.co/Salesforce/blip2-itm-vit-g (or convert an "
      "SPRC / SPN4CIR checkpoint with scripts/convert-blip2-checkpoint.py), and vocab.txt from "
      "https://huggingface.co/google-bert/bert-base-uncased";
  if (config.model.blip2_dir.empty())
    throw UserError(config.where("model.blip2_dir") +
                    ": model.family = \"sprc\" needs a BLIP-2 model directory holding " + download);
  const fs::path dir = config.model.blip2_dir;
  for (const char* file : {"config.json", "model.safetensors", "vocab.txt"})
    if (!fs::exists(dir / file))
      throw UserError(config.where("model.blip2_dir") + ": " + (dir / file).string() + " is missing; download " +
                      download + " into " + dir.string());
  return dir;
}

}  // namespace

SprcModel::SprcModel(std::shared_ptr<Blip2Sprc> blip2, bool learn_temperature)
    : blip2_(register_module("blip2", std::move(blip2))) {
  for (auto& item : blip2_->named_parameters())
    if (item.key().rfind("vision_model.", 0) == 0) item.value().set_requires_grad(false);
  if (!learn_temperature) blip2_->named_parameters()["temp"].set_requires_grad(false);
}

// Autocast leaves the passes' outputs in 16 bits; losses, banks and scores take float32.
torch::Tensor SprcModel::to_float32(const torch::Tensor& x) const {
  const bool reduced = x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf;
  return reduced ? x.to(torch::kFloat) : x;
}

torch::Tensor SprcModel::encode_reference(const torch::Tensor& images) {
  // The frozen ViT keeps no activations for backward.
  torch::NoGradGuard no_grad;
  return blip2_->image_tokens(images);
}

torch::Tensor SprcModel::encode_target(const torch::Tensor& images) {
  return to_float32(blip2_->target_features(encode_reference(images)));
}

std::vector<int64_t> SprcModel::target_row_shape() const {
  return {blip2_->config().num_query_tokens, blip2_->config().embed_dim};
}

torch::Tensor SprcModel::fuse(const torch::Tensor& reference_features, const torch::Tensor& tokens) {
  return blip2_->fuse(reference_features, tokens);
}

torch::Tensor SprcModel::encode_query_from_fused(const torch::Tensor& fused, const torch::Tensor& tokens) {
  return to_float32(blip2_->composed_query(fused, tokens));
}

torch::Tensor SprcModel::encode_query_from_features(const torch::Tensor& reference_features,
                                                    const torch::Tensor& tokens, int64_t /*first_row*/) {
  return encode_query_from_fused(fuse(reference_features, tokens), tokens);
}

torch::Tensor SprcModel::encode_reference_row(const torch::Tensor& reference_features, const torch::Tensor& tokens) {
  // Frozen in stage 2: no activations are kept (in stage 1 the fusion pass trains
  // through sprc_loss, not through here).
  torch::NoGradGuard no_grad;
  return to_float32(fuse(reference_features, tokens));
}

std::vector<int64_t> SprcModel::reference_row_shape() const {
  return {blip2_->config().num_query_tokens, blip2_->config().qformer.hidden_size};
}

std::vector<torch::Tensor> SprcModel::reference_row_tensors() const { return tensors_under(fusion_prefixes()); }

torch::Tensor SprcModel::encode_query_from_reference_row(const torch::Tensor& reference_rows,
                                                         const torch::Tensor& tokens, int64_t /*first_row*/) {
  return encode_query_from_fused(reference_rows, tokens);
}

torch::Tensor SprcModel::encode_prompt_query(const torch::Tensor& tokens) {
  return to_float32(blip2_->prompt_query(tokens));
}

torch::Tensor SprcModel::logit_scale() const { return blip2_->temp().reciprocal(); }

void SprcModel::set_temperature(double temperature) {
  torch::NoGradGuard no_grad;
  blip2_->named_parameters()["temp"].fill_(temperature);
}

c10::Device SprcModel::device() const { return blip2_->temp().device(); }

std::vector<torch::Tensor> SprcModel::tensors_under(const std::vector<std::string>& prefixes) const {
  std::vector<torch::Tensor> tensors;
  for (const auto& item : blip2_->named_parameters())
    if (starts_with_any(item.key(), prefixes)) tensors.push_back(item.value());
  for (const auto& item : blip2_->named_buffers())
    if (starts_with_any(item.key(), prefixes)) tensors.push_back(item.value());
  return tensors;
}

std::vector<torch::Tensor> SprcModel::target_side_tensors() const { return tensors_under(target_side_prefixes()); }

std::vector<torch::Tensor> SprcModel::query_side_parameters() const {
  std::vector<torch::Tensor> parameters;
  for (const auto& item : blip2_->named_parameters())
    if (item.key().rfind("vision_model.", 0) != 0 && item.value().requires_grad()) parameters.push_back(item.value());
  return parameters;
}

void SprcModel::freeze_target_side() {
  blip2_->add_query_copy();
  for (auto& item : blip2_->named_parameters()) {
    if (item.key() == "temp") continue;  // learned or fixed as in stage 1
    item.value().set_requires_grad(used_by_composed_query(item.key()));
  }
}

void SprcModel::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive blip2, copy;
  if (archive.try_read("blip2", blip2) && blip2.try_read("text_projection_query", copy)) blip2_->add_query_copy();
  CirModel::load(archive);
}

std::shared_ptr<SprcModel> make_sprc_model(const ExperimentConfig& config, int64_t vocab_size) {
  const fs::path dir = blip2_dir_of(config);
  std::shared_ptr<Blip2Sprc> blip2;
  try {
    blip2 = load_blip2_sprc(dir);
  } catch (const UserError& error) {
    throw UserError(config.where("model.blip2_dir") + ": " + error.what());
  }
  const Blip2Config& shape = blip2->config();
  if (config.data.image_size != shape.vision.image_size)
    throw UserError(config.where("data.image_size") + ": " + std::to_string(config.data.image_size) + " px, but " +
                    (dir / "config.json").string() + " gives the ViT " + std::to_string(shape.vision.image_size) +
                    " px images (vision_config.image_size)");
  if (config.data.max_words + shape.num_query_tokens > shape.qformer.max_positions)
    throw UserError(config.where("data.max_words") + ": text rows of " + std::to_string(config.data.max_words) +
                    " tokens beside " + std::to_string(shape.num_query_tokens) + " prompt tokens need more than the " +
                    std::to_string(shape.qformer.max_positions) + " positions of " + (dir / "config.json").string() +
                    " (qformer_config.max_position_embeddings)");
  if (vocab_size > shape.qformer.vocab_size)
    throw UserError(config.where("model.blip2_dir") + ": " + (dir / "vocab.txt").string() + " gives " +
                    std::to_string(vocab_size) + " token ids with [DEC], more than the Q-Former's " +
                    std::to_string(shape.qformer.vocab_size) + " word embeddings");
  return std::make_shared<SprcModel>(std::move(blip2), config.stage1.learn_temperature);
}

std::unique_ptr<Tokenizer> make_sprc_tokenizer(const ExperimentConfig& config) {
  const fs::path dir = blip2_dir_of(config);
  auto tokenizer = std::make_unique<BertTokenizer>(BertTokenizer::from_directory(dir));
  tokenizer->set_truncation(config.model.truncation);
  return tokenizer;
}

}  // namespace spn
