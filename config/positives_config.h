#pragma once
// [positives]: SPN's positive scaling (de-duplication, captioning, pair mining, templates).
#include <cstdint>
#include <string>
#include <vector>

#include "config/choices.h"

namespace spn {

class ConfigVisitor;

// [positives.openai]: a multimodal model behind an OpenAI-compatible endpoint.
struct OpenAiCaptionerConfig {
  std::vector<std::string> urls = {"http://127.0.0.1:8080/v1/chat/completions"};
  std::string model = "llava";
  std::string prompt = "please briefly describe the {subject} in {k} words";
  std::string subject = "image";
  double temperature = 0;
  double timeout_s = 120;
  int64_t retries = 3;
  double backoff_s = 1;
  int64_t in_flight = 4;
  std::string api_key_env = "OPENAI_API_KEY";

  void visit(ConfigVisitor& v);
};

struct PositivesConfig {
  bool enabled = false;
  CaptionerKind captioner = CaptionerKind::Annotations;
  int64_t caption_words = 10;
  std::string encoder_checkpoint;
  bool warmup_encoder = false;
  bool initial_encoder = false;
  int64_t rank_lo = 10000;
  int64_t rank_hi = 15000;
  int64_t partners = 1;
  bool references_only = false;
  int64_t max_triplets = 0;
  std::vector<std::string> templates = {"p0", "p1", "p2"};
  int64_t annotated_repeats = 1;
  int64_t block_rows = 256;
  OpenAiCaptionerConfig openai;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
