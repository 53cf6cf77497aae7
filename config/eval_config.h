#pragma once
// [eval]: evaluation after each stage, and test-server submission files.
#include <cstdint>
#include <string>
#include <vector>

#include "config/choices.h"

namespace spn {

class ConfigVisitor;

// [eval.cirr]: CIRR evaluated besides (or instead of) [data].
struct EvalCirrConfig {
  std::string root = "datasets/cirr";
  std::string split = "val";
  std::string submission_split;

  void visit(ConfigVisitor& v);
};

// [eval.fashioniq]: FashionIQ evaluated besides (or instead of) [data]; its categories,
// caption join and image extension are [data.fashioniq]'s.
struct EvalFashionIqConfig {
  std::string root = "datasets/fashioniq";
  std::string split = "val";

  void visit(ConfigVisitor& v);
};

// [eval.circo]: CIRCO, or the built-in benchmark's CIRCO-style split.
struct EvalCircoConfig {
  CircoSource source = CircoSource::Files;
  std::string root = "datasets/circo";
  std::string split = "val";
  std::string submission_split;
  int64_t queries = 200;

  void visit(ConfigVisitor& v);
};

struct EvalConfig {
  std::vector<EvalDataset> datasets = {EvalDataset::Data};
  std::string split = "val";
  int64_t batch_size = 512;
  RemoveReference remove_reference = RemoveReference::Official;
  std::string submission_split;
  EvalCirrConfig cirr;
  EvalFashionIqConfig fashioniq;
  EvalCircoConfig circo;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
