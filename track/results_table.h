#pragma once
// The results table a run prints at its end: one row per stage, the protocol's metrics
// as columns (config/protocol.h), from results.json.
#include <nlohmann/json.hpp>

#include <string>

namespace spn {

std::string format_results_table(const nlohmann::json& results, const std::string& split);

}  // namespace spn
