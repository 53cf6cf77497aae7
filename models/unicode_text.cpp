#include "models/unicode_text.h"

#include <unicode/uchar.h>
#include <unicode/unistr.h>

namespace spn {

CodePoints decode_utf8(const std::string& text) {
  icu::UnicodeString unicode = icu::UnicodeString::fromUTF8(text);
  CodePoints out;
  for (int32_t i = 0; i < unicode.length(); i = unicode.moveIndex32(i, 1)) out.push_back(unicode.char32At(i));
  return out;
}

std::string encode_utf8(const CodePoints& code_points) {
  icu::UnicodeString unicode;
  for (char32_t c : code_points) unicode.append(static_cast<UChar32>(c));
  std::string out;
  unicode.toUTF8String(out);
  return out;
}

bool is_python_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) || (c >= 0x1c && c <= 0x1f); }

}  // namespace spn
