#pragma once
// UTF-8 validity of text read from users' files. A JSON library fails on a byte that is
// not UTF-8 far from where it was read (or quotes it into an error that cannot be
// recorded), so readers check the text first and name the file and the byte.
#include <string>
#include <string_view>

namespace spn {

// The offset of the first byte of the first ill-formed sequence, or std::string_view::npos
// when `text` is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF, no sequence cut short).
size_t first_invalid_utf8(std::string_view text);

// Throws UserError "<source>: not valid UTF-8 at byte offset N (line L)" (N from 0, L
// from 1) when `text` is not valid UTF-8.
void require_utf8(std::string_view text, const std::string& source);

}  // namespace spn
