// CLIP's BPE tokenizer against open_clip's (OpenAI's simple_tokenizer) on the golden
// texts of scripts/make-golden.py: punctuation, contractions, HTML entities, curly
// quotes, ligatures, full-width forms, accents (composed and combining), CJK, emoji,
// control characters, and texts longer than the context.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "models/clip_tokenizer.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenTokenizer = testing::golden_dir() / "tokenizer";

nlohmann::json golden_cases() { return nlohmann::json::parse(read_file(kGoldenTokenizer / "cases.json")); }

void expect_matches_golden(const ClipTokenizer& tokenizer) {
  const auto golden = golden_cases();
  const int64_t context = golden["context_length"].get<int64_t>();
  int64_t texts = 0;
  for (const auto& item : golden["cases"]) {
    const std::string text = item["text"].get<std::string>();
    EXPECT_EQ(tokenizer.encode(text), item["bpe"].get<std::vector<int64_t>>()) << "text: " << text;
    at::Tensor row = tokenizer.tokenize({text}, context, TruncationPolicy::kTruncate)[0];
    EXPECT_EQ(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + context),
              item["row"].get<std::vector<int64_t>>())
        << "text: " << text;
    ++texts;
  }
  EXPECT_GE(texts, 20);
}

TEST(ClipTokenizer, MatchesOpenClipOnTheGoldenTexts) {
  expect_matches_golden(ClipTokenizer::from_directory(kGoldenTokenizer));
}

TEST(ClipTokenizer, ReadsTokenizerJsonAsWell) {
  // The same vocabulary in Hugging Face's tokenizer.json, merges as [a, b] pairs.
  const fs::path dir = fs::temp_directory_path() / ("spn-tokenizer-json-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  nlohmann::json json;
  json["model"]["type"] = "BPE";
  json["model"]["vocab"] = nlohmann::json::parse(read_file(kGoldenTokenizer / "vocab.json"));
  json["model"]["merges"] = nlohmann::json::array();
  std::istringstream merges(read_file(kGoldenTokenizer / "merges.txt"));
  std::string line;
  std::getline(merges, line);  // #version
  while (std::getline(merges, line)) {
    if (!line.empty())
      json["model"]["merges"].push_back({line.substr(0, line.find(' ')), line.substr(line.find(' ') + 1)});
  }
  write_file_atomic(dir / "tokenizer.json", json.dump());
  expect_matches_golden(ClipTokenizer::from_directory(dir));
  fs::remove_all(dir);
}

TEST(ClipTokenizer, TruncationPolicies) {
  auto tokenizer = ClipTokenizer::from_directory(kGoldenTokenizer);
  const std::string long_text(300, 'a');
  at::Tensor row = tokenizer.tokenize({long_text}, 10, TruncationPolicy::kTruncate)[0];
  EXPECT_EQ(row[0].item<int64_t>(), tokenizer.start_id());
  EXPECT_EQ(row[9].item<int64_t>(), tokenizer.end_id());
  EXPECT_EQ(row.size(0), 10);
  try {
    tokenizer.tokenize({"short", long_text}, 77, TruncationPolicy::kError);
    FAIL() << "a text longer than the context was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("text 1 is 152 tokens, more than the context length 77"), std::string::npos)
        << e.what();
  }
}

TEST(ClipTokenizer, BadFilesAreNamed) {
  const fs::path dir = fs::temp_directory_path() / ("spn-tokenizer-bad-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto error_of = [&] {
    try {
      ClipTokenizer::from_directory(dir);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of().find("no CLIP tokenizer files"), std::string::npos);
  write_file_atomic(dir / "vocab.json", R"({"a": 0, "b</w>": 1, "<|startoftext|>": 2, "<|endoftext|>": 3})");
  write_file_atomic(dir / "merges.txt", "#version: 0.2\na b\nab\n");
  EXPECT_NE(error_of().find("merges.txt:3: expected two tokens"), std::string::npos) << error_of();
  write_file_atomic(dir / "merges.txt", "a b</w>\n");
  write_file_atomic(dir / "vocab.json", R"({"a": 0, "<|startoftext|>": 2})");
  EXPECT_NE(error_of().find("vocab.json: the vocabulary has no <|endoftext|> token"), std::string::npos) << error_of();
  write_file_atomic(dir / "vocab.json", R"({"a": 0, "b</w>": 1, "<|startoftext|>": 2, "<|endoftext|>": 3})");
  // The merge makes "ab</w>", which this vocabulary lacks.
  EXPECT_THROW(ClipTokenizer::from_directory(dir).encode("ab"), UserError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
