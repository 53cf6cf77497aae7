// The UTF-8 check annotation readers run before parsing, and the JSON text of records,
// which must not throw on a string that is not UTF-8.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "core/error.h"
#include "core/json_text.h"
#include "core/utf8.h"

namespace spn {
namespace {

constexpr size_t kValid = std::string_view::npos;

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_EQ(first_invalid_utf8(""), kValid);
  EXPECT_EQ(first_invalid_utf8("plain ascii\n"), kValid);
  // 2, 3 and 4 bytes, the edges of each range: U+0080, U+07FF, U+0800, U+D7FF, U+E000,
  // U+FFFF, U+10000, U+10FFFF.
  EXPECT_EQ(first_invalid_utf8("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf"), kValid);
  EXPECT_EQ(first_invalid_utf8("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"), kValid);
  EXPECT_EQ(first_invalid_utf8("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x99\x82"), kValid);
}

TEST(Utf8, FindsTheFirstIllFormedSequence) {
  EXPECT_EQ(first_invalid_utf8("ab\xff"), 2u);                // never in UTF-8
  EXPECT_EQ(first_invalid_utf8("a\x80"), 1u);                 // a lone continuation byte
  EXPECT_EQ(first_invalid_utf8("a\xc3"), 1u);                 // cut short at the end
  EXPECT_EQ(first_invalid_utf8("a\xc3z"), 1u);                // cut short before ASCII
  EXPECT_EQ(first_invalid_utf8("\xe2\x86z"), 0u);             // 3 bytes cut short
  EXPECT_EQ(first_invalid_utf8("\xc0\xaf"), 0u);              // overlong '/'
  EXPECT_EQ(first_invalid_utf8("\xe0\x80\xaf"), 0u);          // overlong, 3 bytes
  EXPECT_EQ(first_invalid_utf8("\xf0\x80\x80\xaf"), 0u);      // overlong, 4 bytes
  EXPECT_EQ(first_invalid_utf8("x\xed\xa0\x80"), 1u);         // a surrogate, U+D800
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u);      // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xf5\x80\x80\x80"), 0u);      // a lead byte past F4
  EXPECT_EQ(first_invalid_utf8("\xc3\xa9\xc3\xa9\xff"), 4u);  // after valid sequences
}

TEST(Utf8, RequireNamesTheSourceByteAndLine) {
  EXPECT_NO_THROW(require_utf8("{\"a\": \"\xc3\xa9\"}", "f.json"));
  try {
    require_utf8("[\n {\"caption\": \"a\xff\"}\n]\n", "data/f.json");
    FAIL() << "no error";
  } catch (const UserError& error) {
    EXPECT_STREQ(error.what(), "data/f.json: not valid UTF-8 at byte offset 17 (line 2)");
  }
}

TEST(JsonText, WritesBytesThatAreNotUtf8AsReplacementCharacters) {
  const nlohmann::json record = {{"error", "x\xff y"}};
  EXPECT_THROW(record.dump(), nlohmann::json::type_error);  // what json_text is for
  EXPECT_EQ(json_text(record), "{\"error\":\"x\xef\xbf\xbd y\"}");
  EXPECT_EQ(json_text(record, 2), "{\n  \"error\": \"x\xef\xbf\xbd y\"\n}");
}

}  // namespace
}  // namespace spn
