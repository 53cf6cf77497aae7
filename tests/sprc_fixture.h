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

}  // namespace spn::testing
