#pragma once
// The tokenizer of the zero-shot families: CLIP's BPE over each caption wrapped in the
// method's test prompt (models/zero_shot_query.h), so evaluation's token rows already
// hold the placeholder the query replaces. Truncation keeps the prompt's start, so the
// placeholder survives a long caption.
#include <memory>

#include "models/clip_tokenizer.h"
#include "models/zero_shot_query.h"

namespace spn {

class ComposedPromptTokenizer : public Tokenizer {
 public:
  // A UserError when `clip` does not give the method's placeholder its id of CLIP's
  // vocabulary (the text tower replaces that id).
  ComposedPromptTokenizer(ClipTokenizer clip, ZeroShotMethod method);

  int64_t size() const override { return clip_.size(); }
  at::Tensor encode_batch(const std::vector<std::string>& texts, int64_t length) const override;
  int64_t count_tokens(const std::string& text) const override;

  // CLIP's tokenizer itself, for prompts that are not captions (Pic2Word's training
  // prompt).
  const ClipTokenizer& clip() const { return clip_; }

 private:
  std::vector<std::string> prompts(const std::vector<std::string>& texts) const;

  ClipTokenizer clip_;
  ZeroShotMethod method_;
};

}  // namespace spn
