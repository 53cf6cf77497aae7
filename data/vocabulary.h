#pragma once
// Word-level vocabulary for the small text encoders: lowercase words split on
// anything that is not a letter or digit. Id 0 pads, id 1 is an unknown word; the
// other ids go by decreasing frequency in the texts it was built from, ties broken
// alphabetically, so every rank builds the same vocabulary. (CLIP's BPE tokenizer is a
// separate tokenizer for CLIP text towers.)
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/tokenizer.h"

namespace spn {

class Vocabulary : public Tokenizer {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kUnknown = 1;

  static Vocabulary build(const std::vector<std::string>& texts);
  // One word per line, id = line number (the first two lines are the special tokens).
  static Vocabulary load(const std::filesystem::path& path);
  std::string serialize() const;

  int64_t size() const override { return static_cast<int64_t>(words_.size()); }
  // Token ids of `text`, truncated or padded with kPad to `length`.
  std::vector<int64_t> encode(const std::string& text, int64_t length) const;
  // [texts.size(), length] int64 tensor.
  at::Tensor encode_batch(const std::vector<std::string>& texts, int64_t length) const override;
  // Words of `text` (unknown ones included).
  int64_t count_tokens(const std::string& text) const override;

 private:
  explicit Vocabulary(std::vector<std::string> words);
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> ids_;
};

std::vector<std::string> split_words(const std::string& text);

}  // namespace spn
