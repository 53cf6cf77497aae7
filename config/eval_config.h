#pragma once
// [eval]: evaluation after each stage, and test-server submission files.
#include <cstdint>
#include <string>

#include "config/choices.h"

namespace spn {

class ConfigVisitor;

struct EvalConfig {
  std::string split = "val";
  // 128 keeps a rank under 2 GB while it encodes a gallery at 288 px: (prefetch + 1)
  // chunks of pixels plus the float copies and activations of the one encoding (512
  // peaked at 3.7 GB per rank at CIRR's size; the README has the measurements).
  int64_t batch_size = 128;
  RemoveReference remove_reference = RemoveReference::Official;
  std::string submission_split;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
