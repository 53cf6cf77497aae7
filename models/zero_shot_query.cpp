#include "models/zero_shot_query.h"

#include "models/clip_tokenizer.h"

namespace spn {

std::string composed_prompt(ZeroShotMethod method, const std::string& caption) {
  // The spaces keep the placeholder a token of its own (models/pseudo_words.h).
  return method == ZeroShotMethod::kPic2Word ? "a photo of * , " + caption : "a photo of $ that " + caption;
}

const char* pic2word_training_prompt() { return "a photo of"; }

torch::Tensor encode_composed(ZeroShotMethod method, ClipTextTower& text, const PseudoWordMapper& mapper,
                              const torch::Tensor& image_features, const torch::Tensor& prompt_tokens) {
  const torch::Tensor words = mapper(image_features);
  switch (method) {
    case ZeroShotMethod::kPic2Word:
      return encode_with_pseudo_words(text, prompt_tokens, words, PseudoWordInjection::kReplaceFirst, kStarToken);
    case ZeroShotMethod::kSearle:
      return encode_with_pseudo_words(text, prompt_tokens, words, PseudoWordInjection::kReplaceFirst, kDollarToken);
    case ZeroShotMethod::kRtd:
      return encode_with_pseudo_words(text, prompt_tokens, words, PseudoWordInjection::kReplaceEvery, kDollarToken);
  }
  throw std::logic_error("unknown zero-shot method");
}

torch::Tensor encode_composed(ZeroShotMethod method, ClipTextTower& text, const PseudoWordMapper& mapper,
                              const torch::Tensor& image_features, const ClipTokenizer& tokenizer,
                              const std::vector<std::string>& captions, int64_t context) {
  std::vector<std::string> prompts;
  prompts.reserve(captions.size());
  for (const auto& caption : captions) prompts.push_back(composed_prompt(method, caption));
  const torch::Tensor tokens = tokenizer.tokenize(prompts, context, TruncationPolicy::kTruncate);
  return encode_composed(method, text, mapper, image_features, tokens.to(image_features.device()));
}

}  // namespace spn
