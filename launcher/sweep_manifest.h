#pragma once
// A sweep's manifest.json pins what the sweep is, so a rerun of a changed sweep is
// refused, naming the change. It records what the user set (the base file, the
// overrides every variant shares, the variants) and the base experiment's resolved
// value of every key. A newer spn may know keys the manifest lacks: such a key at its
// default is no change (the sweep resumes and the manifest is rewritten); a key the
// manifest has and this spn no longer knows is ignored.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "config/experiment_config.h"

namespace spn {

nlohmann::json make_sweep_manifest(const std::string& sweep_file, const std::string& base_file,
                                   const std::vector<std::string>& shared_overrides,
                                   const std::vector<std::string>& variant_labels, const ExperimentConfig& base);

// "" when `now` is the same sweep as `previous`, else what changed ("added variant 'x'",
// "stage1.lr: 0.001 in the manifest, now 0.002", ...).
std::string sweep_manifest_change(const nlohmann::json& previous, const nlohmann::json& now);

}  // namespace spn
