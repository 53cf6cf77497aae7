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

// `pattern` with {ref} and {tgt} replaced; `unknown` gets the first other {name}.
std::string fill(const std::string& pattern, const std::string& ref, const std::string& tgt,
                 std::string* unknown = nullptr) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      const size_t close = pattern.find('}', i);
      const std::string name = close == std::string::npos ? "" : pattern.substr(i + 1, close - i - 1);
      if (name == "ref" || name == "tgt") {
        out += name == "ref" ? ref : tgt;
        i = close + 1;
        continue;
      }
      if (unknown && unknown->empty()) *unknown = close == std::string::npos ? pattern.substr(i) : "{" + name + "}";
    }
    out += pattern[i++];
  }
  return out;
}

}  // namespace

ModificationTemplates::ModificationTemplates(const std::vector<std::string>& templates, const std::string& where) {
  for (const std::string& entry : templates) {
    const auto named = named_templates().find(entry);
    const std::string pattern = named != named_templates().end() ? named->second : entry;
    std::string unknown;
    fill(pattern, "", "", &unknown);
    if (!unknown.empty())
      throw UserError(where + ": template \"" + entry + "\" has " + unknown + "; only {ref} and {tgt} are filled in");
    if (pattern.find("{ref}") == std::string::npos && pattern.find("{tgt}") == std::string::npos)
      throw UserError(where + ": template \"" + entry + "\" uses neither {ref} nor {tgt} (or name p0, p1, p2)");
    templates_.push_back(pattern);
  }
}

std::string ModificationTemplates::compose(const std::string& reference_caption, const std::string& target_caption,
                                           std::mt19937_64& rng, const TokenCount& tokens, int64_t max_tokens) const {
  const std::string& pattern = templates_[uniform_below(rng, templates_.size())];
  std::string text = fill(pattern, reference_caption, target_caption);
  if (tokens(text) > max_tokens) text = fill(named_templates().at("p2"), reference_caption, target_caption);
  return text;
}

std::vector<std::string> ModificationTemplates::fixed_texts() const {
  std::vector<std::string> texts;
  for (const std::string& pattern : templates_) texts.push_back(fill(pattern, "", ""));
  return texts;
}

}  // namespace spn
