#include "launcher/sweep.h"

#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/config_file.h"
#include "core/error.h"
#include "core/files.h"
#include "core/json_text.h"
#include "core/random.h"
#include "launcher/pipeline.h"
#include "launcher/sweep_manifest.h"
#include "track/run_contents.h"

namespace spn {
namespace {

using nlohmann::json;

// key = TOML value text, in order.
using Assignments = std::vector<std::pair<std::string, std::string>>;

[[noreturn]] void fail_at(const std::string& file, const toml::node& node, const std::string& message) {
  throw UserError(file + ":" + std::to_string(node.source().begin.line) + ": " + message);
}

// A value as TOML text, as --set takes it.
std::string toml_text(const toml::node& node) {
  std::ostringstream out;
  node.visit([&](const auto& value) { out << value; });
  return out.str();
}

std::string format_real(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  std::string result = text;
  if (result.find_first_of(".e") == std::string::npos) result += ".0";  // stays a TOML float
  return result;
}

SweepVariant variant_from(const Assignments& assignments) {
  SweepVariant variant;
  for (const auto& [key, value] : assignments) {
    variant.label += (variant.label.empty() ? "" : ", ") + key + "=" + value;
    variant.overrides.push_back(key + "=" + value);
  }
  return variant;
}

void expand_grid(const std::string& file, const toml::table& grid, std::vector<SweepVariant>& out) {
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  for (const auto& [key, node] : grid) {
    const toml::array* values = node.as_array();
    if (!values || values->empty())
      fail_at(file, node, "sweep.grid." + std::string(key.str()) + ": expected a non-empty array of values");
    std::vector<std::string> texts;
    for (const toml::node& value : *values) texts.push_back(toml_text(value));
    axes.emplace_back(std::string(key.str()), texts);
  }
  if (axes.empty()) return;
  std::vector<size_t> at(axes.size(), 0);
  while (true) {
    Assignments assignments;
    for (size_t a = 0; a < axes.size(); ++a) assignments.emplace_back(axes[a].first, axes[a].second[at[a]]);
    out.push_back(variant_from(assignments));
    size_t a = axes.size();  // odometer: the last key turns fastest
    while (a > 0 && ++at[a - 1] == axes[a - 1].second.size()) at[--a] = 0;
    if (a == 0) return;
  }
}

void expand_random(const std::string& file, const toml::table& random, std::vector<SweepVariant>& out) {
  const auto integer = [&](const char* key) {
    const toml::node* node = random.get(key);
    if (!node || !node->is_integer() || node->value<int64_t>().value() < 0)
      fail_at(file, node ? *node : static_cast<const toml::node&>(random),
              std::string("sweep.random.") + key + ": expected a non-negative integer");
    return *node->value<int64_t>();
  };
  const int64_t samples = integer("samples");
  std::mt19937_64 rng(static_cast<uint64_t>(integer("seed")));
  const toml::table* space = random.get_as<toml::table>("space");
  if (!space || space->empty()) fail_at(file, random, "sweep.random.space: expected a table of parameters");
  for (const auto& [key, node] : random) {
    const std::string name(key.str());
    if (name != "samples" && name != "seed" && name != "space")
      fail_at(file, node, "sweep.random." + name + ": unknown key (known: samples, seed, space)");
  }
  for (int64_t s = 0; s < samples; ++s) {
    Assignments assignments;
    for (const auto& [key, node] : *space) {
      const std::string where = "sweep.random.space." + std::string(key.str());
      if (const toml::array* choices = node.as_array()) {
        if (choices->empty()) fail_at(file, node, where + ": no choices");
        assignments.emplace_back(std::string(key.str()), toml_text(*choices->get(uniform_below(rng, choices->size()))));
        continue;
      }
      const toml::table* range = node.as_table();
      const auto bound = [&](const char* name) -> double {
        const toml::node* value = range ? range->get(name) : nullptr;
        if (!value || !value->is_number()) fail_at(file, node, where + ": expected choices [...] or {min, max, log}");
        return *value->value<double>();
      };
      const double lo = bound("min"), hi = bound("max");
      const bool log_scale = range->get("log") && range->get("log")->value<bool>().value_or(false);
      if (!(lo < hi) || (log_scale && lo <= 0)) fail_at(file, node, where + ": needs min < max (and min > 0 with log)");
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      const double value = log_scale ? std::exp(std::log(lo) + u * (std::log(hi) - std::log(lo))) : lo + u * (hi - lo);
      assignments.emplace_back(std::string(key.str()), format_real(value));
    }
    out.push_back(variant_from(assignments));
  }
}

Assignments table_assignments(const std::string& file, const toml::table& table, const std::string& where) {
  Assignments assignments;
  for (const auto& [key, node] : table) {
    if (node.is_table())
      fail_at(file, node, where + "." + std::string(key.str()) + ": use dotted keys (\"a.b\" = value)");
    assignments.emplace_back(std::string(key.str()), toml_text(node));
  }
  return assignments;
}

// Every rank's view of a variant's outcome: the first rank's error in rank order, or ""
// when every rank finished. Ranks that failed alike (a bad config, a bad input every
// rank read) all arrive here and the sweep goes on. A rank that failed alone finds its
// peers stuck in a collective of the run; it gives up waiting and ends the job.
std::string agreed_error(Communicator& comm, const std::string& error) {
  constexpr double kAgreementSeconds = 60;
  if (!comm.barrier_within(kAgreementSeconds)) {
    if (!error.empty()) throw UserError(error);
    throw std::runtime_error("another rank did not finish the variant; ending the job");
  }
  for (const std::string& seen : comm.all_gather_string(error))
    if (!seen.empty()) return seen;
  return "";
}

}  // namespace

bool is_sweep_file(const std::string& path) {
  if (!fs::exists(path)) return false;
  try {
    return toml::parse_file(path).contains("sweep");
  } catch (const toml::parse_error&) {
    return false;  // the experiment loader reports the syntax error
  }
}

SweepDefinition load_sweep(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    throw UserError(path + ":" + std::to_string(error.source().begin.line) + ": " + std::string(error.description()));
  }
  SweepDefinition sweep;
  sweep.file = path;
  for (const auto& [key, node] : root)
    if (key.str() != "sweep") fail_at(path, node, std::string(key.str()) + ": a sweep file holds only [sweep]");
  const toml::table& table = *root.get_as<toml::table>("sweep");
  const auto text = [&](const char* key, bool required) -> std::string {
    const toml::node* node = table.get(key);
    if (!node) {
      if (required) throw UserError(path + ": sweep." + key + ": missing");
      return "";
    }
    if (!node->is_string() || node->value<std::string>()->empty())
      fail_at(path, *node, std::string("sweep.") + key + ": expected a non-empty string");
    return *node->value<std::string>();
  };
  sweep.name = text("name", true);
  sweep.base = (fs::path(path).parent_path() / text("base", true)).lexically_normal().string();
  if (const std::string failure = text("on_failure", false); !failure.empty()) {
    if (failure != "continue" && failure != "stop")
      fail_at(path, *table.get("on_failure"), "sweep.on_failure: must be \"continue\" or \"stop\"");
    sweep.on_failure = failure;
  }
  const std::set<std::string> sections = {"fixed", "grid", "variants", "random"};
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const bool right_type = name == "variants" ? node.is_array_of_tables() : node.is_table();
    if (name == "name" || name == "base" || name == "on_failure" || name == "seeds" ||
        (sections.count(name) && right_type))
      continue;
    fail_at(path, node,
            "sweep." + name +
                ": unknown key or wrong type (known: name, base, on_failure, seeds, "
                "[sweep.fixed], [sweep.grid], [[sweep.variants]], [sweep.random])");
  }
  // Variants in a fixed order: the grid's, the explicit ones, the random samples.
  if (const toml::table* fixed = table.get_as<toml::table>("fixed"))
    sweep.fixed = variant_from(table_assignments(path, *fixed, "sweep.fixed")).overrides;
  if (const toml::table* grid = table.get_as<toml::table>("grid")) expand_grid(path, *grid, sweep.variants);
  if (const toml::array* variants = table.get_as<toml::array>("variants"))
    for (const toml::node& variant : *variants)
      sweep.variants.push_back(variant_from(table_assignments(path, *variant.as_table(), "sweep.variants")));
  if (const toml::table* random = table.get_as<toml::table>("random")) expand_random(path, *random, sweep.variants);
  if (sweep.variants.empty()) sweep.variants.push_back(SweepVariant{"base", {}});
  // seeds = [...] runs every variant once per seed, seeds turning fastest.
  if (const toml::node* seeds = table.get("seeds")) {
    const toml::array* values = seeds->as_array();
    if (!values || values->empty() || !values->is_homogeneous(toml::node_type::integer))
      fail_at(path, *seeds, "sweep.seeds: expected a non-empty array of integers");
    std::vector<SweepVariant> seeded;
    for (const SweepVariant& variant : sweep.variants)
      for (const toml::node& seed : *values) {
        Assignments assignments;
        for (const std::string& assignment : variant.overrides) {
          const size_t equals = assignment.find('=');
          assignments.emplace_back(assignment.substr(0, equals), assignment.substr(equals + 1));
        }
        assignments.emplace_back("seed", toml_text(seed));
        seeded.push_back(variant_from(assignments));
      }
    sweep.variants = std::move(seeded);
  }
  std::set<std::string> labels;
  for (const SweepVariant& variant : sweep.variants)
    if (!labels.insert(variant.label).second) throw UserError(path + ": variant '" + variant.label + "' appears twice");
  return sweep;
}

