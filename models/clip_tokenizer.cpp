#include "models/clip_tokenizer.h"

#include <torch/types.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "models/unicode_text.h"

namespace spn {
namespace {

std::string utf8_of(char32_t c) { return encode_utf8(CodePoints(1, c)); }

// ---- HTML entities, as Python's html.unescape resolves them ---------------------------

// Python's replacements for numeric references that name C1 controls (read as
// windows-1252) and other invalid code points.
std::string numeric_reference(uint32_t code) {
  static const char32_t kWindows1252[32] = {0x20ac, 0x81,   0x201a, 0x192,  0x201e, 0x2026, 0x2020, 0x2021,
                                            0x2c6,  0x2030, 0x160,  0x2039, 0x152,  0x8d,   0x17d,  0x8f,
                                            0x90,   0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                            0x2dc,  0x2122, 0x161,  0x203a, 0x153,  0x9d,   0x17e,  0x178};
  if (code >= 0x80 && code <= 0x9f) return utf8_of(kWindows1252[code - 0x80]);
  if (code == 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return utf8_of(0xfffd);
  if (code == 0x0d) return "\r";
  if ((code >= 0x1 && code <= 0x8) || code == 0xb || (code >= 0xe && code <= 0x1f) || code == 0x7f ||
      (code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) == 0xfffe)
    return "";
  return utf8_of(code);
}

std::string unescape_html(const std::string& text) {
  // Named references: those with a form without ';' (HTML5 keeps a few for legacy).
  static const std::vector<std::pair<std::string, std::string>> kBare = {
      {"amp", "&"}, {"AMP", "&"},   {"lt", "<"},    {"LT", "<"},       {"gt", ">"},
      {"GT", ">"},  {"quot", "\""}, {"QUOT", "\""}, {"nbsp", "\u00a0"}};
  static const std::vector<std::pair<std::string, std::string>> kWithSemicolon = {{"apos", "'"}};
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '&') {
      out += text[i++];
      continue;
    }
    size_t j = i + 1;
    if (j < text.size() && text[j] == '#') {
      bool hex = j + 1 < text.size() && (text[j + 1] == 'x' || text[j + 1] == 'X');
      size_t digits_start = j + 1 + (hex ? 1 : 0), k = digits_start;
      while (k < text.size() && (hex ? std::isxdigit(static_cast<unsigned char>(text[k])) != 0
                                     : std::isdigit(static_cast<unsigned char>(text[k])) != 0))
        ++k;
      if (k == digits_start) {
        out += text[i++];
        continue;
      }
      uint64_t code = 0;
      for (size_t d = digits_start; d < k; ++d) {
        const int c = std::tolower(static_cast<unsigned char>(text[d]));
        code = code * (hex ? 16 : 10) + static_cast<uint64_t>(std::isdigit(c) ? c - '0' : c - 'a' + 10);
        code = std::min<uint64_t>(code, 0x110000);  // anything larger is invalid alike
      }
      out += numeric_reference(static_cast<uint32_t>(code));
      i = k + (k < text.size() && text[k] == ';' ? 1 : 0);
      continue;
    }
    // The name: up to 32 characters other than whitespace, '<', '&', '#' and ';'.
    size_t k = j;
    while (k < text.size() && k - j < 32 && !std::strchr("\t\n\f <&#;", text[k])) ++k;
    std::string name = text.substr(j, k - j);
    bool semicolon = k < text.size() && text[k] == ';';
    std::string replaced;
    size_t consumed = 0;
    if (semicolon) {
      for (const auto* table : {&kBare, &kWithSemicolon}) {
        for (const auto& [entity, value] : *table) {
          if (entity == name) replaced = value, consumed = name.size() + 1;
        }
      }
    }
    // Otherwise the longest entity with a bare form that prefixes the name.
    for (size_t length = name.size(); consumed == 0 && length >= 2; --length) {
      for (const auto& [entity, value] : kBare) {
        if (entity == name.substr(0, length)) replaced = value, consumed = length;
      }
    }
    if (consumed == 0) {
      out += text[i++];
      continue;
    }
    out += replaced;
    i = j + consumed;
  }
  return out;
}

// ---- the parts of ftfy.fix_text that apply to captions --------------------------------

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f || (c >= 0x206a && c <= 0x206f) ||
         c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc) || (c >= 0x1d173 && c <= 0x1d17a) ||
         (c >= 0xe0000 && c <= 0xe007f);
}

// Latin ligatures (ﬁ, ĳ, ǆ, ...) and full-width forms take their compatibility
// decomposition; the ideographic space becomes a space.
bool is_unfolded(char32_t c) {
  return c == 0x132 || c == 0x133 || c == 0x149 || (c >= 0x1c4 && c <= 0x1cc) || (c >= 0xfb00 && c <= 0xfb06) ||
         (c >= 0xff01 && c <= 0xffef);
}

