#pragma once
// SPRC (Bai et al., ICLR 2024) on BLIP-2: the EVA ViT-g image tower with ln_vision, the
// Q-Former with its learned query tokens and word + position embeddings, the two
// 256-wide projections, and SPRC's additions (32 prompt tokens, a learned temperature).
// Parameter names are those of Hugging Face's Blip2ForImageTextRetrieval
// (Salesforce/blip2-itm-vit-g, the checkpoint SPRC starts from): vision_model.*,
// query_tokens, embeddings.{word,position}_embeddings, qformer.*, vision_projection,
// text_projection; SPRC's own are prompt_tokens and temp.
//
// Embeddings are token sets: a target image is [Q, E] (Q = num_query_tokens = 32, E =
// 256) unit vectors, a query is one unit [E] vector, and the score is the best token's
// (models/token_similarity.h). Banks, the distributed softmax and the metrics will carry
// [N, Q, E] targets through that one seam.
//
// The passes (T text tokens, rows from BertTokenizer with 0 = [PAD]):
//   target_features  Q-Former over query_tokens, cross-attending to the image tokens
//                    -> vision_projection -> unit [B, Q, E]
//   fuse             [query_tokens; text], mask [1]*Q + text mask, cross-attending to
//                    the reference image -> the query slots [B, Q, H]
//   composed_query   [fused; text] without image -> [CLS] (index Q) -> text_projection
//                    -> unit [B, E]
//   prompt_query     [CLS; prompt_tokens; words 1..] + positions 0..T+Q-1 without image
//                    -> [CLS] (index 0) -> text_projection -> unit [B, E]
//   text_features    the text alone without image -> [CLS] -> text_projection -> unit
//   similarity       max over target tokens of <query, token> / temp
//
// SPN's stage 2 (SPN4CIR's init_stage2) trains a copy of the Q-Former, its word +
// position embeddings and text_projection for the composed query alone; add_query_copy
// makes it (qformer_query.*, embeddings_query.*, text_projection_query.*), and from then
// on composed_query reads the copy while every other pass keeps the originals.
#include <filesystem>
#include <memory>

#include <torch/nn/modules/embedding.h>

#include "models/blip2_config.h"
#include "models/eva_vit.h"
#include "models/qformer.h"

namespace spn {

// "word_embeddings", "position_embeddings" (the Q-Former's text input).
class QFormerTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit QFormerTextEmbeddingsImpl(const QFormerConfig& config);
  torch::Tensor words(const torch::Tensor& tokens);  // [B, T] -> [B, T, H]
  torch::Tensor positions(int64_t length);           // [1, length, H], positions 0..length-1
  torch::Tensor forward(const torch::Tensor& tokens) { return words(tokens) + positions(tokens.size(1)); }

 private:
  int64_t max_positions_;
  torch::nn::Embedding word_embeddings_{nullptr}, position_embeddings_{nullptr};
};
TORCH_MODULE(QFormerTextEmbeddings);

class Blip2Sprc : public torch::nn::Module {
 public:
  explicit Blip2Sprc(const Blip2Config& config);
  const Blip2Config& config() const { return config_; }

  // [B, 3, S, S] images in [-1, 1] -> CLIP normalisation -> [B, patches + 1, W] image
  // tokens (ViT + ln_vision). encode_pixels takes already normalised pixels.
  torch::Tensor image_tokens(const torch::Tensor& images);
  torch::Tensor encode_pixels(const torch::Tensor& pixels);

  torch::Tensor target_features(const torch::Tensor& image_tokens);
  torch::Tensor fuse(const torch::Tensor& image_tokens, const torch::Tensor& tokens);
  torch::Tensor composed_query(const torch::Tensor& fused, const torch::Tensor& tokens);
  torch::Tensor prompt_query(const torch::Tensor& tokens);
  torch::Tensor text_features(const torch::Tensor& tokens);
  // queries [B, E], targets [N, Q, E] -> [B, N] logits.
  torch::Tensor similarity(const torch::Tensor& queries, const torch::Tensor& targets) const;

  // Copies the Q-Former, its text embeddings and text_projection (values, device, dtype)
  // into the modules composed_query reads from now on. Once: a second call does nothing.
  void add_query_copy();
  bool has_query_copy() const { return !qformer_query_.is_empty(); }
  // Parameter-name prefixes of the copy.
  static const std::vector<std::string>& query_copy_prefixes();

  const torch::Tensor& temp() const { return temp_; }
  const torch::Tensor& prompt_tokens() const { return prompt_tokens_; }

  // The key names SPRC adds to a Hugging Face BLIP-2 checkpoint.
  static const std::vector<std::string>& sprc_keys();

 private:
  torch::Tensor qformer_text_mask(const torch::Tensor& tokens, int64_t query_slots) const;
  void require_tokens(const torch::Tensor& tokens, int64_t query_slots) const;

  Blip2Config config_;
  EvaVisionTransformer vision_model_{nullptr};
  torch::Tensor query_tokens_;  // [1, Q, H]
  QFormerTextEmbeddings embeddings_{nullptr};
  QFormer qformer_{nullptr};
  torch::nn::Linear vision_projection_{nullptr}, text_projection_{nullptr};
  torch::Tensor prompt_tokens_;  // [1, Q, H]
  torch::Tensor temp_;           // []
  // Stage 2's copies for the composed query (empty until add_query_copy).
  QFormerTextEmbeddings embeddings_query_{nullptr};
  QFormer qformer_query_{nullptr};
  torch::nn::Linear text_projection_query_{nullptr};
};

// Reads config.json and model.safetensors from `directory` (Hugging Face's
// Blip2ForImageTextRetrieval layout; itm_head is not used). A checkpoint without
// prompt_tokens and temp (a plain BLIP-2 one) leaves them at SPRC's initial values
// (normal with std 0.02, and 0.07); one with either must hold both. EVA's attention
// biases may be stored fused (self_attn.qkv.bias) or as self_attn.q_bias + v_bias (the
// first transformers conversions). A checkpoint holding SPN's stage-2 copy
// (text_projection_query.weight, with qformer_query.* and embeddings_query.*) loads it
// too, so its composed query is the copy's. A missing file is a
// UserError saying what to download; weights that do not fit name every key and the file.
std::shared_ptr<Blip2Sprc> load_blip2_sprc(const std::filesystem::path& directory);

}  // namespace spn
