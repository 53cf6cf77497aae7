#pragma once
// CLIP's byte-level BPE tokenizer (Radford et al. 2021), as OpenAI's simple_tokenizer
// and open_clip compute it:
//   1. clean: unescape HTML entities, the parts of ftfy.fix_text that apply to
//      captions (control characters removed, Latin ligatures and full-width forms
//      unfolded, curly quotes straightened, NFC), whitespace runs -> one space,
//      lowercase;
//   2. split with CLIP's pattern: 's 't 're 've 'm 'll 'd | letters+ | one digit |
//      runs of other non-space characters;
//   3. map each piece's UTF-8 bytes to printable characters (bytes_to_unicode), add
//      "</w>" to the last, and merge pairs by merge rank;
//   4. rows of context_length ids: <|startoftext|>, the ids, <|endoftext|>, zeros.
// Unicode properties, normalisation and case mapping come from ICU. Not reproduced
// from ftfy: mojibake repair and C1-control decoding (captions are not mis-decoded
// text), and named HTML entities beyond &amp; &lt; &gt; &quot; &apos; &nbsp;
// (numeric ones are all handled). Special-token strings in a text are ordinary text.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/choices.h"
#include "data/tokenizer.h"

namespace spn {

class ClipTokenizer : public Tokenizer {
 public:
  // `vocab` maps token strings (in bytes_to_unicode form, "</w>" marking word ends) to
  // ids; `merges` lists pairs "a b" by rank. Both special tokens must be in vocab.
  ClipTokenizer(std::unordered_map<std::string, int64_t> vocab, const std::vector<std::string>& merges);

  // Reads vocab.json + merges.txt, or else tokenizer.json, from a model directory.
  // Errors name the file and the entry.
  static ClipTokenizer from_directory(const std::filesystem::path& directory);

  // Step 1 alone (UTF-8 in and out).
  static std::string clean(const std::string& text);
  // The BPE ids of `text`, without special tokens or truncation.
  std::vector<int64_t> encode(const std::string& text) const;
  // [texts.size(), context_length] int64 rows (step 4).
  at::Tensor tokenize(const std::vector<std::string>& texts, int64_t context_length, TruncationPolicy policy) const;

  // Tokenizer: rows of `length` (the context) under the truncation policy.
  int64_t size() const override { return static_cast<int64_t>(vocab_.size()); }
  at::Tensor encode_batch(const std::vector<std::string>& texts, int64_t length) const override {
    return tokenize(texts, length, truncation_);
  }
  int64_t count_tokens(const std::string& text) const override { return static_cast<int64_t>(encode(text).size()) + 2; }
  void set_truncation(TruncationPolicy policy) { truncation_ = policy; }

  int64_t start_id() const { return start_id_; }
  int64_t end_id() const { return end_id_; }

 private:
  std::vector<int64_t> encode_piece(const std::string& piece) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<std::string, int64_t> merge_ranks_;  // "a b" -> rank
  int64_t start_id_ = 0;
  int64_t end_id_ = 0;
  TruncationPolicy truncation_ = TruncationPolicy::kTruncate;
};

}  // namespace spn
