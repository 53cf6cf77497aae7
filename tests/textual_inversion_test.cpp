// SEARLE's optimization-based textual inversion (train/textual_inversion.h) on the tiny
// CLIP of tests/golden/clip_vit (token ids below 1000: start 998, end 999, `$` 259):
// what it optimises, its moving average, its determinism, that CLIP stays frozen, the
// GPT term, and the prompts it builds from text with CLIP's real tokenizer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/clip_model.h"
#include "models/clip_tokenizer.h"
#include "models/pseudo_words.h"
#include "test_files.h"
#include "train/textual_inversion.h"

namespace spn {
namespace {

constexpr int64_t kStart = 998, kEnd = 999, kLength = 8;

// A token row: start, `ids`, end, zero padding.
torch::Tensor row(std::vector<int64_t> ids) {
  std::vector<int64_t> values = {kStart};
  values.insert(values.end(), ids.begin(), ids.end());
  values.push_back(kEnd);
  values.resize(kLength, 0);
  return torch::tensor(values);
}

class TextualInversion : public ::testing::Test {
 protected:
  void SetUp() override {
    text_ = load_clip(testing::golden_dir() / "clip_vit").text;
    text_->eval();
    torch::manual_seed(12);
    images_ = torch::randn({4, 24});  // the tiny model's projection width
    prompts_.templates = torch::stack({row({5, kDollarToken}), row({kDollarToken, 7, 8}), row({11, kDollarToken, 13})});
  }

  std::shared_ptr<ClipTextTower> text_;
  torch::Tensor images_;
  OtiPrompts prompts_;
};

// The optimisation goes the right way: over the steps the loss falls and every image's
// template features turn towards it. (How far a tiny random CLIP lets one word move its
// features bounds how far: here 1.09 to about 0.7.)
TEST_F(TextualInversion, TheWordsTurnTheTemplatesTowardsTheImages) {
  OtiOptions options;
  options.steps = 0;
  const torch::Tensor initial = invert_images(*text_, images_, prompts_, options, 3).tokens;
  options.steps = 150;
  const OtiResult result = invert_images(*text_, images_, prompts_, options, 3);
  EXPECT_LT(result.last_loss, 0.8 * result.first_loss) << result.first_loss << " -> " << result.last_loss;
  torch::NoGradGuard no_grad;
  for (int64_t t = 0; t < 3; ++t) {
    const torch::Tensor rows = prompts_.templates[t].expand({4, kLength});
    const auto cosine = [&](const torch::Tensor& words) {
      return torch::cosine_similarity(
          encode_with_pseudo_words(*text_, rows, words, PseudoWordInjection::kReplaceFirst, kDollarToken), images_, 1);
    };
    EXPECT_TRUE((cosine(result.ema_tokens) > cosine(initial)).all().item<bool>()) << "template " << t;
  }
}

TEST_F(TextualInversion, TheSeedDecidesAndTheAverageFollowsTheTokens) {
  OtiOptions options;
  options.steps = 0;
  const OtiResult start = invert_images(*text_, images_, prompts_, options, 5);
  EXPECT_TRUE(torch::equal(start.tokens, start.ema_tokens));
  EXPECT_NEAR(start.tokens.std().item<double>(), 0.02, 0.005);  // N(0, 0.02^2)
  options.steps = 1;
  const OtiResult one = invert_images(*text_, images_, prompts_, options, 5);
  EXPECT_FALSE(torch::equal(one.tokens, start.tokens));
  EXPECT_TRUE(torch::allclose(one.ema_tokens, 0.99 * start.tokens + 0.01 * one.tokens, 1e-6, 1e-9));
  options.steps = 3;
  const OtiResult again = invert_images(*text_, images_, prompts_, options, 5);
  EXPECT_TRUE(torch::equal(again.tokens, invert_images(*text_, images_, prompts_, options, 5).tokens));
  EXPECT_FALSE(torch::equal(again.tokens, invert_images(*text_, images_, prompts_, options, 6).tokens));
}

TEST_F(TextualInversion, ClipStaysFrozen) {
  const std::vector<torch::Tensor> before = text_->parameters();
  std::vector<torch::Tensor> copies;
  for (const auto& p : before) copies.push_back(p.detach().clone());
  OtiOptions options;
  options.steps = 4;
  invert_images(*text_, images_, prompts_, options, 1);
  const std::vector<torch::Tensor> after = text_->parameters();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(torch::equal(after[i], copies[i])) << "parameter " << i << " moved";
    EXPECT_FALSE(after[i].grad().defined()) << "parameter " << i << " got a gradient";
    EXPECT_TRUE(after[i].requires_grad()) << "parameter " << i << " was left frozen";
  }
}

// With only the GPT term weighted, the first step's loss is 1 - cos between a phrase
// with the initial word and the phrase as written (one phrase per image: no draw).
TEST_F(TextualInversion, TheGptTermComparesEachPhraseWithTheWordAndAsWritten) {
  for (int64_t i = 0; i < 4; ++i) {
    prompts_.phrases_with_word.push_back(row({20 + i, kDollarToken, 30}).unsqueeze(0));
    prompts_.phrases.push_back(row({20 + i, 40 + i, 30}).unsqueeze(0));
  }
  OtiOptions options;
  options.cosine_weight = 0;
  options.gpt_weight = 1;
  options.steps = 0;
  const torch::Tensor initial = invert_images(*text_, images_, prompts_, options, 9).tokens;
  options.steps = 1;
  const OtiResult result = invert_images(*text_, images_, prompts_, options, 9);
  torch::NoGradGuard no_grad;
  const torch::Tensor with_word = encode_with_pseudo_words(*text_, torch::cat(prompts_.phrases_with_word), initial,
                                                           PseudoWordInjection::kReplaceFirst, kDollarToken);
  const torch::Tensor written = text_->forward(torch::cat(prompts_.phrases));
  const double expected = (1 - torch::cosine_similarity(with_word, written, 1)).mean().item<double>();
  EXPECT_NEAR(result.first_loss, expected, 1e-6);
}

TEST(TextualInversionPrompts, ConceptsBecomeThePlaceholderAndPhrasesWithoutThemAreLeftOut) {
  const ClipTokenizer tokenizer = ClipTokenizer::from_directory(testing::golden_dir() / "tokenizer");
  const OtiPrompts prompts = make_oti_prompts(
      tokenizer, 77, {{"a photo of a dog that runs", "a cat on a sofa", "the dog sleeps by the dog bed"}, {"red car"}},
      {{"dog", "dog", "dog"}, {"car"}});
  EXPECT_EQ(prompts.templates.size(0), static_cast<int64_t>(oti_templates().size()));
  EXPECT_TRUE((prompts.templates == kDollarToken).sum(1).eq(1).all().item<bool>()) << "one `$` per template";
  ASSERT_EQ(prompts.phrases.size(), 2u);
  EXPECT_EQ(prompts.phrases[0].size(0), 2) << "the phrase without its concept is left out";
  EXPECT_TRUE(torch::equal(prompts.phrases_with_word[0][1],
                           tokenizer.tokenize({"the $ sleeps by the dog bed"}, 77, TruncationPolicy::kTruncate)[0]))
      << "only the first occurrence is replaced";
  EXPECT_TRUE(torch::equal(prompts.phrases[1][0], tokenizer.tokenize({"red car"}, 77, TruncationPolicy::kTruncate)[0]));
  try {
    make_oti_prompts(tokenizer, 77, {{"a red car"}, {"a blue sky"}}, {{"car"}, {"dog"}});
    FAIL() << "an image without a usable phrase was accepted";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("image 1"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace spn
