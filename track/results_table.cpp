#include "track/results_table.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "config/protocol.h"

namespace spn {

std::string format_results_table(const nlohmann::json& results, const std::string& split) {
  std::vector<std::string> recorded;
  for (const auto& [stage, splits] : results.items()) {
    if (recorded.empty() && splits.is_object() && splits.contains(split) && splits[split].is_object())
      for (const auto& [name, value] : splits[split].items()) recorded.push_back(name);
  }
  const std::vector<std::string> keys = metric_columns(recorded);
  const int width =
      std::any_of(keys.begin(), keys.end(), [](const std::string& key) { return key.size() > 9; }) ? 12 : 10;
  std::string table = "stage   ";
  for (const auto& key : keys) {
    char cell[32];
    std::snprintf(cell, sizeof cell, "%*s", width, key.c_str());
    table += cell;
  }
  table += "\n";
  for (const auto& [stage, splits] : results.items()) {
    if (!splits.is_object() || !splits.contains(split)) continue;
    char head[16];
    std::snprintf(head, sizeof head, "%-8s", stage.c_str());
    table += head;
    for (const auto& key : keys) {
      char cell[32];
      std::snprintf(cell, sizeof cell, "%*.2f", width, splits[split].value(key, 0.0));
      table += cell;
    }
    table += "\n";
  }
  return table;
}

}  // namespace spn
