#include "track/run_record.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <sstream>

#include "core/clock.h"
#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/json_text.h"
#include "track/git_info.h"
#include "track/run_contents.h"
#include "track/run_inputs.h"
#include "track/tensorboard_events.h"

namespace spn {
namespace {

nlohmann::json read_json_or(const fs::path& path, nlohmann::json fallback) {
  nlohmann::json value = read_json_file(path);
  return value.is_null() ? fallback : value;
}

// One writer per run directory: two commands writing one run would log every metric
// twice and interleave their logs and checkpoints.
FileLock lock_run_directory(const fs::path& dir) {
  std::optional<FileLock> lock = FileLock::try_take(dir / "lock");
  if (lock) return std::move(*lock);
  const std::string holder = FileLock::holder(dir / "lock");
  throw UserError(dir.string() + ": another spn-launch is running in this run directory (" +
                  (holder.empty() ? "host and pid unknown" : holder) +
                  "); wait for it to end, or choose another --run-id");
}

}  // namespace

std::string RunRecord::default_run_id(const std::string& resolved_toml) {
  return hex64(fnv1a(resolved_toml)).substr(0, 12);
}

RunRecord::RunRecord(Communicator& comm, const ExperimentConfig& config, const std::string& resolved_toml,
                     const std::string& run_id)
    : comm_(comm), dir_(fs::path(config.runs_dir) / config.name / run_id), resolved_toml_(resolved_toml) {
  const std::string recorded = broadcast_file_text(comm, dir_ / "config.toml");
  if (!recorded.empty() && recorded != resolved_toml)
    throw UserError(dir_.string() +
                    ": this run directory holds a run of a different config (see its config.toml); "
                    "choose another --run-id");
  run_on_rank0(comm, [&] {
    make_directories(dir_ / "logs");
    make_directories(dir_ / "done");
    make_directories(checkpoints_dir());
    lock_ = lock_run_directory(dir_);
    // This command is the directory's one writer now: what a killed writer left
    // half-done is removed or repaired before anything reads it.
    if (const int removed = remove_stale_temporaries(dir_))
      spdlog::info("{}: removed {} temporary file(s) a killed run left", dir_.string(), removed);
    repair_metrics();
  });
  if (writer()) previous_status_ = read_json_file(dir_ / "status.json");
  recorded_status_ = broadcast_string(comm, writer() ? recorded_state(dir_) : "", 0);
  check_inputs(config);
}

void RunRecord::check_inputs(const ExperimentConfig& config) {
  std::string change;
  run_on_rank0(comm_, [&] {
    const fs::path path = dir_ / "inputs.json";
    const auto started = std::chrono::steady_clock::now();
    const nlohmann::json now = fingerprint_inputs(config);
    if (!now.empty())
      spdlog::info("inputs: {} path(s) the config names hashed in {:.1f} s", now.size(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    // A run made before inputs.json existed has none, and cannot be checked.
    if (recorded_status_.empty())
      write_file_atomic(path, json_text(now, 2) + "\n");
    else if (fs::exists(path))
      change = describe_input_change(read_json_file(path), now);
  });
  change = broadcast_string(comm_, change, 0);
  if (!change.empty())
    throw UserError(dir_.string() + ": " + change + "; its results would not be this command's: choose another " +
                    "--run-id, or restore the file");
}

void RunRecord::write_records(const CommandLine& command, const nlohmann::json& environment,
                              const nlohmann::json& seeds) {
  if (!writer()) return;
  write_file_atomic(dir_ / "config.toml", resolved_toml_);
  const GitInfo git = read_git_info(SPN_SOURCE_DIR);
  nlohmann::json command_json = {{"argv", command.argv},
                                 {"config_file", command.config_file},
                                 {"overrides", command.overrides},
                                 {"started", utc_now()}};
  // Each attempt (first run and every resume) is kept.
  nlohmann::json attempts = read_json_or(dir_ / "command.json", nlohmann::json::array());
  if (!attempts.is_array()) attempts = nlohmann::json::array();
  // A run recorded as "running" whose lock this command could take: its process is gone
  // without a word (kill -9, a node lost, the scheduler's SIGKILL).
  if (recorded_status_ == "running" && !attempts.empty() && !attempts.back().contains("outcome")) {
    const nlohmann::json heartbeat =
        previous_status_.is_object() ? previous_status_.value("heartbeat", nlohmann::json()) : nlohmann::json();
    attempts.back()["outcome"] = "killed";
    attempts.back()["last_heartbeat"] = heartbeat;
    spdlog::warn("{}: the previous attempt was killed; its last heartbeat: {}", dir_.string(),
                 heartbeat.is_null() ? "none" : json_text(heartbeat));
  }
  attempts.push_back(command_json);
  write_file_atomic(dir_ / "command.json", json_text(attempts, 2) + "\n");
  write_file_atomic(
      dir_ / "git.json",
      json_text({{"commit", git.commit}, {"dirty", git.dirty}, {"source_dir", SPN_SOURCE_DIR}}, 2) + "\n");
  if (git.dirty) write_file_atomic(dir_ / "git.diff", git.diff);
  write_file_atomic(dir_ / "environment.json", json_text(environment, 2) + "\n");
  processes_ = nlohmann::json::array();
  for (size_t rank = 0; rank < environment.value("hosts", nlohmann::json::array()).size(); ++rank)
    processes_.push_back({{"rank", rank}, {"host", environment["hosts"][rank]}, {"pid", environment["pids"][rank]}});
  write_file_atomic(dir_ / "seeds.json", json_text(seeds, 2) + "\n");
  rebuild_tensorboard_events(dir_);  // also ends a record a kill cut short
}

void RunRecord::set_status(const std::string& state, const std::string& error) {
  nlohmann::json status = {{"state", state}, {"updated", utc_now()}};
  if (!error.empty()) status["error"] = error;
  if (!heartbeat_.is_null()) status["heartbeat"] = heartbeat_;
  if (!processes_.empty()) status["processes"] = processes_;
  write_file_atomic(dir_ / "status.json", json_text(status, 2) + "\n");
  if (state != "running") record_outcome(state);
  rebuild_tensorboard_events(dir_);  // the final results and the session's end
}

void RunRecord::record_outcome(const std::string& state) {
  nlohmann::json attempts = read_json_or(dir_ / "command.json", nlohmann::json::array());
  if (!attempts.is_array() || attempts.empty()) return;
  attempts.back()["outcome"] = state;
  attempts.back()["ended"] = utc_now();
  write_file_atomic(dir_ / "command.json", json_text(attempts, 2) + "\n");
}

void RunRecord::record_failure(const std::string& error) noexcept {
  try {
    set_status("failed", error);
  } catch (const std::exception& record_error) {
    spdlog::warn("{}: could not record the failure: {}", dir_.string(), record_error.what());
  }
}

void RunRecord::log_metrics(const nlohmann::json& line) {
  if (!writer()) return;
  nlohmann::json timed = line;
  timed["time"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  append_line(dir_ / "metrics.jsonl", json_text(timed));
  append_tensorboard_scalars(dir_, timed);
  // The heartbeat a reader of status.json uses to tell a live run from a dead one.
  heartbeat_ = {{"time", utc_now()}, {"stage", line.value("stage", "")}};
  if (line.contains("step")) heartbeat_["step"] = line["step"];
  write_file_atomic(
      dir_ / "status.json",
      json_text(
          {{"state", "running"}, {"updated", heartbeat_["time"]}, {"heartbeat", heartbeat_}, {"processes", processes_}},
          2) +
          "\n");
}

void RunRecord::drop_metrics_after(Stage stage, int64_t step) {
  if (!writer()) return;
  rewrite_metrics([&](const nlohmann::json& entry) {
    return entry.value("stage", "") == stage_name(stage) && entry.contains("step") &&
           entry.value("step", int64_t{0}) > step;
  });
}

void RunRecord::drop_evaluation_lines(Stage stage, const std::string& split) {
  if (!writer()) return;
  rewrite_metrics([&](const nlohmann::json& entry) {
    return entry.value("stage", "") == stage_name(stage) && entry.value("split", "") == split &&
           entry.contains("metrics");
  });
}

void RunRecord::repair_metrics() {
  rewrite_metrics([](const nlohmann::json&) { return false; });
}

void RunRecord::rewrite_metrics(const std::function<bool(const nlohmann::json&)>& drop) {
  const fs::path path = dir_ / "metrics.jsonl";
  if (!fs::exists(path)) return;
  const std::string before = read_file(path);
  std::istringstream in(before);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    try {
      if (drop(nlohmann::json::parse(line))) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut short by a kill or a full disk
    }
    kept += line + "\n";
  }
  if (kept == before) return;
  write_file_atomic(path, kept);
  rebuild_tensorboard_events(dir_);
}

bool RunRecord::stage_done(Stage stage) const { return rank0_sees(comm_, dir_ / "done" / stage_name(stage)); }

void RunRecord::mark_stage_done(Stage stage) {
  if (writer())
    write_file_atomic(dir_ / "done" / stage_name(stage), nlohmann::json{{"finished", utc_now()}}.dump() + "\n");
  comm_.barrier();
}

void RunRecord::update_results(const std::function<void(nlohmann::json&)>& change) {
  if (!writer()) return;
  nlohmann::json results = this->results();
  change(results);
  write_file_atomic(dir_ / "results.json", json_text(results, 2) + "\n");
}

void RunRecord::record_result(Stage stage, const std::string& key, const nlohmann::json& value) {
  update_results([&](nlohmann::json& results) { results[stage_name(stage)][key] = value; });
}

void RunRecord::record_artifact(const std::string& name, const fs::path& path) {
  update_results([&](nlohmann::json& results) { results["artifacts"][name] = path.string(); });
}

nlohmann::json RunRecord::results() const { return read_json_or(dir_ / "results.json", nlohmann::json::object()); }

}  // namespace spn
