#include "models/pseudo_words.h"

#include "core/error.h"
#include "models/clip_text.h"

namespace spn {

namespace {

void require_each_row_has(const torch::Tensor& found, int64_t id) {
  const torch::Tensor missing = found.logical_not().nonzero();
  if (missing.size(0) > 0)
    throw UserError("token row " + std::to_string(missing[0][0].item<int64_t>()) + " has no placeholder token " +
                    std::to_string(id) +
                    "; CLIP's tokenizer keeps \"$\" or \"*\" a token of its own only with a space on each side");
}

void require_words_fit(const torch::Tensor& embeddings, const torch::Tensor& words) {
  if (words.dim() != 2 || words.size(0) != embeddings.size(0) || words.size(1) != embeddings.size(2))
    throw UserError("pseudo words of shape " + c10::str(words.sizes()) + " do not fit token embeddings of shape " +
                    c10::str(embeddings.sizes()) + " (expected [B, hidden])");
}

}  // namespace

torch::Tensor first_positions(const torch::Tensor& tokens, int64_t id) {
  const torch::Tensor hits = tokens.eq(id);
  require_each_row_has(hits.any(1), id);
  return hits.to(torch::kInt).argmax(1);
}

torch::Tensor every_position(const torch::Tensor& tokens, int64_t id) {
  const torch::Tensor hits = tokens.eq(id);
  require_each_row_has(hits.any(1), id);
  return hits;
}

torch::Tensor replace_first(const torch::Tensor& embeddings, const torch::Tensor& tokens, const torch::Tensor& words,
                            int64_t id) {
  require_words_fit(embeddings, words);
  const torch::Tensor first = first_positions(tokens, id).to(tokens.device());
  const torch::Tensor at = torch::arange(tokens.size(1), first.options()).unsqueeze(0).eq(first.unsqueeze(1));
  return torch::where(at.unsqueeze(2), words.unsqueeze(1).to(embeddings.dtype()), embeddings);
}

torch::Tensor replace_every(const torch::Tensor& embeddings, const torch::Tensor& tokens, const torch::Tensor& words,
                            int64_t id) {
  require_words_fit(embeddings, words);
  return torch::where(every_position(tokens, id).unsqueeze(2), words.unsqueeze(1).to(embeddings.dtype()), embeddings);
}

TextWithPseudoWords insert_before_end(const torch::Tensor& embeddings, const torch::Tensor& tokens,
                                      const torch::Tensor& words, const torch::Tensor& end, int64_t inserted_id) {
  require_words_fit(embeddings, words);
  const int64_t length = tokens.size(1);
  const torch::Tensor full = end.ge(length - 1).nonzero();
  if (full.size(0) > 0)
    throw UserError("token row " + std::to_string(full[0][0].item<int64_t>()) + " ends at its last position " +
                    std::to_string(length - 1) + ", leaving no room to insert the pseudo word before the end token");
  // Position j takes what was at j (before the insertion) or j - 1 (after it).
  const torch::Tensor positions = torch::arange(length, tokens.options().dtype(torch::kLong)).unsqueeze(0);
  const torch::Tensor insertion = end.to(positions.options()).unsqueeze(1);
  const torch::Tensor source = positions - positions.gt(insertion).to(torch::kLong);
  const torch::Tensor at = positions.eq(insertion);
  const torch::Tensor shifted = embeddings.gather(1, source.unsqueeze(2).expand_as(embeddings));
  return {torch::where(at.unsqueeze(2), words.unsqueeze(1).to(embeddings.dtype()), shifted),
          torch::where(at, torch::full_like(tokens, inserted_id), tokens.gather(1, source))};
}

torch::Tensor encode_with_pseudo_words(ClipTextTower& text, const torch::Tensor& tokens, const torch::Tensor& words,
                                       PseudoWordInjection how, int64_t placeholder) {
  const torch::Tensor embeddings = text.embed(tokens);
  switch (how) {
    case PseudoWordInjection::kInsertBeforeEnd: {
      const TextWithPseudoWords inserted =
          insert_before_end(embeddings, tokens, words, text.end_positions(tokens), placeholder);
      return text.encode(inserted.embeddings, inserted.tokens);
    }
    case PseudoWordInjection::kReplaceFirst:
      return text.encode(replace_first(embeddings, tokens, words, placeholder), tokens);
    case PseudoWordInjection::kReplaceEvery:
      return text.encode(replace_every(embeddings, tokens, words, placeholder), tokens);
  }
  throw std::logic_error("unknown pseudo-word injection");
}

}  // namespace spn
