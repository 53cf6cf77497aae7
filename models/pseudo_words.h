#pragma once
// Pseudo-word injection into CLIP's text tower for zero-shot composed image retrieval:
// a mapping network turns an image feature into one token embedding (a "pseudo word")
// that stands in a prompt such as "a photo of $ that {caption}". The reference
// implementations differ in where it goes:
//   Pic2Word training (google-research/composed_image_retrieval, encode_text_img):
//     inserted before the end token at the embedding layer, the last position
//     dropped, the features read at the end token's new position (one later);
//   Pic2Word test (encode_text_img_retrieval): replaces the first `*` (token 265);
//   SEARLE (encode_with_pseudo_tokens): replaces the first `$` (token 259);
//   RTD (encode_with_pseudo_tokens_HF): replaces every `$`.
// CLIP's pre-tokenizer merges runs of punctuation ("$," is one piece), so a
// placeholder is its own token only with a space (or a letter or digit) on each side.
#include <torch/types.h>

namespace spn {

class ClipTextTower;

// The placeholders' ids in CLIP's BPE vocabulary: "$</w>" and "*</w>".
inline constexpr int64_t kDollarToken = 259;  // SEARLE, RTD
inline constexpr int64_t kStarToken = 265;    // Pic2Word

enum class PseudoWordInjection {
  kInsertBeforeEnd,  // Pic2Word training
  kReplaceFirst,     // Pic2Word test (`*`), SEARLE (`$`)
  kReplaceEvery,     // RTD (`$`)
};

// [B] the position of each row's first `id` in [B, L] token rows; a row without it is
// a UserError naming the row.
torch::Tensor first_positions(const torch::Tensor& tokens, int64_t id);

// [B, L] true where `tokens` holds `id`; a row without any is a UserError.
torch::Tensor every_position(const torch::Tensor& tokens, int64_t id);

// Token embeddings [B, L, D] with `words` [B, D] written at the chosen positions.
torch::Tensor replace_first(const torch::Tensor& embeddings, const torch::Tensor& tokens, const torch::Tensor& words,
                            int64_t id);
torch::Tensor replace_every(const torch::Tensor& embeddings, const torch::Tensor& tokens, const torch::Tensor& words,
                            int64_t id);

// Pic2Word's training insertion: `words` [B, D] goes in at each row's `end` position
// ([B]), what followed moves one later and the last position is dropped. The token
// rows get `inserted_id` there in the same way, so the end token (where the text tower
// pools) is one position later. A row whose end token is at the last position has no
// room: UserError naming the row.
struct TextWithPseudoWords {
  torch::Tensor embeddings;  // [B, L, D]
  torch::Tensor tokens;      // [B, L]
};
TextWithPseudoWords insert_before_end(const torch::Tensor& embeddings, const torch::Tensor& tokens,
                                      const torch::Tensor& words, const torch::Tensor& end, int64_t inserted_id);

// The text tower's features [B, projection_dim] for token rows [B, L] with `words`
// [B, hidden] injected as `how` says; `placeholder` is the token replaced (or, for
// kInsertBeforeEnd, the id the inserted position is given).
torch::Tensor encode_with_pseudo_words(ClipTextTower& text, const torch::Tensor& tokens, const torch::Tensor& words,
                                       PseudoWordInjection how, int64_t placeholder);

}  // namespace spn
