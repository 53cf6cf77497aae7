#pragma once
// Small models and synthetic triplets shared by the training tests.
#include <torch/torch.h>

#include "launcher/config.h"
#include "models/cir_model.h"
#include "train/stage1_step.h"

namespace spn::testing {

inline constexpr int64_t kTestVocab = 20;
inline constexpr int64_t kTestWords = 6;

// A tiny model config (32x32 images) that runs in milliseconds.
inline ExperimentConfig tiny_config(const std::string& text_encoder = "gru", const std::string& head = "combiner") {
  return load_config_text("", "<test>",
                          {"data.image_size=32", "data.max_words=" + std::to_string(kTestWords), "model.image_width=4",
                           "model.text_width=8", "model.embed_dim=8", "model.combiner_width=16",
                           "model.text_encoder=" + text_encoder, "model.head=" + head});
}

// `n` synthetic triplets, the same on every rank (seeded), with padded token rows.
inline TripletBatch synthetic_triplets(int64_t n, uint64_t seed, torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(seed);
  TripletBatch batch;
  batch.reference_images = (torch::rand({n, 3, 32, 32}) * 2 - 1).to(dtype);
  batch.target_images = (torch::rand({n, 3, 32, 32}) * 2 - 1).to(dtype);
  batch.tokens = torch::randint(1, kTestVocab, {n, kTestWords}, torch::kLong);
  for (int64_t i = 0; i < n; ++i)  // texts of different lengths, padded at the end
    batch.tokens[i].narrow(0, 1 + i % (kTestWords - 1), kTestWords - 1 - i % (kTestWords - 1)).zero_();
  return batch;
}

inline TripletBatch rows(const TripletBatch& batch, int64_t begin, int64_t end) {
  return {batch.reference_images.narrow(0, begin, end - begin), batch.tokens.narrow(0, begin, end - begin),
          batch.target_images.narrow(0, begin, end - begin)};
}

}  // namespace spn::testing
