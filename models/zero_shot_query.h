#pragma once
// Composed queries of the zero-shot methods at test time: the reference image's CLIP
// feature (un-normalised, as both references feed it) goes through the method's
// mapping network to a pseudo word, which the method's prompt carries into the text
// tower. Prompts (CIRR/CIRCO; FashionIQ joins its two captions into `caption`):
//   Pic2Word  "a photo of * , {caption}"   the first `*` replaced
//   SEARLE    "a photo of $ that {caption}" the first `$` replaced
//   RTD       "a photo of $ that {caption}" every `$` replaced
#include <functional>
#include <string>
#include <vector>

#include "models/pseudo_words.h"

namespace spn {

class ClipTokenizer;

enum class ZeroShotMethod { kPic2Word, kSearle, kRtd };

std::string composed_prompt(ZeroShotMethod method, const std::string& caption);

// Pic2Word's training prompt, "a photo of", whose end token the image's pseudo word is
// inserted before (models/pseudo_words.h).
const char* pic2word_training_prompt();

// [B, image_dim] image features and [B, L] token rows of composed_prompt() -> [B,
// projection_dim] query features. `mapper` is the method's IM2TEXT or φ.
using PseudoWordMapper = std::function<torch::Tensor(const torch::Tensor&)>;
torch::Tensor encode_composed(ZeroShotMethod method, ClipTextTower& text, const PseudoWordMapper& mapper,
                              const torch::Tensor& image_features, const torch::Tensor& prompt_tokens);

// The same from the captions, tokenized in `context` tokens (truncated at the end).
torch::Tensor encode_composed(ZeroShotMethod method, ClipTextTower& text, const PseudoWordMapper& mapper,
                              const torch::Tensor& image_features, const ClipTokenizer& tokenizer,
                              const std::vector<std::string>& captions, int64_t context);

}  // namespace spn
