#pragma once
// What turns modification texts into token rows for a text encoder: the word
// vocabulary of the small encoders (data/vocabulary.h) or CLIP's BPE
// (models/clip_tokenizer.h). Rows are padded with 0 at the end.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace spn {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Token ids the text encoder's embedding table must hold.
  virtual int64_t size() const = 0;
  // [texts.size(), length] int64 rows; what happens to longer texts is the tokenizer's policy.
  virtual at::Tensor encode_batch(const std::vector<std::string>& texts, int64_t length) const = 0;
  // Tokens `text` takes in a row, special tokens included (for fitting generated texts).
  virtual int64_t count_tokens(const std::string& text) const = 0;
};

}  // namespace spn
