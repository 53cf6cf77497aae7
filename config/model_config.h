#pragma once
// [model]: the model family, and for the dual encoder its encoders and CIR head, by
// registry name (models/registry.h); the zero-shot families' mapping network.
#include <cstdint>
#include <string>

#include "config/choices.h"

namespace spn {

class ConfigVisitor;

struct ModelConfig {
  std::string family = "dual_encoder";
  std::string image_encoder = "small_cnn";
  std::string text_encoder = "gru";
  std::string head = "combiner";
  int64_t embed_dim = 128;
  int64_t image_width = 32;
  int64_t text_width = 128;
  int64_t combiner_width = 256;
  int64_t combiner_hidden = 0;
  int64_t combiner_gate_hidden = 0;
  double combiner_dropout = 0;
  std::string clip_dir;
  std::string blip2_dir;
  int64_t mapper_hidden = 0;
  std::string mapper_weights;
  TruncationPolicy truncation = TruncationPolicy::kTruncate;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
