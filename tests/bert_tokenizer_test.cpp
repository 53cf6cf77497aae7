// BERT's WordPiece tokenizer and BLIP's caption cleaning against transformers'
// BertTokenizer (Rust-backed and pure-Python, which agree on every golden text) on the
// texts of scripts/make-blip2-golden.py: punctuation, accents (composed and combining),
// CJK, emoji, control and zero-width characters, whitespace kinds, words past 100
// characters, pieces missing from the vocabulary, texts longer than a row.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "models/bert_tokenizer.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

const fs::path kBertGolden = testing::golden_dir() / "bert_tokenizer";

std::vector<int64_t> bert_row(const at::Tensor& rows, int64_t index) {
  at::Tensor row = rows[index].contiguous();
  return std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
}

TEST(BertTokenizer, MatchesTransformersOnTheGoldenTexts) {
  const auto golden = nlohmann::json::parse(read_file(kBertGolden / "cases.json"));
  const int64_t length = golden["max_length"].get<int64_t>();
  const BertTokenizer tokenizer = BertTokenizer::from_directory(kBertGolden);
  EXPECT_EQ(tokenizer.dec_id(), golden["dec_id"].get<int64_t>());
  EXPECT_EQ(tokenizer.size(), golden["dec_id"].get<int64_t>() + 1);
  std::vector<std::string> texts;
  int64_t cases = 0;
  for (const auto& item : golden["cases"]) {
    const std::string text = item["text"].get<std::string>();
    texts.push_back(text);
    EXPECT_EQ(blip_pre_caption(text, golden["max_words"].get<int64_t>()), item["cleaned"].get<std::string>())
        << "text: " << text;
    EXPECT_EQ(tokenizer.encode(text), item["ids"].get<std::vector<int64_t>>()) << "text: " << text;
    EXPECT_EQ(bert_row(tokenizer.tokenize({text}, length, TruncationPolicy::kTruncate), 0),
              item["row"].get<std::vector<int64_t>>())
        << "text: " << text;
    ++cases;
  }
  // The Tokenizer interface cleans captions first, as SPRC's text processor does.
  const at::Tensor rows = tokenizer.encode_batch(texts, length);
  for (int64_t i = 0; i < cases; ++i) {
    EXPECT_EQ(bert_row(rows, i), golden["cases"][i]["cleaned_row"].get<std::vector<int64_t>>()) << "text: " << texts[i];
    EXPECT_EQ(tokenizer.count_tokens(texts[i]),
              static_cast<int64_t>(tokenizer.encode(golden["cases"][i]["cleaned"].get<std::string>()).size()) + 2);
  }
  EXPECT_GE(cases, 25);
}

TEST(BertTokenizer, CaptionCleaningKeepsFiftyWords) {
  std::string caption;
  for (int i = 0; i < 60; ++i) caption += "w" + std::to_string(i) + (i % 2 ? ".  " : " ");
  const std::string cleaned = blip_pre_caption(caption);
  EXPECT_EQ(std::count(cleaned.begin(), cleaned.end(), ' '), 49);
  EXPECT_EQ(cleaned.substr(cleaned.rfind(' ') + 1), "w49");
  EXPECT_EQ(blip_pre_caption("A b c", 2), "a b");
  EXPECT_EQ(blip_pre_caption("  (Hi)!\n\n"), "hi");
}

TEST(BertTokenizer, TruncationPolicies) {
  const BertTokenizer tokenizer = BertTokenizer::from_directory(kBertGolden);
  const std::string text = "a photo of a cat and a dog";
  const at::Tensor row = tokenizer.tokenize({text}, 5, TruncationPolicy::kTruncate)[0];
  const std::vector<int64_t> ids = tokenizer.encode(text);
  EXPECT_EQ(bert_row(row.unsqueeze(0), 0), (std::vector<int64_t>{tokenizer.cls_id(), ids[0], ids[1], ids[2], 102}));
  try {
    tokenizer.tokenize({"a cat", text}, 5, TruncationPolicy::kError);
    FAIL() << "a text longer than the row was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("text 1 is 10 tokens, more than the row length 5"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(tokenizer.tokenize({text}, 1, TruncationPolicy::kTruncate), UserError);
}

TEST(BertTokenizer, BadVocabulariesAreNamed) {
  const fs::path dir = fs::temp_directory_path() / ("spn-bert-vocab-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto error_of = [&] {
    try {
      BertTokenizer::from_directory(dir);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of().find("vocab.txt: missing"), std::string::npos) << error_of();
  write_file_atomic(dir / "vocab.txt", "[UNK]\n[PAD]\n[CLS]\n[SEP]\n");
  EXPECT_NE(error_of().find("vocab.txt: the vocabulary must start with [PAD]"), std::string::npos) << error_of();
  write_file_atomic(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n");
  EXPECT_NE(error_of().find("vocab.txt: the vocabulary has no [SEP] token"), std::string::npos) << error_of();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
