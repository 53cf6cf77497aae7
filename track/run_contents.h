#pragma once
// Reading a finished or running run directory back (see run_record.h for its layout):
// the pieces every exporter shares, so TensorBoard events, the MLflow export and the
// report name the same values the same way.
//   - a metrics.jsonl line gives one scalar per numeric field, tag "<stage>/<field>";
//     evaluation lines ({"split": "val", "metrics"|"eval": {...}}) give
//     "<stage>/<split>/<metric>", e.g. "stage2/val/R@1";
//   - results.json gives "results/<stage>/<key>/..." (artifact paths are not numbers);
//   - config.toml gives "section.key" values.
#include <toml++/toml.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace spn {

struct Scalar {
  std::string tag;
  double value;
};

// The scalars logged at one point of a run.
struct ScalarStep {
  double time;  // seconds since the epoch
  int64_t step;
  std::vector<Scalar> scalars;
};

// The file as JSON; null when it is absent or not JSON (a record still being written).
nlohmann::json read_json_file(const std::filesystem::path& path);

// status.json's state: "running", "finished", "failed", or "" when there is none.
std::string recorded_state(const std::filesystem::path& run_dir);

// A run found on disk, with the sweep variant it belongs to (if any).
struct FoundRun {
  std::filesystem::path dir;
  std::string sweep;                   // the sweep's name, "" for a run outside sweeps
  std::string variant;                 // the sweep variant's label
  std::vector<std::string> overrides;  // and its assignments, "key=TOML value"
};

// The runs of `dir`: the run itself (a directory holding config.toml), a sweep's runs
// in its order (a directory holding runs.json), or every run below a runs directory,
// labelled with their sweep variant when a sweep under it lists them. Sweep run paths
// are resolved against the sweep's runs directory (<runs_dir>/sweeps/<name>/), so a
// report can be made from any working directory.
std::vector<FoundRun> find_runs(const std::filesystem::path& dir);

// Seconds since the epoch of the file's last change; 0 when it is absent.
double file_time(const std::filesystem::path& path);

// metrics.jsonl's lines in order; a line cut short by a kill is skipped.
std::vector<nlohmann::json> read_metric_lines(const std::filesystem::path& run_dir);

// The scalars of one metrics line: every numeric field except step and time.
std::vector<Scalar> metric_line_scalars(const nlohmann::json& line);

// One step per metrics line, at the line's step (0 when it has none) and time (the
// file's time for lines logged before lines carried one).
std::vector<ScalarStep> logged_scalars(const std::filesystem::path& run_dir);

// results.json's numbers as "results/..." scalars, at results.json's time; no scalars
// when the run has no results yet.
ScalarStep result_scalars(const std::filesystem::path& run_dir);

// Calls `visit` with every value of a TOML table as "<prefix>section.key".
void visit_table(const toml::table& table, const std::string& prefix,
                 const std::function<void(const std::string& key, const toml::node& value)>& visit);

// Calls `visit` with every value of the run's config.toml as "section.key".
void for_each_config_value(const std::filesystem::path& run_dir,
                           const std::function<void(const std::string& key, const toml::node& value)>& visit);

// A config value as the text a reader expects: strings bare, the rest as TOML.
std::string config_value_text(const toml::node& value);

}  // namespace spn
