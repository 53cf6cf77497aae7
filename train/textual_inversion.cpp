#include "train/textual_inversion.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <random>
#include <stdexcept>

#include "core/error.h"
#include "core/hash.h"
#include "core/random.h"
#include "models/clip_text.h"
#include "models/clip_tokenizer.h"
#include "models/pseudo_words.h"

namespace spn {
namespace {

// CosineEmbeddingLoss with target 1: the mean of 1 - cos over the rows.
torch::Tensor one_minus_cosine(const torch::Tensor& a, const torch::Tensor& b) {
  return (1 - torch::cosine_similarity(a, b, 1)).mean();
}

// For each image i, an index below counts[i] drawn from `rng`.
std::vector<int64_t> draw(const std::vector<int64_t>& counts, std::mt19937_64& rng) {
  std::vector<int64_t> picks;
  for (int64_t count : counts) picks.push_back(static_cast<int64_t>(uniform_below(rng, count)));
  return picks;
}

// Row picks[i] of each image's rows[i].
torch::Tensor picked_rows(const std::vector<torch::Tensor>& rows, const std::vector<int64_t>& picks) {
  std::vector<torch::Tensor> picked;
  for (size_t i = 0; i < rows.size(); ++i) picked.push_back(rows[i][picks[i]]);
  return torch::stack(picked);
}

// Freezes a module's parameters for its lifetime and restores their flags after.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& module) : parameters_(module.parameters()) {
    for (auto& p : parameters_) {
      trainable_.push_back(p.requires_grad());
      p.set_requires_grad(false);
    }
  }
  ~FrozenParameters() {
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].set_requires_grad(trainable_[i]);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> parameters_;
  std::vector<bool> trainable_;
};

}  // namespace

OtiDraws draw_oti(const OtiPrompts& prompts, int64_t batch, int64_t hidden, const OtiOptions& options, uint64_t seed) {
  OtiDraws draws;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  draws.initial_tokens = torch::randn({batch, hidden}, generator) * options.init_std;
  std::mt19937_64 rng(mix_seed(seed, 1));
  const std::vector<int64_t> template_counts(static_cast<size_t>(batch), prompts.templates.size(0));
  std::vector<int64_t> phrase_counts;
  for (const auto& rows : prompts.phrases) phrase_counts.push_back(rows.size(0));
  // Step by step, the templates then the phrases: the order the draws were first made in.
  for (int64_t step = 0; step < options.steps; ++step) {
    draws.templates.push_back(draw(template_counts, rng));
    if (!prompts.phrases.empty()) draws.phrases.push_back(draw(phrase_counts, rng));
  }
  return draws;
}

OtiResult invert_images(ClipTextTower& text, const torch::Tensor& image_features, const OtiPrompts& prompts,
                        const OtiOptions& options, uint64_t seed) {
  const torch::Tensor one_template = prompts.templates.narrow(0, 0, 1).to(image_features.device());
  const int64_t hidden = text.embed(one_template).size(2);
  return invert_images(text, image_features, prompts, options,
                       draw_oti(prompts, image_features.size(0), hidden, options, seed));
}

