#include "models/zero_shot_tokenizer.h"

#include "core/error.h"
#include "models/pseudo_words.h"

namespace spn {

ComposedPromptTokenizer::ComposedPromptTokenizer(ClipTokenizer clip, ZeroShotMethod method)
    : clip_(std::move(clip)), method_(method) {
  const auto [text, id] = method == ZeroShotMethod::kPic2Word ? std::pair<const char*, int64_t>{"*", kStarToken}
                                                              : std::pair<const char*, int64_t>{"$", kDollarToken};
  if (clip_.encode(text) != std::vector<int64_t>{id})
    throw UserError(std::string("the CLIP tokenizer does not tokenize \"") + text + "\" as id " + std::to_string(id) +
                    ", the placeholder the zero-shot prompt needs (CLIP's own vocabulary does)");
}

std::vector<std::string> ComposedPromptTokenizer::prompts(const std::vector<std::string>& texts) const {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const std::string& text : texts) out.push_back(composed_prompt(method_, text));
  return out;
}

at::Tensor ComposedPromptTokenizer::encode_batch(const std::vector<std::string>& texts, int64_t length) const {
  return clip_.encode_batch(prompts(texts), length);
}

int64_t ComposedPromptTokenizer::count_tokens(const std::string& text) const {
  return clip_.count_tokens(composed_prompt(method_, text));
}

}  // namespace spn
