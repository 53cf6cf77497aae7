#pragma once
// [rtd]: RTD's text-only stage 1 (model.family = "rtd"; Byun et al., "Reducing Task
// Discrepancy of Text Encoders for Zero-Shot Composed Image Retrieval"): the text
// triplets it trains a copy of CLIP's text tower on, and its loss's two constants.
#include <string>

namespace spn {

class ConfigVisitor;

struct RtdConfig {
  std::string text_triplets;  // empty: derived from the built-in benchmark's triplets
  double noise_scale = 0.5;
  double temperature = 0.07;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
