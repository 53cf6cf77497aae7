#pragma once
// Modification texts for generated triplets, written from the two images' captions
// with SPN's templates: p0 "{tgt} instead of {ref}", p1 "Unlike {ref}, I want {tgt}",
// p2 "{tgt}", or the user's own with {ref} and {tgt}. One template is drawn per
// triplet; a text too long for the text encoder falls back to p2, as SPN does.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace spn {

class ModificationTemplates {
 public:
  // `where` names the config key in errors: an unknown {placeholder}, or a text that
  // uses neither {ref} nor {tgt}.
  ModificationTemplates(const std::vector<std::string>& templates, const std::string& where);

  // Counts the tokens the text encoder would see.
  using TokenCount = std::function<int64_t(const std::string&)>;
  std::string compose(const std::string& reference_caption, const std::string& target_caption, std::mt19937_64& rng,
                      const TokenCount& tokens, int64_t max_tokens) const;

  // Each template's own words (captions left empty), e.g. "instead of".
  std::vector<std::string> fixed_texts() const;

 private:
  std::vector<std::string> templates_;
};

}  // namespace spn
