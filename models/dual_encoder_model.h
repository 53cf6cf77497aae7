#pragma once
// The dual-encoder CIR model (model.family = "dual_encoder"): the query side maps
// (reference image, text) to a unit vector, the target side maps an image to a unit
// vector. Under autocast (mixed precision) the encoders compute in 16 bits, but the unit
// vectors they return are float32: the norm and everything after it (losses, banks,
// scores) stay float32. As in CLIP4CIR one image encoder serves both sides. The model
// also owns the contrastive temperature, as a log-scale parameter (learned or fixed).
#include <memory>
#include <vector>

#include "models/cir_model.h"

namespace spn {

class DualEncoderModel : public CirModel {
 public:
  DualEncoderModel(std::shared_ptr<ImageEncoder> image_encoder, std::shared_ptr<TextEncoder> text_encoder,
                   std::shared_ptr<CirHead> head, double temperature, bool learn_temperature, int64_t embed_dim);

  torch::Tensor encode_target(const torch::Tensor& images) override;
  std::vector<int64_t> target_row_shape() const override { return {embed_dim_}; }
  torch::Tensor encode_reference(const torch::Tensor& images) override { return encode_target(images); }
  bool references_are_targets() const override { return true; }
  // The query from precomputed unit-norm reference features (a stage-2 bank).
  torch::Tensor encode_query_from_features(const torch::Tensor& reference_features, const torch::Tensor& tokens,
                                           int64_t first_row = 0) override;
  // The query's two halves, for losses that pair references and texts of different
  // triplets: unit text features, and the head applied to unit features.
  torch::Tensor encode_text(const torch::Tensor& tokens);
  torch::Tensor combine(const torch::Tensor& reference_features, const torch::Tensor& text_features,
                        int64_t first_row = 0, uint64_t call = 0);
  // The head's random draws in training (dropout masks) depend on this seed, which the
  // training loop sets for each step, and on each row's global index: `first_row` above
  // is the global index of the first row passed (in the global batch, or among the
  // pairs a loss forms), and `call` tells apart a step's calls over the same indices. A
  // row then draws the same on any rank, and runs match across world sizes.
  void set_step_seed(uint64_t seed) override;
  // exp(log_scale) = 1 / temperature, capped at 100 as CLIP does.
  torch::Tensor logit_scale() const override;
  void set_temperature(double temperature) override;
  c10::Device device() const override;

  // The target side is the image encoder; stage 2 trains the text encoder, the head and
  // a learned temperature.
  std::vector<torch::Tensor> target_side_tensors() const override;
  std::vector<torch::Tensor> query_side_parameters() const override;
  void freeze_target_side() override;

  ImageEncoder& image_encoder() { return *image_encoder_; }
  TextEncoder& text_encoder() { return *text_encoder_; }

 private:
  std::shared_ptr<ImageEncoder> image_encoder_;
  std::shared_ptr<TextEncoder> text_encoder_;
  std::shared_ptr<CirHead> head_;
  torch::Tensor log_logit_scale_;
  int64_t embed_dim_;
  uint64_t step_seed_ = 0;
};

// The dual encoder of model.image_encoder, model.text_encoder and model.head, from the
// registry.
std::shared_ptr<DualEncoderModel> make_dual_encoder_model(const ExperimentConfig& config, int64_t vocab_size);

}  // namespace spn
