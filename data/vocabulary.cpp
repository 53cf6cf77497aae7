#include "data/vocabulary.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/files.h"

namespace spn {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

Vocabulary::Vocabulary(std::vector<std::string> words) : words_(std::move(words)) {
  for (size_t i = 0; i < words_.size(); ++i) ids_.emplace(words_[i], static_cast<int64_t>(i));
}

Vocabulary Vocabulary::build(const std::vector<std::string>& texts) {
  std::map<std::string, int64_t> counts;
  for (const auto& text : texts)
    for (const auto& word : split_words(text)) ++counts[word];
  std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> words = {"<pad>", "<unk>"};
  for (const auto& entry : ranked) words.push_back(entry.first);
  return Vocabulary(std::move(words));
}

Vocabulary Vocabulary::load(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::vector<std::string> words;
  for (std::string line; std::getline(in, line);) words.push_back(line);
  if (words.size() < 2 || words[0] != "<pad>" || words[1] != "<unk>")
    throw UserError(path.string() + ": not a vocabulary file (expected <pad> and <unk> on the first two lines)");
  return Vocabulary(std::move(words));
}

std::string Vocabulary::serialize() const {
  std::string out;
  for (const auto& word : words_) out += word + "\n";
  return out;
}

std::vector<int64_t> Vocabulary::encode(const std::string& text, int64_t length) const {
  std::vector<int64_t> ids(static_cast<size_t>(length), kPad);
  const std::vector<std::string> words = split_words(text);
  for (size_t i = 0; i < words.size() && static_cast<int64_t>(i) < length; ++i) {
    auto found = ids_.find(words[i]);
    ids[i] = found == ids_.end() ? kUnknown : found->second;
  }
  return ids;
}

int64_t Vocabulary::count_tokens(const std::string& text) const {
  return static_cast<int64_t>(split_words(text).size());
}

at::Tensor Vocabulary::encode_batch(const std::vector<std::string>& texts, int64_t length) const {
  at::Tensor out = at::empty({static_cast<int64_t>(texts.size()), length}, at::kLong);
  int64_t* data = out.data_ptr<int64_t>();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int64_t> ids = encode(texts[i], length);
    std::copy(ids.begin(), ids.end(), data + i * length);
  }
  return out;
}

}  // namespace spn