std::string ftfy_fixes(const std::string& segment) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalisation data is missing");
  icu::UnicodeString fixed;
  for (char32_t c : decode_utf8(segment)) {
    if (c == 0x3000) c = ' ';
    if (c == 0x2bc || (c >= 0x2018 && c <= 0x201b)) c = '\'';
    if (c >= 0x201c && c <= 0x201f) c = '"';
    if (is_removed_control(c)) continue;
    if (is_unfolded(c)) {
      icu::UnicodeString decomposed = nfkc->normalize(icu::UnicodeString(static_cast<UChar32>(c)), status);
      // ŉ unfolds to ʼn, whose apostrophe ftfy then straightens.
      decomposed.findAndReplace(icu::UnicodeString(static_cast<UChar32>(0x2bc)), icu::UnicodeString("'"));
      fixed.append(decomposed);
      continue;
    }
    fixed.append(static_cast<UChar32>(c));
  }
  icu::UnicodeString normalised = nfc->normalize(fixed, status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU NFC normalisation failed");
  std::string out;
  normalised.toUTF8String(out);
  return out;
}

bool is_letter(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER: return true;
    default: return false;
  }
}

bool is_number(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER: return true;
    default: return false;
  }
}

// CLIP's pattern 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ (on cleaned,
// lowercased text), as the list of matches.
std::vector<CodePoints> split_pieces(const CodePoints& text) {
  static const std::vector<CodePoints> kContractions = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  std::vector<CodePoints> pieces;
  size_t i = 0;
  while (i < text.size()) {
    char32_t c = text[i];
    size_t end = i + 1;
    bool matched = false;
    for (const auto& contraction : kContractions) {
      if (text.compare(i, contraction.size(), contraction) == 0) {
        end = i + contraction.size();
        matched = true;
        break;
      }
    }
    if (!matched && is_letter(c)) {
      while (end < text.size() && is_letter(text[end])) ++end;
    } else if (!matched && is_python_space(c)) {
      ++i;
      continue;
    } else if (!matched && !is_number(c)) {
      while (end < text.size() && !is_python_space(text[end]) && !is_letter(text[end]) && !is_number(text[end])) ++end;
    }
    pieces.push_back(text.substr(i, end - i));
    i = end;
  }
  return pieces;
}

// GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes
// stand for themselves, the others for U+0100 onwards in byte order.
const std::vector<std::string>& byte_symbols() {
  static const std::vector<std::string> symbols = [] {
    std::vector<std::string> table(256);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
      table[b] = utf8_of(printable ? static_cast<char32_t>(b) : next++);
    }
    return table;
  }();
  return symbols;
}

std::unordered_map<std::string, int64_t> read_vocab(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) throw UserError(where + ": the vocabulary must be an object of token -> id");
  std::unordered_map<std::string, int64_t> vocab;
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      throw UserError(where + ": token \"" + token + "\" must map to a non-negative integer id");
    vocab[token] = id.get<int64_t>();
  }
  return vocab;
}

nlohmann::json parse_json_file(const std::filesystem::path& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw UserError(path.string() + ": not valid JSON: " + e.what());
  }
}

}  // namespace

ClipTokenizer::ClipTokenizer(std::unordered_map<std::string, int64_t> vocab, const std::vector<std::string>& merges)
    : vocab_(std::move(vocab)) {
  for (size_t rank = 0; rank < merges.size(); ++rank) merge_ranks_.emplace(merges[rank], static_cast<int64_t>(rank));
  for (const auto& [token, id] : {std::pair<const char*, int64_t*>{"<|startoftext|>", &start_id_},
                                  std::pair<const char*, int64_t*>{"<|endoftext|>", &end_id_}}) {
    auto found = vocab_.find(token);
    if (found == vocab_.end()) throw UserError(std::string("the vocabulary has no ") + token + " token");
    *id = found->second;
  }
}