void run_sweep(Communicator& comm, const SweepDefinition& sweep, const CommandLine& command, bool retry_failed) {
  std::vector<std::string> common = sweep.fixed;
  common.insert(common.end(), command.overrides.begin(), command.overrides.end());
  const ExperimentConfig base = load_config(sweep.base, common);
  const fs::path dir = fs::path(base.runs_dir) / "sweeps" / sweep.name;

  // The manifest pins what the sweep is; a rerun of a changed sweep is refused.
  std::vector<std::string> variant_labels;
  for (const SweepVariant& variant : sweep.variants) variant_labels.push_back(variant.label);
  const json manifest = make_sweep_manifest(sweep.file, sweep.base, common, variant_labels, base);
  const fs::path manifest_path = dir / "manifest.json";
  const std::string recorded = broadcast_file_text(comm, manifest_path);
  if (!recorded.empty()) {
    const std::string change = sweep_manifest_change(json::parse(recorded), manifest);
    if (!change.empty())
      throw UserError(sweep.file + ": this sweep changed since " + dir.string() + " was started: " + change +
                      ". Give it a new [sweep] name, or remove that directory to start over");
    spdlog::info("sweep {}: resuming in {}", sweep.name, dir.string());
  } else {
    spdlog::info("sweep {}: {} variants in {}", sweep.name, sweep.variants.size(), dir.string());
  }
  // A new manifest, or one rewritten by a newer spn that knows more keys.
  if (comm.rank() == 0 && recorded != json_text(manifest, 2) + "\n")
    write_file_atomic(manifest_path, json_text(manifest, 2) + "\n");

  json table = json::array();
  for (const SweepVariant& variant : sweep.variants) {
    std::vector<std::string> overrides = common;
    overrides.insert(overrides.end(), variant.overrides.begin(), variant.overrides.end());
    const ExperimentConfig config = load_config(sweep.base, overrides);
    const fs::path run_dir =
        fs::path(config.runs_dir) / config.name / RunRecord::default_run_id(config_to_toml(config));
    table.push_back({{"variant", variant.label}, {"overrides", variant.overrides}, {"run", run_dir.string()}});
  }
  const auto write_table = [&] {
    if (comm.rank() == 0) write_file_atomic(dir / "runs.json", json_text(table, 2) + "\n");
  };
  for (size_t i = 0; i < sweep.variants.size(); ++i) {
    json& row = table[i];
    const fs::path run_dir = row["run"].get<std::string>();
    const std::string status = broadcast_string(comm, comm.rank() == 0 ? recorded_state(run_dir) : "", 0);
    if (status == "failed" && !retry_failed) {
      row["status"] = "failed";
      spdlog::warn("sweep {}: [{}/{}] {}: failed before; skipped (--retry-failed retries it)", sweep.name, i + 1,
                   sweep.variants.size(), row["variant"].get<std::string>());
      continue;
    }
    spdlog::info("sweep {}: [{}/{}] {}", sweep.name, i + 1, sweep.variants.size(), row["variant"].get<std::string>());
    row["status"] = "running";
    write_table();
    std::vector<std::string> overrides = common;
    overrides.insert(overrides.end(), sweep.variants[i].overrides.begin(), sweep.variants[i].overrides.end());
    CommandLine variant_command = command;
    variant_command.overrides = overrides;
    std::string error;
    try {
      run_experiment(comm, load_config(sweep.base, overrides), variant_command, "");
    } catch (const UserError& failure) {
      error = failure.what();
    }
    const std::string outcome_error = agreed_error(comm, error);
    if (!outcome_error.empty()) {
      row["status"] = "failed";
      row["error"] = outcome_error;
      write_table();
      spdlog::error("sweep {}: {} failed: {}", sweep.name, row["variant"].get<std::string>(), outcome_error);
      if (sweep.on_failure == "stop") throw UserError(outcome_error);
      continue;
    }
    row["status"] = "finished";
    write_table();
  }
  write_table();
  if (comm.rank() != 0) return;
  std::cout << "\nSweep " << sweep.name << " (" << dir.string() << "/runs.json):\n";
  for (const json& row : table)
    std::cout << "  " << row.value("status", "") << "  " << row["variant"].get<std::string>() << "  "
              << row["run"].get<std::string>() << "\n";
  std::cout << std::flush;
}

}  // namespace spn
