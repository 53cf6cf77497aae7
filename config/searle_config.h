#pragma once
// [searle]: SEARLE's training of φ (model.family = "searle"; miccunifi/SEARLE): an OTI
// pre-pass inverts every training image into a pseudo word (train/searle_oti.h), then
// stage 1 distils φ from those words (train/searle_stage1.h). Defaults are SEARLE's
// recipe; the concept vocabulary and the phrases are spn's stand-ins for SEARLE's class
// names and GPT-Neo phrases (train/searle_concepts.h). With query_words = "oti"
// (SEARLE-OTI) nothing trains: the same OTI inverts each evaluated split's reference
// images at test time (train/searle_oti_queries.h).
#include <cstdint>
#include <string>

#include "config/choices.h"

namespace spn {

class ConfigVisitor;

struct SearleConfig {
  int64_t oti_steps = 350;
  int64_t oti_batch_size = 32;
  double oti_lr = 2e-2;
  double oti_weight_decay = 0.01;
  double oti_ema_decay = 0.99;
  double oti_gpt_weight = 0.5;
  std::string concepts;              // a text file, one concept a line; "" = the built-in benchmark's
  int64_t top_k_concepts = 15;       // OTI's phrases
  int64_t phi_top_k_concepts = 150;  // φ training's phrases
  double temperature = 0.25;
  double distil_weight = 1.0;
  double gpt_weight = 0.75;
  double phi_dropout = 0.5;
  SearleQueryWords query_words = SearleQueryWords::Phi;  // SEARLE (phi) or SEARLE-OTI (oti)

  void visit(ConfigVisitor& v);
};

}  // namespace spn
