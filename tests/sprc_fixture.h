#pragma once
// SPRC on the tiny random BLIP-2 of tests/golden/blip2 (21 px images, 4 query tokens,
// 20 Q-Former positions), with the golden WordPiece vocabulary linked beside it, as the
// SPRC tests build it.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config_file.h"
#include "models/sprc_model.h"
#include "test_files.h"
#include "train/stage1_step.h"

namespace spn::testing {

inline constexpr int64_t kSprcImageSize = 21;  // the fixture's vision_config.image_size

inline std::filesystem::path blip2_fixture_dir() { return golden_dir() / "blip2"; }

// model.family = "sprc" on the fixture, rows of `max_words` tokens, then `overrides`.
inline ExperimentConfig sprc_config(int64_t max_words, const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> all = {"model.family=sprc", "model.blip2_dir=" + blip2_fixture_dir().string(),
                                  "data.image_size=" + std::to_string(kSprcImageSize),
                                  "data.max_words=" + std::to_string(max_words)};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config_text("", "<test>", all);
}

// Whether a parameter changes no output: the attention key biases (a key bias adds the
// same q . b to every logit of a softmax row). Their gradients are float noise, which
// AdamW turns into steps of about the learning rate, so runs on different numbers of
// ranks (another reduction order) move them differently; PyTorch does the same.
inline bool changes_no_output(const std::string& parameter) {
  const std::string suffix = "attention.key.bias";
  return parameter.size() >= suffix.size() &&
         parameter.compare(parameter.size() - suffix.size(), suffix.size(), suffix) == 0;
}

inline std::shared_ptr<SprcModel> sprc_model(const ExperimentConfig& config, torch::Dtype dtype = torch::kFloat) {
  auto model = make_sprc_model(config, make_sprc_tokenizer(config)->size());
  model->to(dtype);
  return model;
}

// `n` triplets, the same on every rank: random images, and captions of different
// lengths through SPRC's tokenizer in rows of `max_words` (so rows are padded
// differently).
inline TripletBatch sprc_triplets(int64_t n, uint64_t seed, torch::Dtype dtype, int64_t max_words) {
  static const std::vector<std::string> captions = {"make it red",
                                                    "the dog is now on the left of a small cat",
                                                    "Two people!",
                                                    "remove the (blue) car; add trees",
                                                    "same shape but larger and brighter in colour",
                                                    "a",
                                                    "change the background to the sea",
                                                    "more zebras, fewer horses"};
  const auto tokenizer = make_sprc_tokenizer(sprc_config(max_words));
  std::vector<std::string> texts;
  for (int64_t i = 0; i < n; ++i) texts.push_back(captions[(i * 3 + seed) % captions.size()]);
  torch::manual_seed(seed);
  TripletBatch batch;
  batch.reference_images = (torch::rand({n, 3, kSprcImageSize, kSprcImageSize}) * 2 - 1).to(dtype);
  batch.target_images = (torch::rand({n, 3, kSprcImageSize, kSprcImageSize}) * 2 - 1).to(dtype);
  batch.tokens = tokenizer->encode_batch(texts, max_words);
  return batch;
}

}  // namespace spn::testing
