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
  // 128 keeps a rank under 2 GB while it encodes a gallery at 288 px: (prefetch + 1)
  // chunks of pixels plus the float copies and activations of the one encoding (512
  // peaked at 3.7 GB per rank at CIRR's size; the README has the measurements).
  int64_t batch_size = 128;
  RemoveReference remove_reference = RemoveReference::Official;
  std::string submission_split;
  EvalCirrConfig cirr;
  EvalFashionIqConfig fashioniq;
  EvalCircoConfig circo;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
