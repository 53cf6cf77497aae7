#pragma once
// A run directory, runs/<experiment>/<run-id>/, the reproducible record of one run:
//   config.toml       the resolved config          command.json  each attempt: argv, --set
//                                                                overrides, its outcome
//                                                                (finished, failed,
//                                                                preempted or killed)
//   git.json, git.diff source commit and changes   environment.json hosts, ranks, threads, versions
//   seeds.json        every seed in use            metrics.jsonl one JSON object per logged step
//   status.json       running / finished / failed (with the error) / preempted, the
//                     heartbeat (time, stage, step of the last metrics line) and the
//                     ranks' hosts and pids
//   heartbeats/       rank-N.json: each rank's last progress (launcher/watchdog.h)
//   lock              the running command's lock (core/file_lock.h), naming its host and pid
//   results.json      final metrics per stage and split, artifact paths
//   logs/rank-N.log   one log per rank             checkpoints/  stage checkpoints
//   done/<stage>      completion marker per pipeline stage (a rerun skips finished stages)
//   inputs.json       fingerprints of the files the config names (weights, checkpoints;
//                     track/run_inputs.h), checked by every later command on the run
// Rank 0 writes the shared records; every file is written atomically.
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "core/file_lock.h"
#include "dist/communicator.h"
#include "track/stage.h"

namespace spn {

struct CommandLine {
  std::vector<std::string> argv;
  std::string config_file;
  std::vector<std::string> overrides;
  // --stop-signals and --watchdog: how this command meets a scheduler's warning and a
  // rank that stopped answering. Not part of a run's identity: a resume may change them.
  std::vector<int> stop_signals = {SIGTERM, SIGUSR1};
  double watchdog_seconds = 600;
};

class RunRecord {
 public:
  // The run directory for this config: <runs_dir>/<name>/<run_id>. The default run id
  // is a hash of the resolved config, so rerunning the same command finds the same run
  // (and resumes it, or prints its results). Refuses a directory whose config.toml
  // differs from `resolved_toml`, one whose input files changed since it started
  // (inputs.json), and one that another spn-launch is writing: rank 0 holds <dir>/lock
  // for the record's life (UserError naming the holder's host and pid).
  RunRecord(Communicator& comm, const ExperimentConfig& config, const std::string& resolved_toml,
            const std::string& run_id);

  static std::string default_run_id(const std::string& resolved_toml);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path checkpoints_dir() const { return dir_ / "checkpoints"; }
  bool writer() const { return comm_.rank() == 0; }

  // "" for a new run, else the state recorded when this record was opened ("running",
  // "finished", "failed"), as rank 0 read it.
  const std::string& recorded_status() const { return recorded_status_; }
  void write_records(const CommandLine& command, const nlohmann::json& environment, const nlohmann::json& seeds);
  // Rank 0 writes "running", "finished" and "preempted"; a state other than "running"
  // is also this attempt's outcome in command.json.
  void set_status(const std::string& state, const std::string& error = "");
  // The failing rank writes "failed" and its error itself before the job ends. Never
  // throws: a record that cannot be written (a full disk, say) is logged, so the run's
  // own error is the one reported.
  void record_failure(const std::string& error) noexcept;

  // Appends a metrics line and beats the heartbeat in status.json.
  void log_metrics(const nlohmann::json& line);
  // Drops metric lines of `stage` after `step` (a resumed stage logs them again).
  void drop_metrics_after(Stage stage, int64_t step);
  // Drops the evaluation lines of `stage` on `split` (an evaluation run again logs them again).
  void drop_evaluation_lines(Stage stage, const std::string& split);

  // Whether done/<stage> exists, as rank 0 sees it (a collective: every rank calls it).
  bool stage_done(Stage stage) const;
  void mark_stage_done(Stage stage);

  // results[stage][key] = value (metrics of a split, a training summary, a record).
  void record_result(Stage stage, const std::string& key, const nlohmann::json& value);
  void record_artifact(const std::string& name, const std::filesystem::path& path);
  nlohmann::json results() const;

 private:
  // Writes inputs.json for a new run; for an existing one, throws (on every rank) when
  // a recorded input file differs now.
  void check_inputs(const ExperimentConfig& config);
  void update_results(const std::function<void(nlohmann::json&)>& change);
  void record_outcome(const std::string& state);
  // Drops the lines a kill or a full disk cut short.
  void repair_metrics();
  void rewrite_metrics(const std::function<bool(const nlohmann::json&)>& drop);

  Communicator& comm_;
  std::filesystem::path dir_;
  std::string resolved_toml_;
  std::string recorded_status_;
  nlohmann::json previous_status_;  // status.json as rank 0 found it
  std::optional<FileLock> lock_;    // rank 0's
  nlohmann::json heartbeat_;        // rank 0's last, kept in every status.json
  nlohmann::json processes_ = nlohmann::json::array();
};

}  // namespace spn
