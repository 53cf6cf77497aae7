#include "models/bert_tokenizer.h"

#include <torch/types.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "models/unicode_text.h"

namespace spn {
namespace {

// transformers' cap on a word's characters before it becomes [UNK] outright.
constexpr size_t kMaxWordCharacters = 100;

std::string lower_case(const std::string& text) {
  icu::UnicodeString unicode = icu::UnicodeString::fromUTF8(text);
  unicode.toLower(icu::Locale::getRoot());
  std::string out;
  unicode.toUTF8String(out);
  return out;
}

std::string normalize(const std::string& text, bool decompose) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer =
      decompose ? icu::Normalizer2::getNFDInstance(status) : icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalisation data is missing");
  icu::UnicodeString normalized = normalizer->normalize(icu::UnicodeString::fromUTF8(text), status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalisation failed");
  std::string out;
  normalized.toUTF8String(out);
  return out;
}

int8_t category(char32_t c) { return u_charType(static_cast<UChar32>(c)); }

// Python's unicodedata category "C*" (control, format, surrogate, private use,
// unassigned), tab and newlines excepted.
bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (category(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED: return true;
    default: return false;
  }
}

bool is_bert_whitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || category(c) == U_SPACE_SEPARATOR;
}

// All non-alphanumeric ASCII counts, and Unicode's punctuation categories.
bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  switch (category(c)) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION: return true;
    default: return false;
  }
}

