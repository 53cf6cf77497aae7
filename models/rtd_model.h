#pragma once
// RTD as a CIR model family (model.family = "rtd"; Byun et al., "Reducing Task
// Discrepancy of Text Encoders for Zero-Shot Composed Image Retrieval", reference code
// jaeseokbyun/RTD): SEARLE's zero-shot model whose text tower is a trainable copy of
// CLIP's, fine-tuned on text triplets (reference caption, condition, target caption)
// while CLIP's image tower, the original text tower and φ (model.mapper_weights) stay
// frozen. Evaluation is the zero-shot family's with the trained copy: "a photo of $
// that {caption}" with φ(image feature) in place of every `$`.
//
// Training features of a batch of B triplets (train_text_encoder.py), 2B rows each:
//   queries  the copy's features of "a photo of $ that {condition}" and of "a photo of
//            $", both with the pseudo word φ(r + noise_scale * u * n), where r is the
//            ORIGINAL tower's (un-normalised) feature of the reference caption, u ~
//            U(0, 1) one per row, n ~ N(0, I) (the "refined concatenation");
//   targets  the original tower's features of the target captions, then of the
//            reference captions: each "a photo of $" row is paired with its own
//            reference caption, which the other rows meet as a hard negative (the
//            "refined batch sampling").
// The noise is drawn per global row from the step seed, so any world size draws the
// same. φ stays in eval mode (no dropout) as there.
#include <memory>

#include "models/zero_shot_model.h"

namespace spn {

// The second prompt of each triplet: the pseudo word alone.
const char* rtd_reference_prompt();

struct RtdFeatures {
  torch::Tensor queries;  // [2B, projection_dim], normalised, float32 (float64 stays)
  torch::Tensor targets;  // [2B, projection_dim], normalised, no gradient
};

class RtdModel : public ZeroShotModel {
 public:
  // `text` is the copy that trains, `frozen_text` CLIP's own text tower, `phi` φ.
  RtdModel(std::shared_ptr<ClipImageTower> image, std::shared_ptr<ClipTextTower> text,
           std::shared_ptr<ClipTextTower> frozen_text, int64_t projection_dim, std::shared_ptr<torch::nn::Module> phi,
           double log_logit_scale, double noise_scale, double temperature);

  ClipTextTower& frozen_text_tower() { return *frozen_text_; }
  double temperature() const { return temperature_; }
  // 1 / [rtd].temperature, the scale RTD's loss trains at (what metrics.jsonl records as
  // the temperature); evaluation's rankings do not depend on it.
  torch::Tensor logit_scale() const override;

  // `tokens` [B, 4, L]: per triplet the rows of "a photo of $ that {condition}", "a photo
  // of $", the reference caption and the target caption. `first_row` is the global index
  // of the first triplet (the noise's draws). `noise` [B, projection_dim], when given,
  // replaces the drawn noise (the golden tests give the reference's).
  RtdFeatures rtd_features(const torch::Tensor& tokens, int64_t first_row, const torch::Tensor& noise = {});
  // The noise of rows first_row .. first_row + rows - 1: noise_scale * u * n, [rows, dim]
  // in `like`'s dtype and device, from the step seed.
  torch::Tensor reference_noise(int64_t rows, int64_t dim, int64_t first_row, const torch::Tensor& like) const;

  void set_step_seed(uint64_t seed) override;
  // Only the copy trains, with weight decay on every parameter (RTD's AdamW).
  std::vector<torch::Tensor> query_side_parameters() const override { return copy_->parameters(); }
  std::vector<torch::Tensor> parameters_without_weight_decay() const override { return {}; }
  // φ keeps eval mode: RTD never trains it and runs it without dropout.
  void train(bool on = true) override;

 private:
  std::shared_ptr<ClipTextTower> copy_;  // also the base's text tower
  std::shared_ptr<ClipTextTower> frozen_text_;
  double noise_scale_;
  double temperature_;
  uint64_t noise_seed_ = 0;
};

// The model from model.clip_dir (checked as for the zero-shot families), φ from
// model.mapper_weights (required: a UserError naming the key when empty, missing or
// misshapen) and [rtd]'s noise scale and temperature.
std::shared_ptr<RtdModel> make_rtd_model(const ExperimentConfig& config, int64_t vocab_size);

}  // namespace spn
