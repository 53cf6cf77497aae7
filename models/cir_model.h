#pragma once
// What the trainers see of a CIR model, whatever its family (models/registry.h):
//   dual_encoder  one image encoder for both sides, a text encoder and a head
//                 (models/dual_encoder_model.h): unit [B, D] targets and queries;
//   sprc          SPRC on BLIP-2 (models/sprc_model.h): targets are token sets
//                 [B, T, D], the query fuses the reference image's tokens with the text.
// Targets and queries are float32 even under autocast, so losses, banks and scores stay
// float32; a token-set target is scored by its best token (models/token_similarity.h).
//
// A reference image enters the query through encode_reference: for the dual encoder
// that is the target embedding itself (so a gallery's rows or a stage-2 bank serve as
// references), for SPRC the image tokens the fusion pass cross-attends to.
//
// Stage 2 splits a query at what the frozen side computes of it, its reference row
// (encode_reference_row), and the trainable rest (encode_query_from_reference_row).
// The dual encoder's reference row is the reference image's target embedding, a row of
// the target bank. SPRC's is the frozen fusion pass over the reference image and the
// text, [Q, H], which depends on the text: a second bank holds it per training text.
#include <memory>
#include <vector>

#include "config/experiment_config.h"
#include "models/interfaces.h"

namespace spn {

class CirModel : public torch::nn::Module {
 public:
  // [B, 3, S, S] images in [-1, 1] -> unit [B, D] or token sets [B, T, D].
  virtual torch::Tensor encode_target(const torch::Tensor& images) = 0;
  // The shape of one encode_target row ({D} or {T, D}), for empty shards.
  virtual std::vector<int64_t> target_row_shape() const = 0;
  // [B, 3, S, S] -> what encode_query_from_features takes for a reference image.
  virtual torch::Tensor encode_reference(const torch::Tensor& images) = 0;
  // Whether encode_reference is encode_target, so that target rows already computed
  // (an evaluation gallery, a stage-2 bank) can stand for the references.
  virtual bool references_are_targets() const = 0;
  // The unit [B, D] query from reference features and token rows. `first_row` is the
  // global index of the first row, which a head's random draws follow.
  virtual torch::Tensor encode_query_from_features(const torch::Tensor& reference_features, const torch::Tensor& tokens,
                                                   int64_t first_row = 0) = 0;
  torch::Tensor encode_query(const torch::Tensor& reference_images, const torch::Tensor& tokens) {
    return encode_query_from_features(encode_reference(reference_images), tokens);
  }

  // Stage 2's frozen part of the queries from encode_reference's features and the token
  // rows (the text is ignored where references_are_targets), its row shape, and the
  // tensors it depends on (the reference bank's fingerprint).
  virtual torch::Tensor encode_reference_row(const torch::Tensor& reference_features, const torch::Tensor& tokens) {
    (void)tokens;
    return reference_features;
  }
  virtual std::vector<int64_t> reference_row_shape() const { return target_row_shape(); }
  virtual std::vector<torch::Tensor> reference_row_tensors() const { return target_side_tensors(); }
  // The unit [B, D] query from reference rows: encode_query_from_features is
  // encode_query_from_reference_row(encode_reference_row(features, tokens), tokens).
  virtual torch::Tensor encode_query_from_reference_row(const torch::Tensor& reference_rows,
                                                        const torch::Tensor& tokens, int64_t first_row = 0) {
    return encode_query_from_features(reference_rows, tokens, first_row);
  }

  // Seeds the training draws (dropout masks) of the step; models without any ignore it.
  virtual void set_step_seed(uint64_t seed) { (void)seed; }
  // The multiplier of the contrastive logits, 1 / temperature.
  virtual torch::Tensor logit_scale() const = 0;
  // Sets the temperature (it stays learned or fixed as it was).
  virtual void set_temperature(double temperature) = 0;

  // The device the model's weights are on, and its kind (autocast is set per kind).
  virtual c10::Device device() const = 0;
  c10::DeviceType device_type() const { return device().type(); }

  // Every tensor that defines the model: parameters then buffers (for sync and
  // fingerprints).
  std::vector<torch::Tensor> state_tensors() const;
  // The parameters stage 1 trains: those that require gradients (SPRC's ViT is frozen).
  std::vector<torch::Tensor> trainable_parameters() const;

  // The tensors that define the targets (the bank's fingerprint), and what stage 2
  // trains. Freezing stops gradients into the target side and readies the model for
  // stage 2 (SPRC adds its copy of the Q-Former for the query); call it before
  // query_side_parameters. Calling it again changes nothing.
  virtual std::vector<torch::Tensor> target_side_tensors() const = 0;
  virtual std::vector<torch::Tensor> query_side_parameters() const = 0;
  virtual void freeze_target_side() = 0;
  // Trainable parameters the optimizer leaves out of the weight decay (the zero-shot
  // recipes' biases); none by default.
  virtual std::vector<torch::Tensor> parameters_without_weight_decay() const { return {}; }
};

// Unit rows, in float32 when autocast left `x` in 16 bits: CPU autocast would compute
// the norm in 16 bits, and the losses and scores downstream need float32 inputs.
torch::Tensor unit_float32(const torch::Tensor& x);

// Builds the model family named by model.family through the registry. Unknown names and
// bad model files are a UserError naming the config key and where it was set.
std::shared_ptr<CirModel> make_cir_model(const ExperimentConfig& config, int64_t vocab_size);

}  // namespace spn
