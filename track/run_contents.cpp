#include "track/run_contents.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void flatten_numbers(const json& value, const std::string& tag, std::vector<Scalar>& out) {
  if (value.is_number())
    out.push_back({tag, value.get<double>()});
  else if (value.is_object())
    for (const auto& [key, inner] : value.items()) flatten_numbers(inner, tag + "/" + key, out);
}

}  // namespace

void visit_table(const toml::table& table, const std::string& prefix,
                 const std::function<void(const std::string&, const toml::node&)>& visit) {
  for (const auto& [key, node] : table) {
    const std::string name = prefix + std::string(key.str());
    if (const toml::table* inner = node.as_table())
      visit_table(*inner, name + ".", visit);
    else
      visit(name, node);
  }
}

json read_json_file(const fs::path& path) {
  if (!fs::exists(path)) return json();
  json value = json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? json() : value;
}

std::string recorded_state(const fs::path& run_dir) {
  const json status = read_json_file(run_dir / "status.json");
  return status.is_object() ? status.value("state", "") : "";
}

namespace {

bool is_run_dir(const fs::path& dir) { return fs::exists(dir / "config.toml") && fs::exists(dir / "status.json"); }

// A sweep's runs.json names run directories as the launcher saw them (relative to its
// working directory); they lie in <runs_dir>/<name>/<id>, and the sweep in
// <runs_dir>/sweeps/<sweep>.
std::vector<FoundRun> sweep_runs(const fs::path& sweep_dir) {
  const json table = read_json_file(sweep_dir / "runs.json");
  if (!table.is_array()) throw UserError((sweep_dir / "runs.json").string() + ": not a sweep's runs table");
  const fs::path runs_root = sweep_dir.parent_path().parent_path();
  std::vector<FoundRun> runs;
  for (const json& row : table) {
    const fs::path recorded = row.value("run", "");
    const fs::path dir = runs_root / recorded.parent_path().filename() / recorded.filename();
    runs.push_back({dir, sweep_dir.filename().string(), row.value("variant", ""),
                    row.value("overrides", std::vector<std::string>{})});
  }
  return runs;
}

}  // namespace

std::vector<FoundRun> find_runs(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw UserError(dir.string() + ": no such directory");
  if (fs::exists(dir / "runs.json")) return sweep_runs(dir);
  if (is_run_dir(dir)) return {FoundRun{dir, "", "", {}}};
  std::map<fs::path, FoundRun> labelled;
  if (fs::is_directory(dir / "sweeps"))
    for (const auto& sweep : fs::directory_iterator(dir / "sweeps"))
      if (fs::exists(sweep.path() / "runs.json"))
        for (const FoundRun& run : sweep_runs(sweep.path())) labelled[run.dir.lexically_normal()] = run;
  std::vector<FoundRun> runs;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory() || !is_run_dir(entry.path())) continue;
    const fs::path run = entry.path().lexically_normal();
    runs.push_back(labelled.count(run) ? labelled[run] : FoundRun{run, "", "", {}});
  }
  std::sort(runs.begin(), runs.end(), [](const FoundRun& a, const FoundRun& b) { return a.dir < b.dir; });
  if (runs.empty())
    throw UserError(dir.string() + ": no runs here (a run directory holds config.toml and status.json)");
  return runs;
}

double file_time(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return static_cast<double>(info.st_mtim.tv_sec) + 1e-9 * static_cast<double>(info.st_mtim.tv_nsec);
}

std::vector<json> read_metric_lines(const fs::path& run_dir) {
  std::vector<json> lines;
  const fs::path path = run_dir / "metrics.jsonl";
  if (!fs::exists(path)) return lines;
  std::istringstream in(read_file(path));
  for (std::string text; std::getline(in, text);) {
    json line = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (line.is_object()) lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<Scalar> metric_line_scalars(const json& line) {
  const std::string stage = line.value("stage", "metrics");
  const std::string split = line.value("split", "");
  std::vector<Scalar> scalars;
  for (const auto& [key, value] : line.items()) {
    if (key == "step" || key == "time") continue;
    const bool evaluation = value.is_object() && !split.empty();
    flatten_numbers(value, stage + "/" + (evaluation ? split : key), scalars);
  }
  return scalars;
}

std::vector<ScalarStep> logged_scalars(const fs::path& run_dir) {
  const double fallback_time = file_time(run_dir / "metrics.jsonl");
  std::vector<ScalarStep> steps;
  for (const json& line : read_metric_lines(run_dir))
    steps.push_back({line.value("time", fallback_time), line.value("step", int64_t{0}), metric_line_scalars(line)});
  return steps;
}

ScalarStep result_scalars(const fs::path& run_dir) {
  const fs::path path = run_dir / "results.json";
  ScalarStep step{file_time(path), 0, {}};
  const json results = read_json_file(path);
  if (results.is_object())
    for (const auto& [stage, value] : results.items())
      if (stage != "artifacts") flatten_numbers(value, "results/" + stage, step.scalars);
  return step;
}

void for_each_config_value(const fs::path& run_dir,
                           const std::function<void(const std::string&, const toml::node&)>& visit) {
  const fs::path path = run_dir / "config.toml";
  if (fs::exists(path)) visit_table(toml::parse_file(path.string()), "", visit);
}

std::string config_value_text(const toml::node& value) {
  if (value.is_string()) return *value.value<std::string>();
  std::ostringstream text;
  value.visit([&](const auto& item) { text << item; });
  return text.str();
}

}  // namespace spn
