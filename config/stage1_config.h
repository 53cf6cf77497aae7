#pragma once
// [stage1]: joint training of both encoders with in-batch negatives gathered across ranks.
#include <cstdint>
#include <string>
#include <vector>

#include "config/choices.h"
#include "config/optimizer_config.h"

namespace spn {

class ConfigVisitor;

struct Stage1Config {
  int64_t epochs = 6;
  int64_t batch_size = 128;
  double lr = 2e-3;
  double weight_decay = 0.01;
  OptimizerConfig optimizer;
  bool shard_optimizer = false;
  double temperature = 0.07;
  bool learn_temperature = true;
  bool eval_every_epoch = false;
  std::string select_metric = "Avg";
  int64_t checkpoint_every = 100;
  int64_t log_every = 10;
  double grad_bucket_mb = 16;
  std::string init_checkpoint;
  std::string export_clip_dir;
  std::string export_mapper_weights;
  std::vector<NegativeType> negatives = {NegativeType::Target};
  double sprc_rtc_weight = 0.4;
  double sprc_align_weight = 0.4;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
