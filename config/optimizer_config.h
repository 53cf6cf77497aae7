#pragma once
// The AdamW hyper-parameters and learning-rate schedule a training stage shares with
// the others; their keys sit in the stage's section ([stage1], [stage2]) beside its lr
// and weight_decay. Defaults are PyTorch's AdamW and spn's warm-up + cosine.
#include "config/choices.h"

namespace spn {

class ConfigVisitor;

struct OptimizerConfig {
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  LrSchedule lr_schedule = LrSchedule::WarmupCosine;
  double onecycle_pct_start = 0.3;
  double onecycle_div_factor = 25;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
