#pragma once
// Modification texts for generated triplets, written from the two images' captions
// with SPN's templates: p0 "{tgt} instead of {ref}", p1 "Unlike {ref}, I want {tgt}",
// p2 "{tgt}", or the user's own with {ref} and {tgt}. A triplet gets one text per
// template, and training draws one of them each time it uses the triplet, as SPN4CIR's
// loaders do (random.choice over get_cir_data.py's list); a text too long for the text
// encoder falls back to p2, as SPN does.
// {ref_part} and {tgt_part} are a caption's clauses in part (some_clauses): the
// stand-in, when pre-training a CLIP on the built-in benchmark's descriptions, for web
// captions that name only some of an image's objects, in any order.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace spn {

// A random non-empty subset of `caption`'s clauses (the parts between ", "), in random
// order, joined with ", ": "a red circle at the top left, a small blue square in the
// center" may give "a small blue square in the center". A caption without ", " is
// returned whole. Draws from `rng` only.
std::string some_clauses(const std::string& caption, std::mt19937_64& rng);

class ModificationTemplates {
 public:
  // `where` names the config key in errors: an unknown {placeholder}, or a text that
  // uses none of {ref}, {tgt}, {ref_part}, {tgt_part}.
  ModificationTemplates(const std::vector<std::string>& templates, const std::string& where);

  // Counts the tokens the text encoder would see.
  using TokenCount = std::function<int64_t(const std::string&)>;
  // One text per template, in template order; only {ref_part} and {tgt_part} draw from `rng`.
  std::vector<std::string> compose_each(const std::string& reference_caption, const std::string& target_caption,
                                        std::mt19937_64& rng, const TokenCount& tokens, int64_t max_tokens) const;

  // Each template's own words (captions left empty), e.g. "instead of".
  std::vector<std::string> fixed_texts() const;

 private:
  std::vector<std::string> templates_;
};

}  // namespace spn
