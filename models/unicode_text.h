#pragma once
// UTF-8 text as Unicode code points, for the tokenizers' character-level rules (ICU
// does the decoding; ill-formed bytes become U+FFFD).
#include <string>

namespace spn {

using CodePoints = std::u32string;

CodePoints decode_utf8(const std::string& text);
std::string encode_utf8(const CodePoints& code_points);

// Python's str.isspace() (what str.split() and re's \s match): Unicode White_Space
// plus the separators U+1C..U+1F.
bool is_python_space(char32_t c);

}  // namespace spn
