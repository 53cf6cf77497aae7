#pragma once
// SEARLE's optimization-based textual inversion (OTI; miccunifi/SEARLE,
// src/oti_inversion.py). For each image of a batch, one pseudo-word token embedding is
// optimised, with CLIP frozen, so that:
//   - the text features of a template sentence holding it ("A photo of a $", one of
//     PALAVRA's 24 templates, drawn per image and step) point where the image's features
//     point: cos loss = mean(1 - cos) (CosineEmbeddingLoss, target 1);
//   - a phrase written about one of the image's concepts ("a photo of a dog that ...",
//     GPT-generated in the paper), with the concept replaced by the pseudo word, keeps
//     the phrase's own features: gpt loss, the same form.
// Loss (λcos·cos + λgpt·gpt) / (λcos + λgpt); AdamW on the tokens alone; an exponential
// moving average of the tokens is kept (what SEARLE's φ is distilled from). Tokens start
// from N(0, 0.02²).
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace spn {

class ClipTextTower;
class ClipTokenizer;

struct OtiOptions {
  int64_t steps = 350;
  double lr = 2e-2;
  double weight_decay = 0.01;
  double ema_decay = 0.99;
  double cosine_weight = 1.0;
  double gpt_weight = 0.5;
  double init_std = 0.02;
};

// One batch's prompts as CLIP token rows [*, L], each row holding the placeholder `$`
// (kDollarToken) where the pseudo word goes (SEARLE replaces the first): the templates
// [K, L]; and per image its phrases with the concept replaced [P_i, L] beside the same
// phrases as written [P_i, L]. No phrases at all (empty lists): the cos loss alone.
struct OtiPrompts {
  torch::Tensor templates;
  std::vector<torch::Tensor> phrases_with_word;
  std::vector<torch::Tensor> phrases;
};

struct OtiResult {
  torch::Tensor tokens;      // [B, hidden] after the last step
  torch::Tensor ema_tokens;  // [B, hidden]
  double first_loss = 0;     // of the first and the last step (0 steps: both 0)
  double last_loss = 0;
};

// What OTI draws: the initial tokens [B, hidden] and, for each step, each image's
// template and phrase (indices into its rows; no phrases: empty).
struct OtiDraws {
  torch::Tensor initial_tokens;
  std::vector<std::vector<int64_t>> templates;
  std::vector<std::vector<int64_t>> phrases;
};

// The draws of `options.steps` steps for a batch of `batch` images, from `seed`.
OtiDraws draw_oti(const OtiPrompts& prompts, int64_t batch, int64_t hidden, const OtiOptions& options, uint64_t seed);

// `image_features` [B, projection_dim]: the frozen image tower's output for the batch.
// The draws (initial tokens, each step's template and phrase per image) come from
// `seed`. The text tower's parameters are left as they were, gradients included.
OtiResult invert_images(ClipTextTower& text, const torch::Tensor& image_features, const OtiPrompts& prompts,
                        const OtiOptions& options, uint64_t seed);
// The same with the draws given (the golden tests give the reference's).
OtiResult invert_images(ClipTextTower& text, const torch::Tensor& image_features, const OtiPrompts& prompts,
                        const OtiOptions& options, const OtiDraws& draws);

// PALAVRA's templates ("{}" where the word goes), as SEARLE draws them.
const std::vector<std::string>& oti_templates();

// OtiPrompts from text, in rows of `context` tokens: the templates with " $ " in the
// braces; per image, each phrase phrases[i][k] with the first occurrence of its concept
// concepts[i][k] replaced by " $ ". A phrase without its concept is left out, as SEARLE
// filters such concepts; an image left without a phrase is a UserError naming it.
OtiPrompts make_oti_prompts(const ClipTokenizer& tokenizer, int64_t context,
                            const std::vector<std::vector<std::string>>& phrases,
                            const std::vector<std::vector<std::string>>& concepts);

}  // namespace spn