// The CJK Unified Ideographs blocks BERT isolates (not kana or hangul, which are
// written with spaces between words).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
         (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
         (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

std::vector<CodePoints> split_at_python_spaces(const CodePoints& text) {
  std::vector<CodePoints> words;
  CodePoints word;
  for (char32_t c : text) {
    if (!is_python_space(c)) {
      word.push_back(c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::string strip_accents(const std::string& word) {
  CodePoints kept;
  for (char32_t c : decode_utf8(normalize(word, /*decompose=*/true))) {
    if (category(c) != U_NON_SPACING_MARK) kept.push_back(c);
  }
  return encode_utf8(kept);
}

}  // namespace

std::string blip_pre_caption(const std::string& caption, int64_t max_words) {
  CodePoints text;
  size_t space_run = 0;  // whitespace characters at the end of `text`
  for (char32_t c : decode_utf8(lower_case(caption))) {
    if (c < 128 && std::string_view(".!\"()*#:;~").find(static_cast<char>(c)) != std::string_view::npos) c = ' ';
    if (!is_python_space(c)) {
      space_run = 0;
    } else if (++space_run >= 2) {
      text.back() = ' ';  // a run of two or more becomes one space
      continue;
    }
    text.push_back(c);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t first = text.find_first_not_of(U' ');
  text = first == CodePoints::npos ? CodePoints() : text.substr(first, text.find_last_not_of(U' ') - first + 1);
  size_t words = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' && ++words > static_cast<size_t>(max_words)) {
      text.resize(i);
      break;
    }
  }
  return encode_utf8(text);
}

BertTokenizer::BertTokenizer(const std::vector<std::string>& vocab) {
  for (size_t id = 0; id < vocab.size(); ++id) ids_[vocab[id]] = static_cast<int64_t>(id);  // a repeat: the last wins
  dec_id_ = static_cast<int64_t>(vocab.size());
  if (vocab.empty() || vocab[0] != "[PAD]") throw UserError("the vocabulary must start with [PAD] (id 0)");
  for (const auto& [token, id] :
       {std::pair<const char*, int64_t*>{"[UNK]", &unk_id_}, {"[CLS]", &cls_id_}, {"[SEP]", &sep_id_}}) {
    auto found = ids_.find(token);
    if (found == ids_.end()) throw UserError(std::string("the vocabulary has no ") + token + " token");
    *id = found->second;
  }
}

BertTokenizer BertTokenizer::from_directory(const std::filesystem::path& directory) {
  const auto path = directory / "vocab.txt";
  if (!std::filesystem::exists(path))
    throw UserError(path.string() +
                    ": missing. BLIP-2's Q-Former uses bert-base-uncased's WordPiece vocabulary: download vocab.txt "
                    "from https://huggingface.co/google-bert/bert-base-uncased into " +
                    directory.string());
  std::vector<std::string> vocab;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) vocab.push_back(line);
  try {
    return BertTokenizer(vocab);
  } catch (const UserError& e) {
    throw UserError(path.string() + ": " + e.what());
  }
}

std::vector<std::string> BertTokenizer::basic_tokenize(const std::string& text) {
  CodePoints cleaned;
  for (char32_t c : decode_utf8(text)) {
    if (c == 0 || c == 0xfffd || is_control(c)) continue;
    if (is_bert_whitespace(c)) {
      cleaned.push_back(' ');
    } else if (is_cjk_ideograph(c)) {
      cleaned += {U' ', c, U' '};
    } else {
      cleaned.push_back(c);
    }
  }
  std::vector<std::string> words;
  for (const CodePoints& token : split_at_python_spaces(decode_utf8(normalize(encode_utf8(cleaned), false)))) {
    CodePoints word;
    for (char32_t c : decode_utf8(strip_accents(lower_case(encode_utf8(token))))) {
      if (!is_punctuation(c)) {
        word.push_back(c);
        continue;
      }
      if (!word.empty()) words.push_back(encode_utf8(word));
      word.clear();
      words.push_back(encode_utf8(CodePoints(1, c)));
    }
    if (!word.empty()) words.push_back(encode_utf8(word));
  }
  return words;
}

void BertTokenizer::append_word_pieces(const std::string& word, std::vector<int64_t>& ids) const {
  const CodePoints chars = decode_utf8(word);
  if (chars.size() > kMaxWordCharacters) {
    ids.push_back(unk_id_);
    return;
  }
  std::vector<int64_t> pieces;
  for (size_t start = 0; start < chars.size();) {
    size_t end = chars.size();
    for (; end > start; --end) {
      auto found = ids_.find((start > 0 ? "##" : "") + encode_utf8(chars.substr(start, end - start)));
      if (found != ids_.end()) {
        pieces.push_back(found->second);
        break;
      }
    }
    if (end == start) {  // no piece matches the rest: the whole word is unknown
      ids.push_back(unk_id_);
      return;
    }
    start = end;
  }
  ids.insert(ids.end(), pieces.begin(), pieces.end());
}

std::vector<int64_t> BertTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& word : basic_tokenize(text)) append_word_pieces(word, ids);
  return ids;
}

at::Tensor BertTokenizer::tokenize(const std::vector<std::string>& texts, int64_t length,
                                   TruncationPolicy policy) const {
  if (length < 2) throw UserError("a BERT row needs room for [CLS] and [SEP]; got length " + std::to_string(length));
  at::Tensor rows = torch::full({static_cast<int64_t>(texts.size()), length}, pad_id(), torch::kInt64);
  auto row_access = rows.accessor<int64_t, 2>();
  for (size_t t = 0; t < texts.size(); ++t) {
    std::vector<int64_t> body = encode(texts[t]);
    const auto room = static_cast<size_t>(length - 2);
    if (body.size() > room) {
      if (policy == TruncationPolicy::kError)
        throw UserError("text " + std::to_string(t) + " is " + std::to_string(body.size() + 2) +
                        " tokens, more than the row length " + std::to_string(length) + ": \"" +
                        texts[t].substr(0, 80) + (texts[t].size() > 80 ? "..." : "") + "\"");
      body.resize(room);
    }
    row_access[t][0] = cls_id_;
    for (size_t i = 0; i < body.size(); ++i) row_access[t][static_cast<int64_t>(i) + 1] = body[i];
    row_access[t][static_cast<int64_t>(body.size()) + 1] = sep_id_;
  }
  return rows;
}

at::Tensor BertTokenizer::encode_batch(const std::vector<std::string>& texts, int64_t length) const {
  std::vector<std::string> cleaned;
  cleaned.reserve(texts.size());
  for (const auto& text : texts) cleaned.push_back(blip_pre_caption(text, max_words_));
  return tokenize(cleaned, length, truncation_);
}

int64_t BertTokenizer::count_tokens(const std::string& text) const {
  return static_cast<int64_t>(encode(blip_pre_caption(text, max_words_)).size()) + 2;
}

}  // namespace spn