OtiResult invert_images(ClipTextTower& text, const torch::Tensor& image_features, const OtiPrompts& prompts,
                        const OtiOptions& options, const OtiDraws& draws) {
  const int64_t batch = image_features.size(0);
  const bool with_phrases = !prompts.phrases.empty();
  if (with_phrases && (static_cast<int64_t>(prompts.phrases.size()) != batch ||
                       prompts.phrases_with_word.size() != prompts.phrases.size()))
    throw std::invalid_argument("invert_images: one list of phrases (with and without the word) per image");
  if (static_cast<int64_t>(draws.templates.size()) != options.steps ||
      draws.phrases.size() != (with_phrases ? draws.templates.size() : 0) || draws.initial_tokens.size(0) != batch)
    throw std::invalid_argument("invert_images: the draws are not those of this batch and these steps");
  // An optimisation of the words: it needs autograd even when called from evaluation
  // code that runs without it (SEARLE-OTI's test-time inversion).
  const torch::AutoGradMode grad_on(true);
  const FrozenParameters frozen(text);
  const torch::Tensor target = image_features.detach();
  const torch::Device device = image_features.device();

  // The words train in the text tower's own type (float32; float64 in the tests).
  const torch::Dtype dtype = text.parameters().front().scalar_type();
  torch::Tensor tokens = draws.initial_tokens.to(device, dtype).clone().requires_grad_(true);
  torch::Tensor ema = tokens.detach().clone();
  torch::optim::AdamW optimizer({tokens}, torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));

  OtiResult result;
  for (int64_t step = 0; step < options.steps; ++step) {
    optimizer.zero_grad();
    const torch::Tensor template_rows =
        prompts.templates.index_select(0, torch::tensor(draws.templates[static_cast<size_t>(step)])).to(device);
    const torch::Tensor features =
        encode_with_pseudo_words(text, template_rows, tokens, PseudoWordInjection::kReplaceFirst, kDollarToken);
    torch::Tensor loss = options.cosine_weight * one_minus_cosine(features, target);
    double weights = options.cosine_weight;
    if (with_phrases) {
      // One phrase per image, the same one with the word and as written.
      const std::vector<int64_t>& picks = draws.phrases[static_cast<size_t>(step)];
      const torch::Tensor with_word = picked_rows(prompts.phrases_with_word, picks).to(device);
      const torch::Tensor written = picked_rows(prompts.phrases, picks).to(device);
      const torch::Tensor word_features =
          encode_with_pseudo_words(text, with_word, tokens, PseudoWordInjection::kReplaceFirst, kDollarToken);
      torch::Tensor phrase_features;
      {
        torch::NoGradGuard no_grad;
        phrase_features = text.forward(written);
      }
      loss = loss + options.gpt_weight * one_minus_cosine(word_features, phrase_features);
      weights += options.gpt_weight;
    }
    loss = loss / weights;
    loss.backward();
    optimizer.step();
    {
      torch::NoGradGuard no_grad;
      ema.mul_(options.ema_decay).add_(tokens.detach(), 1 - options.ema_decay);
    }
    const double value = loss.item<double>();
    if (step == 0) result.first_loss = value;
    result.last_loss = value;
  }
  result.tokens = tokens.detach();
  result.ema_tokens = ema;
  return result;
}

const std::vector<std::string>& oti_templates() {
  static const std::vector<std::string> templates = {"This is a photo of a {}",
                                                     "This photo contains a {}",
                                                     "A photo of a {}",
                                                     "This is an illustration of a {}",
                                                     "This illustration contains a {}",
                                                     "An illustrations of a {}",
                                                     "This is a sketch of a {}",
                                                     "This sketch contains a {}",
                                                     "A sketch of a {}",
                                                     "This is a diagram of a {}",
                                                     "This diagram contains a {}",
                                                     "A diagram of a {}",
                                                     "A {}",
                                                     "We see a {}",
                                                     "{}",
                                                     "We see a {} in this photo",
                                                     "We see a {} in this image",
                                                     "We see a {} in this illustration",
                                                     "We see a {} photo",
                                                     "We see a {} image",
                                                     "We see a {} illustration",
                                                     "{} photo",
                                                     "{} image",
                                                     "{} illustration"};
  return templates;
}

OtiPrompts make_oti_prompts(const ClipTokenizer& tokenizer, int64_t context,
                            const std::vector<std::vector<std::string>>& phrases,
                            const std::vector<std::vector<std::string>>& concepts) {
  if (phrases.size() != concepts.size()) throw std::invalid_argument("make_oti_prompts: phrases and concepts differ");
  // The spaces keep the placeholder a token of its own (models/pseudo_words.h).
  constexpr const char* kWord = " $ ";
  OtiPrompts prompts;
  std::vector<std::string> templates;
  for (const std::string& pattern : oti_templates()) {
    std::string sentence = pattern;
    sentence.replace(sentence.find("{}"), 2, kWord);
    templates.push_back(sentence);
  }
  prompts.templates = tokenizer.tokenize(templates, context, TruncationPolicy::kTruncate);
  for (size_t i = 0; i < phrases.size(); ++i) {
    if (phrases[i].size() != concepts[i].size())
      throw std::invalid_argument("make_oti_prompts: image " + std::to_string(i) + " has phrases and concepts differ");
    std::vector<std::string> with_word, written;
    for (size_t k = 0; k < phrases[i].size(); ++k) {
      const size_t at = concepts[i][k].empty() ? std::string::npos : phrases[i][k].find(concepts[i][k]);
      if (at == std::string::npos) continue;
      std::string replaced = phrases[i][k];
      replaced.replace(at, concepts[i][k].size(), kWord);
      with_word.push_back(replaced);
      written.push_back(phrases[i][k]);
    }
    if (with_word.empty())
      throw UserError("textual inversion: image " + std::to_string(i) +
                      " has no phrase that contains its concept; every phrase was left out");
    prompts.phrases_with_word.push_back(tokenizer.tokenize(with_word, context, TruncationPolicy::kTruncate));
    prompts.phrases.push_back(tokenizer.tokenize(written, context, TruncationPolicy::kTruncate));
  }
  return prompts;
}

}  // namespace spn
