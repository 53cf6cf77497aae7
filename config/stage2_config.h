#pragma once
// [stage2]: the query side trained against the frozen candidate bank, sharded across ranks.
#include <cstdint>
#include <string>

#include "config/choices.h"
#include "config/optimizer_config.h"

namespace spn {

class ConfigVisitor;

struct Stage2Config {
  bool enabled = false;
  int64_t epochs = 4;
  int64_t batch_size = 128;
  double lr = 5e-4;
  double weight_decay = 0.01;
  OptimizerConfig optimizer;
  bool shard_optimizer = false;
  double temperature = 0;
  int64_t chunk = 0;  // automatic_chunk_columns
  BankDtype bank_dtype = BankDtype::Float16;
  std::string bank_dir = "banks";
  BankMode bank_mode = BankMode::Sharded;
  ReferenceFeatures reference_features = ReferenceFeatures::Bank;
  TargetPositives positives = TargetPositives::Target;
  MultiPositive multi_positive = MultiPositive::LogSumExp;
  Stage2Negatives negatives = Stage2Negatives::Bank;
  int64_t negative_samples = 1000;
  bool ignore_reference = false;
  bool eval_every_epoch = true;
  // One of the evaluation protocol's metric names (checked against it when the config
  // is read: config/config_checks.h).
  std::string select_metric = "Avg";
  int64_t checkpoint_every = 100;
  int64_t log_every = 10;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
