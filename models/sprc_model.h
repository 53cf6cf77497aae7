#pragma once
// SPRC (Bai et al., ICLR 2024) as a CIR model family (model.family = "sprc"): BLIP-2's
// EVA ViT and Q-Former with SPRC's prompt tokens (models/blip2_sprc.h), loaded from
// model.blip2_dir. Targets are token sets [B, Q, E] (the Q-Former's query tokens over
// the image, projected and normalised); a reference enters the query as its image tokens
// [B, patches + 1, W], which the fusion pass cross-attends to; the query is the composed
// query [B, E]; the temperature is SPRC's learned `temp` (logits = similarity / temp).
//
// As in SPRC's training, the ViT is frozen (and runs without autograd); everything else
// trains. Stage 1's objective (itc + rtc + align) is train/sprc_loss.h.
//
// SPN's stage 2 (SPN4CIR's init_stage2): freeze_target_side adds the trainable copy of
// the Q-Former, its text embeddings and text_projection that the composed query reads
// from then on, and freezes everything else except `temp` (stage2.temperature restarts
// it; it learns unless stage1.learn_temperature = false). The copy's cross-attention
// and query FFN take no part in the composed query (a pass without image) and stay
// frozen. A reference row is the frozen fusion pass's query slots [Q, H] over the
// reference image and the text.
#include <memory>
#include <vector>

#include "data/tokenizer.h"
#include "models/blip2_sprc.h"
#include "models/cir_model.h"

namespace spn {

class SprcModel : public CirModel {
 public:
  // `learn_temperature` false keeps `temp` fixed.
  SprcModel(std::shared_ptr<Blip2Sprc> blip2, bool learn_temperature);

  Blip2Sprc& blip2() { return *blip2_; }

  torch::Tensor encode_target(const torch::Tensor& images) override;
  std::vector<int64_t> target_row_shape() const override;
  torch::Tensor encode_reference(const torch::Tensor& images) override;
  bool references_are_targets() const override { return false; }
  torch::Tensor encode_query_from_features(const torch::Tensor& reference_features, const torch::Tensor& tokens,
                                           int64_t first_row = 0) override;
  torch::Tensor encode_reference_row(const torch::Tensor& reference_features, const torch::Tensor& tokens) override;
  std::vector<int64_t> reference_row_shape() const override;
  std::vector<torch::Tensor> reference_row_tensors() const override;
  torch::Tensor encode_query_from_reference_row(const torch::Tensor& reference_rows, const torch::Tensor& tokens,
                                                int64_t first_row = 0) override;
  // The same from the fusion pass's output (SPRC's fused query slots [B, Q, H]).
  torch::Tensor encode_query_from_fused(const torch::Tensor& fused, const torch::Tensor& tokens);
  // The fusion pass: the query slots after cross-attending to `reference_features`.
  torch::Tensor fuse(const torch::Tensor& reference_features, const torch::Tensor& tokens);
  // SPRC's prompt branch, the unit [B, E] query from the text alone.
  torch::Tensor encode_prompt_query(const torch::Tensor& tokens);

  torch::Tensor logit_scale() const override;
  void set_temperature(double temperature) override;
  c10::Device device() const override;

  // The target side is what target_features reads: the ViT, the query tokens, the
  // Q-Former and vision_projection. The query side is what requires gradients: after
  // freeze_target_side the copy's self-attention, text FFN, embeddings and projection,
  // and temp.
  std::vector<torch::Tensor> target_side_tensors() const override;
  std::vector<torch::Tensor> query_side_parameters() const override;
  void freeze_target_side() override;
  // A checkpoint that holds the stage-2 copy (blip2.text_projection_query) adds it first,
  // so a stage-2 result loads whole whatever the model went through before.
  void load(torch::serialize::InputArchive& archive) override;

 private:
  torch::Tensor to_float32(const torch::Tensor& x) const;
  std::vector<torch::Tensor> tensors_under(const std::vector<std::string>& prefixes) const;

  std::shared_ptr<Blip2Sprc> blip2_;
};

// load_blip2_sprc(model.blip2_dir) checked against the experiment: the directory is set
// and holds the files, the model's image size is data.image_size, data.max_words fits
// the Q-Former's positions beside the query tokens, and the tokenizer's `vocab_size` fits
// its word embeddings. Each failure is a UserError naming the key.
std::shared_ptr<SprcModel> make_sprc_model(const ExperimentConfig& config, int64_t vocab_size);

// The BERT WordPiece tokenizer of model.blip2_dir/vocab.txt, with BLIP's caption
// cleaning (models/bert_tokenizer.h) and model.truncation.
std::unique_ptr<Tokenizer> make_sprc_tokenizer(const ExperimentConfig& config);

}  // namespace spn
