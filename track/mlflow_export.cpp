#include "track/mlflow_export.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "track/run_contents.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int64_t milliseconds(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000.0)); }

std::string metric_text(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

// One run: meta.yaml, params, tags and metric histories.
int export_run(const FoundRun& run, const std::string& experiment_id, const fs::path& experiment_dir) {
  const std::string run_name = run.dir.parent_path().filename().string() + "/" + run.dir.filename().string();
  const std::string uuid = hex64(fnv1a(run_name)) + hex64(fnv1a(run_name, fnv1a("mlflow run uuid")));
  const fs::path dir = experiment_dir / uuid;

  const std::vector<ScalarStep> logged = logged_scalars(run.dir);
  const std::string state = recorded_state(run.dir);
  const double start = logged.empty() ? file_time(run.dir / "config.toml") : logged.front().time;
  json meta = {{"artifact_uri", "file://" + fs::absolute(dir / "artifacts").string()},
               {"entry_point_name", ""},
               {"experiment_id", experiment_id},
               {"lifecycle_stage", "active"},
               {"run_id", uuid},
               {"run_uuid", uuid},
               {"run_name", run.variant.empty() ? run_name : run.variant},
               {"source_name", ""},
               {"source_type", 4},  // LOCAL
               {"source_version", ""},
               {"start_time", milliseconds(start)},
               {"status", state == "finished"    ? "FINISHED"
                          : state == "failed"    ? "FAILED"
                          : state == "preempted" ? "KILLED"  // stopped by a signal, resumable
                                                 : "RUNNING"},
               {"tags", json::array()},
               {"user_id", "spn"}};
  if (state == "finished" || state == "failed") meta["end_time"] = milliseconds(file_time(run.dir / "status.json"));
  write_file_atomic(dir / "meta.yaml", meta.dump(2) + "\n");

  for_each_config_value(run.dir, [&](const std::string& key, const toml::node& value) {
    write_file_atomic(dir / "params" / key, config_value_text(value));
  });
  std::map<std::string, std::string> tags = {{"mlflow.runName", meta["run_name"]},
                                             {"spn.run_dir", fs::absolute(run.dir).lexically_normal().string()}};
  if (!run.sweep.empty()) {
    tags["spn.sweep"] = run.sweep;
    tags["spn.variant"] = run.variant;
  }
  if (const json git = read_json_file(run.dir / "git.json"); git.is_object() && git.contains("commit"))
    tags["mlflow.source.git.commit"] = git["commit"].get<std::string>();
  for (const auto& [key, value] : tags) write_file_atomic(dir / "tags" / key, value);

  // MLflow keeps a point once per (time, step, value): a line logged twice (records
  // without times, or a stage's last line repeated) is exported once.
  std::map<std::string, std::string> histories;
  std::set<std::string> seen;
  int points = 0;
  const auto add = [&](const ScalarStep& step) {
    for (const Scalar& scalar : step.scalars) {
      const std::string point =
          std::to_string(milliseconds(step.time)) + " " + metric_text(scalar.value) + " " + std::to_string(step.step);
      if (!seen.insert(scalar.tag + " " + point).second) continue;
      histories[scalar.tag] += point + "\n";
      ++points;
    }
  };
  for (const ScalarStep& step : logged) add(step);
  add(result_scalars(run.dir));
  for (const auto& [tag, lines] : histories) write_file_atomic(dir / "metrics" / tag, lines);
  return points;
}

}  // namespace

MlflowExportSummary export_mlflow(const fs::path& source, const fs::path& target) {
  if (fs::exists(target))
    throw UserError(target.string() +
                    ": already exists; the export writes a new directory (remove it or name another)");
  const std::vector<FoundRun> runs = find_runs(source);
  const fs::path staging = temporary_path_for(target);
  fs::remove_all(staging);

  // Experiments by spn experiment name, numbered from 1 in name order.
  std::map<std::string, std::vector<const FoundRun*>> by_name;
  for (const FoundRun& run : runs) by_name[run.dir.parent_path().filename().string()].push_back(&run);
  MlflowExportSummary summary;
  for (const auto& [name, members] : by_name) {
    const std::string id = std::to_string(++summary.experiments);
    const fs::path dir = staging / id;
    const int64_t now = milliseconds(file_time(members.front()->dir / "config.toml"));
    const json meta = {{"artifact_location", "file://" + fs::absolute(target / id).string()},
                       {"creation_time", now},
                       {"experiment_id", id},
                       {"last_update_time", now},
                       {"lifecycle_stage", "active"},
                       {"name", name}};
    write_file_atomic(dir / "meta.yaml", meta.dump(2) + "\n");
    for (const FoundRun* run : members) {
      summary.metric_points += export_run(*run, id, dir);
      ++summary.runs;
    }
  }
  commit_temporary(staging, target);
  return summary;
}

}  // namespace spn