ClipTokenizer ClipTokenizer::from_directory(const std::filesystem::path& directory) {
  const auto vocab_path = directory / "vocab.json";
  const auto merges_path = directory / "merges.txt";
  const auto tokenizer_path = directory / "tokenizer.json";
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<std::string> merges;
  std::string where;
  if (std::filesystem::exists(vocab_path) && std::filesystem::exists(merges_path)) {
    where = vocab_path.string();
    vocab = read_vocab(parse_json_file(vocab_path), where);
    std::istringstream lines(read_file(merges_path));
    std::string line;
    for (int64_t number = 1; std::getline(lines, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
      if (std::count(line.begin(), line.end(), ' ') != 1 || line.front() == ' ' || line.back() == ' ')
        throw UserError(merges_path.string() + ":" + std::to_string(number) +
                        ": expected two tokens separated by one space");
      merges.push_back(line);
    }
  } else if (std::filesystem::exists(tokenizer_path)) {
    where = tokenizer_path.string();
    nlohmann::json json = parse_json_file(tokenizer_path);
    const nlohmann::json* model = json.contains("model") ? &json["model"] : nullptr;
    if (!model || !model->contains("vocab") || !model->contains("merges") || !(*model)["merges"].is_array())
      throw UserError(where + ": expected model.vocab and model.merges (a BPE tokenizer)");
    vocab = read_vocab((*model)["vocab"], where + ": model.vocab");
    size_t index = 0;
    for (const auto& merge : (*model)["merges"]) {
      if (merge.is_string()) {
        merges.push_back(merge.get<std::string>());
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
        merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      } else {
        throw UserError(where + ": model.merges[" + std::to_string(index) + "] must be \"a b\" or [\"a\", \"b\"]");
      }
      ++index;
    }
  } else {
    throw UserError(directory.string() + ": no CLIP tokenizer files (vocab.json + merges.txt, or tokenizer.json)");
  }
  try {
    return ClipTokenizer(std::move(vocab), merges);
  } catch (const UserError& e) {
    throw UserError(where + ": " + e.what());
  }
}

std::string ClipTokenizer::clean(const std::string& text) {
  // ftfy works line by line and unescapes HTML only in lines without a '<'; the CLIP
  // code then unescapes twice more.
  std::string fixed;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string line = text.substr(start, end - start);
    if (line.find('<') == std::string::npos) line = unescape_html(line);
    fixed += ftfy_fixes(line);
    start = end;
  }
  fixed = unescape_html(unescape_html(fixed));
  CodePoints joined;
  for (char32_t c : decode_utf8(fixed)) {
    if (is_python_space(c)) {
      if (!joined.empty() && joined.back() != ' ') joined.push_back(' ');
    } else {
      joined.push_back(c);
    }
  }
  if (!joined.empty() && joined.back() == ' ') joined.pop_back();
  icu::UnicodeString unicode = icu::UnicodeString::fromUTF8(encode_utf8(joined));
  unicode.toLower(icu::Locale::getRoot());
  std::string out;
  unicode.toUTF8String(out);
  return out;
}

std::vector<int64_t> ClipTokenizer::encode_piece(const std::string& piece) const {
  std::vector<std::string> word;
  for (unsigned char byte : piece) word.push_back(byte_symbols()[byte]);
  word.back() += "</w>";
  while (word.size() > 1) {
    int64_t best_rank = INT64_MAX;
    size_t best = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto found = merge_ranks_.find(word[i] + " " + word[i + 1]);
      if (found != merge_ranks_.end() && found->second < best_rank) best_rank = found->second, best = i;
    }
    if (best_rank == INT64_MAX) break;
    const std::string first = word[best], second = word[best + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size(); ++i) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        ++i;
      } else {
        merged.push_back(word[i]);
      }
    }
    word = std::move(merged);
  }
  std::vector<int64_t> ids;
  for (const auto& symbol : word) {
    auto found = vocab_.find(symbol);
    if (found == vocab_.end())
      throw UserError("the tokenizer's merges make \"" + symbol + "\", which its vocabulary lacks");
    ids.push_back(found->second);
  }
  return ids;
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& piece : split_pieces(decode_utf8(clean(text)))) {
    auto piece_ids = encode_piece(encode_utf8(piece));
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  }
  return ids;
}

at::Tensor ClipTokenizer::tokenize(const std::vector<std::string>& texts, int64_t context_length,
                                   TruncationPolicy policy) const {
  at::Tensor rows = torch::zeros({static_cast<int64_t>(texts.size()), context_length}, torch::kInt64);
  auto row_access = rows.accessor<int64_t, 2>();
  for (size_t t = 0; t < texts.size(); ++t) {
    std::vector<int64_t> ids = {start_id_};
    auto body = encode(texts[t]);
    ids.insert(ids.end(), body.begin(), body.end());
    ids.push_back(end_id_);
    if (static_cast<int64_t>(ids.size()) > context_length) {
      if (policy == TruncationPolicy::kError)
        throw UserError("text " + std::to_string(t) + " is " + std::to_string(ids.size()) +
                        " tokens, more than the context length " + std::to_string(context_length) + ": \"" +
                        texts[t].substr(0, 80) + (texts[t].size() > 80 ? "..." : "") + "\"");
      ids.resize(context_length);
      ids.back() = end_id_;
    }
    for (size_t i = 0; i < ids.size(); ++i) row_access[t][i] = ids[i];
  }
  return rows;
}

}  // namespace spn
