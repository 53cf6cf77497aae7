#pragma once
// [eval]: evaluation after each stage, and test-server submission files.
#include <cstdint>
#include <string>

#include "config/choices.h"

namespace spn {

class ConfigVisitor;

struct EvalConfig {
  std::string split = "val";
  int64_t batch_size = 512;
  RemoveReference remove_reference = RemoveReference::Official;
  std::string submission_split;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
