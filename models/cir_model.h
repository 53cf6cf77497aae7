#pragma once
// A dual-encoder CIR model: the query side maps (reference image, text) to a unit
// vector, the target side maps an image to a unit vector. Under autocast (mixed
// precision) the encoders compute in 16 bits, but the unit vectors they return are
// float32: the norm and everything after it (losses, banks, scores) stay float32. As in CLIP4CIR one image
// encoder serves both sides. The model also owns the contrastive temperature, as a
// log-scale parameter (learned or fixed).
#include <memory>
#include <vector>

#include "config/experiment_config.h"
#include "models/interfaces.h"

namespace spn {

class CirModel : public torch::nn::Module {
 public:
  CirModel(std::shared_ptr<ImageEncoder> image_encoder, std::shared_ptr<TextEncoder> text_encoder,
           std::shared_ptr<CirHead> head, double temperature, bool learn_temperature);

  torch::Tensor encode_target(const torch::Tensor& images);
  torch::Tensor encode_query(const torch::Tensor& reference_images, const torch::Tensor& tokens);
  // The query from precomputed unit-norm reference features (a stage-2 bank).
  torch::Tensor encode_query_from_features(const torch::Tensor& reference_features, const torch::Tensor& tokens,
                                           int64_t first_row = 0);
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
  void set_step_seed(uint64_t seed);
  // exp(log_scale) = 1 / temperature, capped at 100 as CLIP does.
  torch::Tensor logit_scale() const;
  // Sets the temperature (it stays learned or fixed as constructed).
  void set_temperature(double temperature);

  // The device the model's weights are on, and its kind (autocast is set per kind).
  c10::Device device() const;
  c10::DeviceType device_type() const;

  // Every tensor that defines the model: parameters then buffers (for sync and
  // fingerprints).
  std::vector<torch::Tensor> state_tensors() const;

  // The target side (the image encoder) and what stage 2 trains: the text encoder, the
  // head and a learned temperature. Freezing stops gradients into the target side.
  std::vector<torch::Tensor> target_side_tensors() const;
  std::vector<torch::Tensor> query_side_parameters() const;
  void freeze_target_side();

 private:
  std::shared_ptr<ImageEncoder> image_encoder_;
  std::shared_ptr<TextEncoder> text_encoder_;
  std::shared_ptr<CirHead> head_;
  torch::Tensor log_logit_scale_;
  uint64_t step_seed_ = 0;
};

// Builds the model named in [model] through the registry. Unknown names are a
// UserError naming the config key and where it was set.
std::shared_ptr<CirModel> make_cir_model(const ExperimentConfig& config, int64_t vocab_size);

}  // namespace spn
