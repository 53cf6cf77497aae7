#pragma once
// BERT's WordPiece tokenizer as bert-base-uncased runs it in transformers (BertTokenizer
// with do_lower_case, the tokenizer of BLIP-2's Q-Former and of SPRC), and BLIP's
// caption cleaning in front of it:
//   1. caption cleaning (LAVIS's pre_caption): lower case, each of . ! " ( ) * # : ; ~
//      -> space, runs of two or more whitespace characters -> one space, trailing
//      newlines and then spaces at both ends removed, at most `max_words` words (split
//      at single spaces);
//   2. basic tokenizer: NUL, U+FFFD and control/format/unassigned characters dropped,
//      whitespace -> space, spaces around CJK ideographs, NFC, split at whitespace,
//      lower case, accents stripped (NFD without nonspacing marks), split around every
//      punctuation character (Unicode P* and all non-alphanumeric ASCII);
//   3. WordPiece: greedy longest match first, continuations spelt "##piece", a word with
//      an unmatched rest or longer than 100 characters -> [UNK];
//   4. rows [CLS] pieces [SEP] padded with [PAD] (id 0) to the row length, long texts cut
//      to their first length - 2 pieces.
// [DEC], the decoder's start token LAVIS adds, takes the id after the vocabulary (30522
// for bert-base-uncased; the Q-Former's table has 30523 rows). Special-token strings in
// a text ("[CLS]") are ordinary text here, where transformers would keep them whole.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/choices.h"
#include "data/tokenizer.h"

namespace spn {

// BLIP's caption cleaning, step 1 (UTF-8 in and out).
std::string blip_pre_caption(const std::string& caption, int64_t max_words = 50);

class BertTokenizer : public Tokenizer {
 public:
  // `vocab`: token i of the vocabulary has id i. It must hold [PAD] (as id 0), [UNK],
  // [CLS] and [SEP].
  explicit BertTokenizer(const std::vector<std::string>& vocab);

  // Reads `directory`/vocab.txt (one token a line, as Hugging Face's bert-base-uncased
  // and Salesforce/blip2-* repositories hold it). Errors name the file.
  static BertTokenizer from_directory(const std::filesystem::path& directory);

  // Step 2 alone: the words WordPiece sees.
  static std::vector<std::string> basic_tokenize(const std::string& text);
  // Steps 2 and 3: the ids of `text` (not cleaned), without special tokens.
  std::vector<int64_t> encode(const std::string& text) const;
  // Step 4 on texts as given (not cleaned): [texts.size(), length] int64 rows.
  at::Tensor tokenize(const std::vector<std::string>& texts, int64_t length, TruncationPolicy policy) const;

  // Tokenizer: captions cleaned as BLIP does (step 1), then rows of `length`.
  int64_t size() const override { return dec_id_ + 1; }
  at::Tensor encode_batch(const std::vector<std::string>& texts, int64_t length) const override;
  int64_t count_tokens(const std::string& text) const override;
  void set_truncation(TruncationPolicy policy) { truncation_ = policy; }
  void set_max_words(int64_t max_words) { max_words_ = max_words; }

  int64_t pad_id() const { return 0; }
  int64_t unk_id() const { return unk_id_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }
  int64_t dec_id() const { return dec_id_; }

 private:
  void append_word_pieces(const std::string& word, std::vector<int64_t>& ids) const;

  std::unordered_map<std::string, int64_t> ids_;
  int64_t unk_id_ = 0, cls_id_ = 0, sep_id_ = 0, dec_id_ = 0;
  int64_t max_words_ = 50;
  TruncationPolicy truncation_ = TruncationPolicy::kTruncate;
};

}  // namespace spn
