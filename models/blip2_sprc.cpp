#include "models/blip2_sprc.h"

#include <torch/torch.h>

#include "core/error.h"
#include "models/clip_image_tower.h"
#include "models/safetensors.h"
#include "models/token_similarity.h"

namespace spn {
namespace {

torch::Tensor unit(const torch::Tensor& x) {
  return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

}  // namespace

QFormerTextEmbeddingsImpl::QFormerTextEmbeddingsImpl(const QFormerConfig& config)
    : max_positions_(config.max_positions) {
  word_embeddings_ = register_module("word_embeddings", torch::nn::Embedding(config.vocab_size, config.hidden_size));
  position_embeddings_ =
      register_module("position_embeddings", torch::nn::Embedding(config.max_positions, config.hidden_size));
}

torch::Tensor QFormerTextEmbeddingsImpl::words(const torch::Tensor& tokens) { return word_embeddings_(tokens); }

torch::Tensor QFormerTextEmbeddingsImpl::positions(int64_t length) {
  return position_embeddings_->weight.narrow(0, 0, length).unsqueeze(0);
}

Blip2Sprc::Blip2Sprc(const Blip2Config& config) : config_(config) {
  const int64_t hidden = config.qformer.hidden_size, queries = config.num_query_tokens;
  vision_model_ = register_module("vision_model", EvaVisionTransformer(config.vision));
  // SPRC's initialisations (BERT's initializer_range 0.02; temp 0.07).
  query_tokens_ = register_parameter("query_tokens", torch::randn({1, queries, hidden}) * 0.02);
  embeddings_ = register_module("embeddings", QFormerTextEmbeddings(config.qformer));
  qformer_ = register_module("qformer", QFormer(config.qformer));
  vision_projection_ = register_module("vision_projection", torch::nn::Linear(hidden, config.embed_dim));
  text_projection_ = register_module("text_projection", torch::nn::Linear(hidden, config.embed_dim));
  prompt_tokens_ = register_parameter("prompt_tokens", torch::randn({1, queries, hidden}) * 0.02);
  temp_ = register_parameter("temp", torch::full({}, 0.07));
}

const std::vector<std::string>& Blip2Sprc::sprc_keys() {
  static const std::vector<std::string> keys = {"prompt_tokens", "temp"};
  return keys;
}

const std::vector<std::string>& Blip2Sprc::query_copy_prefixes() {
  static const std::vector<std::string> prefixes = {"qformer_query.", "embeddings_query.", "text_projection_query."};
  return prefixes;
}

void Blip2Sprc::add_query_copy() {
  if (has_query_copy()) return;
  // Built afresh and filled by name: LibTorch's modules here are not Cloneable.
  QFormerTextEmbeddings embeddings(config_.qformer);
  QFormer qformer(config_.qformer);
  torch::nn::Linear text_projection(config_.qformer.hidden_size, config_.embed_dim);
  const auto copy_into = [](torch::nn::Module& copy, const torch::nn::Module& original) {
    torch::NoGradGuard no_grad;
    copy.to(original.parameters().front().device(), original.parameters().front().scalar_type());
    const auto source = original.named_parameters();
    for (auto& item : copy.named_parameters()) item.value().copy_(source[item.key()]);
    const auto buffers = original.named_buffers();
    for (auto& item : copy.named_buffers()) item.value().copy_(buffers[item.key()]);
  };
  copy_into(*embeddings, *embeddings_);
  copy_into(*qformer, *qformer_);
  copy_into(*text_projection, *text_projection_);
  embeddings_query_ = register_module("embeddings_query", embeddings);
  qformer_query_ = register_module("qformer_query", qformer);
  text_projection_query_ = register_module("text_projection_query", text_projection);
}

torch::Tensor Blip2Sprc::encode_pixels(const torch::Tensor& pixels) { return vision_model_(pixels); }

torch::Tensor Blip2Sprc::image_tokens(const torch::Tensor& images) { return encode_pixels(clip_normalize(images)); }

void Blip2Sprc::require_tokens(const torch::Tensor& tokens, int64_t query_slots) const {
  if (tokens.dim() != 2 || tokens.scalar_type() != torch::kLong)
    throw UserError("the Q-Former takes [B, T] int64 token rows, got " + std::string(c10::str(tokens.sizes())));
  if (tokens.size(1) + query_slots > config_.qformer.max_positions)
    throw UserError("text rows of " + std::to_string(tokens.size(1)) + " tokens need " +
                    std::to_string(tokens.size(1) + query_slots) + " positions, more than the Q-Former's " +
                    std::to_string(config_.qformer.max_positions) + " (set data.max_words lower)");
}

// [1]*query_slots followed by the rows' own mask (0 = [PAD]).
torch::Tensor Blip2Sprc::qformer_text_mask(const torch::Tensor& tokens, int64_t query_slots) const {
  torch::Tensor text = tokens.ne(0).to(torch::kLong);
  return torch::cat({torch::ones({tokens.size(0), query_slots}, text.options()), text}, 1);
}

torch::Tensor Blip2Sprc::target_features(const torch::Tensor& image_tokens) {
  const int64_t queries = config_.num_query_tokens;
  torch::Tensor hidden =
      qformer_(query_tokens_.expand({image_tokens.size(0), -1, -1}), torch::Tensor(), image_tokens, queries);
  return unit(vision_projection_(hidden));
}

torch::Tensor Blip2Sprc::fuse(const torch::Tensor& image_tokens, const torch::Tensor& tokens) {
  const int64_t queries = config_.num_query_tokens;
  require_tokens(tokens, queries);
  torch::Tensor input = torch::cat({query_tokens_.expand({tokens.size(0), -1, -1}), embeddings_(tokens)}, 1);
  return qformer_(input, qformer_text_mask(tokens, queries), image_tokens, queries).narrow(1, 0, queries);
}

torch::Tensor Blip2Sprc::composed_query(const torch::Tensor& fused, const torch::Tensor& tokens) {
  const int64_t queries = fused.size(1);
  require_tokens(tokens, queries);
  const bool copy = has_query_copy();
  QFormerTextEmbeddings& embeddings = copy ? embeddings_query_ : embeddings_;
  QFormer& qformer = copy ? qformer_query_ : qformer_;
  torch::nn::Linear& text_projection = copy ? text_projection_query_ : text_projection_;
  torch::Tensor input = torch::cat({fused, embeddings(tokens)}, 1);
  torch::Tensor hidden = qformer(input, qformer_text_mask(tokens, queries), torch::Tensor(), 0);
  return unit(text_projection(hidden.select(1, queries)));  // the [CLS] after the query slots
}

torch::Tensor Blip2Sprc::prompt_query(const torch::Tensor& tokens) {
  const int64_t queries = config_.num_query_tokens;
  require_tokens(tokens, queries);
  torch::Tensor words = embeddings_->words(tokens);
  torch::Tensor input = torch::cat({words.narrow(1, 0, 1), prompt_tokens_.expand({tokens.size(0), -1, -1}),
                                    words.narrow(1, 1, tokens.size(1) - 1)},
                                   1) +
                        embeddings_->positions(tokens.size(1) + queries);
  // SPRC passes the mask [1]*Q + text mask for this layout, which is the same as the
  // [CLS] and prompt slots attending followed by the words' mask: [CLS] is never padding.
  torch::Tensor hidden = qformer_(input, qformer_text_mask(tokens, queries), torch::Tensor(), 0);
  return unit(text_projection_(hidden.select(1, 0)));
}

torch::Tensor Blip2Sprc::text_features(const torch::Tensor& tokens) {
  require_tokens(tokens, 0);
  torch::Tensor hidden = qformer_(embeddings_(tokens), qformer_text_mask(tokens, 0), torch::Tensor(), 0);
  return unit(text_projection_(hidden.select(1, 0)));
}

torch::Tensor Blip2Sprc::similarity(const torch::Tensor& queries, const torch::Tensor& targets) const {
  return max_token_similarity(queries, targets) / temp_;
}

std::shared_ptr<Blip2Sprc> load_blip2_sprc(const std::filesystem::path& directory) {
  for (const char* file : {"config.json", "model.safetensors"}) {
    if (!std::filesystem::exists(directory / file))
      throw UserError((directory / file).string() +
                      ": missing. A BLIP-2 model directory holds config.json and model.safetensors in Hugging "
                      "Face's Blip2ForImageTextRetrieval layout (download them from "
                      "https://huggingface.co/Salesforce/blip2-itm-vit-g into " +
                      directory.string() + ") and bert-base-uncased's vocab.txt");
  }
  auto model = std::make_shared<Blip2Sprc>(read_blip2_config(directory / "config.json"));
  SafetensorsFile weights(directory / "model.safetensors");
  if (weights.contains("text_projection_query.weight")) model->add_query_copy();  // SPN's stage-2 weights
  // Unused here: the image-text matching head, and position_ids buffers older
  // transformers versions saved.
  std::vector<std::string> ignored = {"itm_head.weight", "itm_head.bias", "embeddings.position_ids"};
  bool has_sprc_keys = false;
  for (const auto& key : Blip2Sprc::sprc_keys()) has_sprc_keys = has_sprc_keys || weights.contains(key);
  std::vector<std::string> optional = has_sprc_keys ? std::vector<std::string>() : Blip2Sprc::sprc_keys();
  // The first conversions of LAVIS checkpoints (transformers' BLIP-2 of 2023) store EVA's
  // biases as self_attn.q_bias and v_bias; qkv.bias is [q_bias, zeros, v_bias].
  std::vector<std::pair<std::string, std::string>> split_biases;  // (layer prefix, qkv.bias key)
  for (int64_t i = 0; i < model->config().vision.num_layers; ++i) {
    const std::string prefix = "vision_model.encoder.layers." + std::to_string(i) + ".self_attn.";
    if (weights.contains(prefix + "qkv.bias") || !weights.contains(prefix + "q_bias")) continue;
    split_biases.emplace_back(prefix, prefix + "qkv.bias");
    optional.push_back(prefix + "qkv.bias");
    ignored.insert(ignored.end(), {prefix + "q_bias", prefix + "v_bias"});
  }
  load_safetensors_into({model.get()}, weights, ignored, optional);
  torch::NoGradGuard no_grad;
  for (const auto& [prefix, qkv_key] : split_biases) {
    torch::Tensor qkv = model->named_parameters()[qkv_key];
    const int64_t hidden = qkv.size(0) / 3;
    for (const auto& [name, offset] : {std::pair<std::string, int64_t>{"q_bias", 0}, {"v_bias", 2 * hidden}}) {
      if (!weights.contains(prefix + name) || weights.entry(prefix + name).shape != std::vector<int64_t>{hidden})
        throw UserError(weights.path().string() + ": " + prefix + name + " must be a [" + std::to_string(hidden) +
                        "] tensor beside " + prefix + (offset ? "q_bias" : "v_bias"));
      qkv.narrow(0, offset, hidden).copy_(weights.read(prefix + name).to(qkv.dtype()));
    }
    qkv.narrow(0, hidden, hidden).zero_();
  }
  return model;
}

}  // namespace spn
