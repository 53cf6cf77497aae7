#pragma once
// Rules that involve more than one key, checked when a config is loaded, so a run that
// cannot work stops before it starts (exit 2, naming the key and its place).
#include "config/experiment_config.h"

namespace spn {

void check_config(const ExperimentConfig& config);

}  // namespace spn
