#include "launcher/sweep_manifest.h"

#include <toml++/toml.h>

#include <map>
#include <set>

#include "config/config_file.h"
#include "core/hash.h"
#include "core/json_text.h"
#include "track/run_contents.h"

namespace spn {
namespace {

using nlohmann::json;

// "section.key" -> value text of every key of a config.
std::map<std::string, std::string> resolved_values(const ExperimentConfig& config) {
  std::map<std::string, std::string> values;
  visit_table(toml::parse(config_to_toml(config)), "",
              [&](const std::string& key, const toml::node& value) { values[key] = config_value_text(value); });
  return values;
}

void add_change(std::string& changes, const std::string& change) { changes += (changes.empty() ? "" : "; ") + change; }

std::string variant_changes(const json& previous, const json& now) {
  std::string changes;
  std::set<std::string> before, after;
  for (const auto& label : previous.value("variants", json::array())) before.insert(label.get<std::string>());
  for (const auto& label : now.at("variants")) after.insert(label.get<std::string>());
  for (const auto& label : after)
    if (!before.count(label)) add_change(changes, "added variant '" + label + "'");
  for (const auto& label : before)
    if (!after.count(label)) add_change(changes, "removed variant '" + label + "'");
  if (changes.empty() && previous.value("variants", json::array()) != now.at("variants"))
    add_change(changes, "the variants are in another order");
  return changes;
}

std::string resolved_changes(const json& previous, const json& now) {
  // A manifest of an spn before resolved values were recorded has only a hash of them.
  if (!previous.contains("resolved"))
    return previous.value("base_config_fingerprint", "") == now.at("base_config_fingerprint")
               ? ""
               : "the base experiment or [sweep.fixed] / --set resolve to another config";
  const std::map<std::string, std::string> defaults = resolved_values(ExperimentConfig{});
  std::string changes;
  for (const auto& [key, value] : now.at("resolved").items()) {
    const std::string text = value.get<std::string>();
    if (previous["resolved"].contains(key)) {
      const std::string recorded = previous["resolved"][key].get<std::string>();
      if (recorded != text) add_change(changes, key + ": " + recorded + " in the manifest, now " + text);
    } else if (!defaults.count(key) || defaults.at(key) != text) {
      add_change(changes, key + " = " + text + " (the manifest predates this key; only its default is no change)");
    }
  }
  return changes;
}

}  // namespace

json make_sweep_manifest(const std::string& sweep_file, const std::string& base_file,
                         const std::vector<std::string>& shared_overrides,
                         const std::vector<std::string>& variant_labels, const ExperimentConfig& base) {
  json resolved = json::object();
  for (const auto& [key, value] : resolved_values(base)) resolved[key] = value;
  const std::string base_fingerprint = hex64(fnv1a(config_to_toml(base)));
  return {{"sweep_file", sweep_file},
          {"base", base_file},
          {"overrides", shared_overrides},
          {"variants", variant_labels},
          {"resolved", resolved},
          {"base_config_fingerprint", base_fingerprint},
          {"fingerprint", hex64(fnv1a(base_fingerprint + json_text(variant_labels)))}};
}

std::string sweep_manifest_change(const json& previous, const json& now) {
  if (previous.value("fingerprint", "") == now.at("fingerprint")) return "";
  std::string changes = variant_changes(previous, now);
  if (previous.contains("overrides") && previous["overrides"] != now.at("overrides"))
    add_change(changes, "[sweep.fixed] / --set were " + json_text(previous["overrides"]) + ", now " +
                            json_text(now.at("overrides")));
  const std::string resolved = resolved_changes(previous, now);
  if (!resolved.empty()) add_change(changes, resolved);
  return changes;
}

}  // namespace spn
