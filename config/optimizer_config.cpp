#include "config/optimizer_config.h"

#include "config/visitor.h"

namespace spn {

void OptimizerConfig::visit(ConfigVisitor& v) {
  v.real("adam_beta1", adam_beta1, 0, 0.999999,
         "AdamW's beta1 (SPRC: 0.9; with lr_schedule = \"onecycle\" it cycles between 0.95 and 0.85 instead, as "
         "PyTorch's OneCycleLR does)");
  v.real("adam_beta2", adam_beta2, 0, 0.999999, "AdamW's beta2 (SPRC and Pic2Word: 0.98)");
  v.real("adam_eps", adam_eps, 1e-12, 1, "AdamW's epsilon (SPRC: 1e-7, Pic2Word: 1e-6)");
  v.choice("lr_schedule", lr_schedule,
           "\"warmup_cosine\": linear warm-up over the first 5% of steps, then cosine decay to 0; \"onecycle\": "
           "PyTorch's OneCycleLR (cosine from lr / onecycle_div_factor up to lr over onecycle_pct_start of the steps, "
           "then down to lr / onecycle_div_factor / 1e4, beta1 cycling 0.95 -> 0.85 -> 0.95), SPRC's; \"constant\": lr "
           "throughout");
  v.real("onecycle_pct_start", onecycle_pct_start, 1e-6, 1,
         "lr_schedule = \"onecycle\": the fraction of the steps spent rising (SPRC: 1.5 / epochs)");
  v.real("onecycle_div_factor", onecycle_div_factor, 1, 1e9,
         "lr_schedule = \"onecycle\": the first lr is lr / this (SPRC: 100)");
}

}  // namespace spn
