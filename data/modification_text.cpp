#include "data/modification_text.h"

#include <map>

#include "core/error.h"
#include "core/random.h"

namespace spn {
namespace {

const std::map<std::string, std::string>& named_templates() {
  static const std::map<std::string, std::string> named = {
      {"p0", "{tgt} instead of {ref}"}, {"p1", "Unlike {ref}, I want {tgt}"}, {"p2", "{tgt}"}};
  return named;
}

// The captions a pattern is filled with: {ref} and {tgt} whole, {ref_part} and
// {tgt_part} as drawn by some_clauses().
struct Fillers {
  std::string ref, tgt, ref_part, tgt_part;
};

// `pattern` with {ref}, {tgt}, {ref_part} and {tgt_part} replaced; `unknown` gets the
// first other {name}.
std::string fill(const std::string& pattern, const Fillers& with, std::string* unknown = nullptr) {
  const std::map<std::string, const std::string*> values = {
      {"ref", &with.ref}, {"tgt", &with.tgt}, {"ref_part", &with.ref_part}, {"tgt_part", &with.tgt_part}};
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      const size_t close = pattern.find('}', i);
      const std::string name = close == std::string::npos ? "" : pattern.substr(i + 1, close - i - 1);
      const auto value = values.find(name);
      if (close != std::string::npos && value != values.end()) {
        out += *value->second;
        i = close + 1;
        continue;
      }
      if (unknown && unknown->empty()) *unknown = close == std::string::npos ? pattern.substr(i) : "{" + name + "}";
    }
    out += pattern[i++];
  }
  return out;
}

bool uses(const std::string& pattern, const char* placeholder) {
  return pattern.find(placeholder) != std::string::npos;
}

}  // namespace

std::string some_clauses(const std::string& caption, std::mt19937_64& rng) {
  std::vector<std::string> clauses;
  for (size_t begin = 0;;) {
    const size_t end = caption.find(", ", begin);
    clauses.push_back(caption.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 2;
  }
  seeded_shuffle(clauses, rng);
  const size_t kept = 1 + uniform_below(rng, clauses.size());
  std::string out;
  for (size_t i = 0; i < kept; ++i) out += (i ? ", " : "") + clauses[i];
  return out;
}

ModificationTemplates::ModificationTemplates(const std::vector<std::string>& templates, const std::string& where) {
  for (const std::string& entry : templates) {
    const auto named = named_templates().find(entry);
    const std::string pattern = named != named_templates().end() ? named->second : entry;
    std::string unknown;
    fill(pattern, Fillers{}, &unknown);
    if (!unknown.empty())
      throw UserError(where + ": template \"" + entry + "\" has " + unknown +
                      "; only {ref}, {tgt}, {ref_part} and {tgt_part} are filled in");
    if (!uses(pattern, "{ref}") && !uses(pattern, "{tgt}") && !uses(pattern, "{ref_part}") &&
        !uses(pattern, "{tgt_part}"))
      throw UserError(where + ": template \"" + entry +
                      "\" uses none of {ref}, {tgt}, {ref_part}, {tgt_part} (or name p0, p1, p2)");
    templates_.push_back(pattern);
  }
}

std::vector<std::string> ModificationTemplates::compose_each(const std::string& reference_caption,
                                                             const std::string& target_caption, std::mt19937_64& rng,
                                                             const TokenCount& tokens, int64_t max_tokens) const {
  std::vector<std::string> texts;
  for (const std::string& pattern : templates_) {
    Fillers with{reference_caption, target_caption, "", ""};
    if (uses(pattern, "{ref_part}")) with.ref_part = some_clauses(reference_caption, rng);
    if (uses(pattern, "{tgt_part}")) with.tgt_part = some_clauses(target_caption, rng);
    std::string text = fill(pattern, with);
    if (tokens(text) > max_tokens) text = fill(named_templates().at("p2"), with);
    texts.push_back(std::move(text));
  }
  return texts;
}

std::vector<std::string> ModificationTemplates::fixed_texts() const {
  std::vector<std::string> texts;
  for (const std::string& pattern : templates_) texts.push_back(fill(pattern, Fillers{}));
  return texts;
}

}  // namespace spn
