// Faults injected into whole runs on 2 MPI ranks, as an SRE would: stop signals, kill -9
// of a rank in each stage, a stopped rank, a full runs_dir and a full bank_dir. Each
// asserts the exit status, the message, status.json and what a rerun makes of it. The
// other cases of the README's fault table live with their features: corrupt banks and
// checkpoints (launch_test, checkpoint_integrity_test), two commands at once
// (run_lock_test), divergence (divergence_test), invalid bytes (invalid_utf8_test).
// ctest runs these as `fault_injection`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/files.h"
#include "launch_fixture.h"
#include "train/checkpoint.h"

namespace spn {
namespace {

using nlohmann::json;
using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;
using testing::run_shell;

constexpr const char* kStageTwo = "[stage2]\nenabled = true\nepochs = 4\nbatch_size = 16\n";

json read_json(const fs::path& path) { return json::parse(read_file(path)); }

// The metrics lines of a run; a line being written is skipped.
std::vector<json> metric_lines(const fs::path& run) {
  std::vector<json> lines;
  std::error_code missing;
  if (!fs::exists(run / "metrics.jsonl", missing)) return lines;
  std::istringstream in(read_file(run / "metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    json entry = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_discarded()) lines.push_back(std::move(entry));
  }
  return lines;
}

int64_t last_logged_step(const fs::path& run, const std::string& stage) {
  int64_t last = 0;
  for (const json& line : metric_lines(run))
    if (line.value("stage", "") == stage && line.contains("step")) last = std::max(last, line["step"].get<int64_t>());
  return last;
}

// Each training step and each evaluation appears once.
void expect_each_line_once(const fs::path& run) {
  std::set<std::tuple<std::string, int64_t, std::string>> seen;
  for (const json& line : metric_lines(run)) {
    const auto key = std::make_tuple(line.value("stage", ""), line.value("step", int64_t{-1}), line.value("split", ""));
    EXPECT_TRUE(seen.insert(key).second) << "logged twice: " << line.dump();
  }
  EXPECT_FALSE(seen.empty());
}

bool wait_until(const std::function<bool()>& ready, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The exit status of `child`, or -1 when it has not ended within `seconds` (then it is killed).
int exit_status_within(pid_t child, int seconds) {
  int raw = 0;
  const bool ended = wait_until([&] { return ::waitpid(child, &raw, WNOHANG) == child; }, seconds);
  if (!ended) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &raw, 0);
    return -1;
  }
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

bool process_alive(int64_t pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0; }

class FaultInjection : public Launch {
 protected:
  // `mpirun -np 2 spn-launch <args>` as a list, for start_process.
  static std::vector<std::string> on_two_ranks(const std::vector<std::string>& args) {
    std::vector<std::string> command;
    std::istringstream mpirun(SPN_MPIRUN);
    for (std::string word; mpirun >> word;) command.push_back(word);
    command.insert(command.end(), {"-np", "2", SPN_LAUNCH});
    command.insert(command.end(), args.begin(), args.end());
    return command;
  }
  Outcome launch_on_two_ranks(const std::string& args) {
    return run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np 2 " + SPN_LAUNCH + " " + args);
  }
  fs::path run(const std::string& id) const { return dir_ / "runs/tiny" / id; }
  // The pids of the ranks of the run's latest attempt (environment.json).
  std::vector<int64_t> rank_pids(const std::string& id) const {
    return read_json(run(id) / "environment.json")["pids"].get<std::vector<int64_t>>();
  }
  std::string log(const std::string& name) const {
    return fs::exists(dir_ / (name + ".log")) ? read_file(dir_ / (name + ".log")) : "";
  }
};

// A tmpfs of `size` at `dir` for the test's life: a disk that fills up for real.
class SmallDisk {
 public:
  SmallDisk(const fs::path& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    const Outcome mounted = run_shell("mount -t tmpfs -o size=" + size + " spn-test '" + dir.string() + "'");
    mounted_ = mounted.status == 0;
    reason_ = mounted.output;
  }
  ~SmallDisk() {
    if (mounted_) run_shell("umount '" + dir_.string() + "'");
  }
  bool mounted() const { return mounted_; }
  const std::string& reason() const { return reason_; }
  bool resize(const std::string& size) {
    return run_shell("mount -o remount,size=" + size + " '" + dir_.string() + "'").status == 0;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string reason_;
};

std::vector<fs::path> files_named_like(const fs::path& dir, const std::string& part) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(part) != std::string::npos) found.push_back(entry.path());
  return found;
}

TEST_F(FaultInjection, StopSignalsCheckpointEveryRankAtOneStepAndTheRerunResumes) {
  write("tiny.toml", kTinyExperiment);
  const std::string longer = "--set stage1.epochs=20";
  const Outcome whole = launch_on_two_ranks("tiny.toml --run-id whole " + longer);
  ASSERT_EQ(whole.status, 0) << whole.output;

  // SIGUSR1 to mpirun, which forwards it to every rank.
  const pid_t first =
      start_process(on_two_ranks({"tiny.toml", "--run-id", "stopped", "--set", "stage1.epochs=20"}), "first");
  ASSERT_TRUE(wait_until([&] { return last_logged_step(run("stopped"), "stage1") >= 20; }, 120)) << log("first");
  ::kill(first, SIGUSR1);
  EXPECT_EQ(exit_status_within(first, 60), kExitPreempted) << log("first");
  json status = read_json(run("stopped") / "status.json");
  EXPECT_EQ(status["state"], "preempted") << status;
  std::smatch found;
  const std::string message = status.value("error", "");
  ASSERT_TRUE(std::regex_search(message, found, std::regex("stopped by SIGUSR1 after step (\\d+) of 200"))) << status;
  const int64_t stopped_at = std::stoll(found[1]);
  EXPECT_TRUE(fs::exists(step_checkpoint_path(run("stopped") / "checkpoints", "stage1", stopped_at)));
  EXPECT_FALSE(fs::exists(run("stopped") / "done/stage1"));
  EXPECT_EQ(read_json(run("stopped") / "command.json").back()["outcome"], "preempted");

  // SIGTERM to one rank only (srun's way): both stop after the same step.
  const pid_t second =
      start_process(on_two_ranks({"tiny.toml", "--run-id", "stopped", "--set", "stage1.epochs=20"}), "second");
  ASSERT_TRUE(wait_until([&] { return last_logged_step(run("stopped"), "stage1") >= stopped_at + 20; }, 120))
      << log("second");
  ::kill(static_cast<pid_t>(rank_pids("stopped")[1]), SIGTERM);
  EXPECT_EQ(exit_status_within(second, 60), kExitPreempted) << log("second");
  const std::string again = read_json(run("stopped") / "status.json").value("error", "");
  ASSERT_TRUE(std::regex_search(again, found, std::regex("stopped by SIGTERM after step \\d+ of 200"))) << again;
  for (const char* rank_log : {"logs/rank-0.log", "logs/rank-1.log"})
    EXPECT_NE(read_file(run("stopped") / rank_log).find(found.str()), std::string::npos) << rank_log;

  const Outcome resumed = launch_on_two_ranks("tiny.toml --run-id stopped " + longer);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const json results = read_json(run("stopped") / "results.json"), expected = read_json(run("whole") / "results.json");
  EXPECT_EQ(results["stage1"]["val"], expected["stage1"]["val"]);
  EXPECT_EQ(results["stage1"]["train"]["final_loss"], expected["stage1"]["train"]["final_loss"]);
  expect_each_line_once(run("stopped"));
}

TEST_F(FaultInjection, KillNineOfARankInEachStageEndsTheJobAndTheRerunRecordsTheKill) {
  write("tiny.toml", std::string(kTinyExperiment) + kStageTwo);
  const Outcome whole = launch_on_two_ranks("tiny.toml --run-id whole");
  ASSERT_EQ(whole.status, 0) << whole.output;

  for (const std::string stage : {"stage1", "stage2"}) {
    const pid_t job = start_process(on_two_ranks({"tiny.toml", "--run-id", "killed"}), "killed-" + stage);
    ASSERT_TRUE(wait_until([&] { return last_logged_step(run("killed"), stage) >= 4; }, 120)) << log("killed-" + stage);
    const std::vector<int64_t> pids = rank_pids("killed");
    ::kill(static_cast<pid_t>(pids[1]), SIGKILL);
    // The whole job ends; nothing waits for the dead rank.
    EXPECT_NE(exit_status_within(job, 30), -1) << "the job hung after a rank was killed in " << stage;
    EXPECT_TRUE(wait_until([&] { return !process_alive(pids[0]); }, 10)) << "rank 0 outlived the job";
    EXPECT_EQ(read_json(run("killed") / "status.json")["state"], "running") << "nothing could record the kill";
  }
  const Outcome resumed = launch_on_two_ranks("tiny.toml --run-id killed");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("the previous attempt was killed"), std::string::npos) << resumed.output;
  const json attempts = read_json(run("killed") / "command.json");
  ASSERT_EQ(attempts.size(), 3u) << attempts;
  EXPECT_EQ(attempts[0]["outcome"], "killed");
  EXPECT_EQ(attempts[0]["last_heartbeat"]["stage"], "stage1") << attempts;
  EXPECT_EQ(attempts[1]["outcome"], "killed");
  EXPECT_EQ(attempts[1]["last_heartbeat"]["stage"], "stage2") << attempts;
  EXPECT_EQ(attempts[2]["outcome"], "finished");
  const json results = read_json(run("killed") / "results.json"), expected = read_json(run("whole") / "results.json");
  for (const char* stage : {"stage1", "stage2"}) EXPECT_EQ(results[stage]["val"], expected[stage]["val"]) << stage;
  expect_each_line_once(run("killed"));
}

TEST_F(FaultInjection, AStoppedRankIsNamedByTheWatchdogWhichEndsTheJob) {
  write("tiny.toml", kTinyExperiment);
  const pid_t job = start_process(
      on_two_ranks({"tiny.toml", "--run-id", "stuck", "--watchdog", "5", "--set", "stage1.epochs=20"}), "stuck");
  ASSERT_TRUE(wait_until([&] { return last_logged_step(run("stuck"), "stage1") >= 10; }, 120)) << log("stuck");
  const std::vector<int64_t> pids = rank_pids("stuck");
  ::kill(static_cast<pid_t>(pids[1]), SIGSTOP);
  const int status = exit_status_within(job, 60);
  ::kill(static_cast<pid_t>(pids[1]), SIGKILL);  // in case the job did not end it
  EXPECT_EQ(status, kExitWatchdog) << log("stuck");
  const json recorded = read_json(run("stuck") / "status.json");
  EXPECT_EQ(recorded["state"], "failed");
  const std::string error = recorded.value("error", "");
  EXPECT_NE(error.find("watchdog: no rank has made progress"), std::string::npos) << error;
  EXPECT_NE(error.find("silent longest: rank 1 (host "), std::string::npos) << error;
  EXPECT_NE(error.find("pid " + std::to_string(pids[1])), std::string::npos) << error;
}

TEST_F(FaultInjection, AFullRunsDirectoryFailsNamingThePathAndTheRerunResumesOnceFreed) {
  SmallDisk disk(dir_ / "full", "400k");  // the first stage-1 checkpoint fits, the second does not
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << disk.reason();
  write("tiny.toml", kTinyExperiment);
  const Outcome whole = launch_on_two_ranks("tiny.toml --run-id whole");
  ASSERT_EQ(whole.status, 0) << whole.output;

  const std::string on_full = "tiny.toml --run-id whole --set runs_dir=full";
  const Outcome full = launch_on_two_ranks(on_full);
  EXPECT_EQ(full.status, kExitIoError) << full.output;
  EXPECT_TRUE(std::regex_search(full.output, std::regex("full/tiny/whole/\\S+: cannot \\w+[^\\n]*: No space left on "
                                                        "device \\(ENOSPC\\)")))
      << full.output;
  EXPECT_EQ(full.output.find("internal error"), std::string::npos) << full.output;
  EXPECT_TRUE(files_named_like(dir_ / "full", ".tmp-").empty()) << "a temporary file was left behind";
  const fs::path failed = dir_ / "full/tiny/whole";
  EXPECT_EQ(read_json(failed / "status.json")["state"], "failed");

  ASSERT_TRUE(disk.resize("16m"));
  const Outcome resumed = launch_on_two_ranks(on_full);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  const json results = read_json(failed / "results.json"), expected = read_json(run("whole") / "results.json");
  EXPECT_EQ(results["stage1"]["val"], expected["stage1"]["val"]);
  EXPECT_EQ(results["stage1"]["train"]["final_loss"], expected["stage1"]["train"]["final_loss"]);
  expect_each_line_once(failed);
}

TEST_F(FaultInjection, AFullBankDirectoryFailsNamingTheBankFile) {
  SmallDisk disk(dir_ / "banks", "8k");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << disk.reason();
  write("tiny.toml", std::string(kTinyExperiment) + kStageTwo + "bank_dir = \"banks\"\n");
  const Outcome full = launch_on_two_ranks("tiny.toml --run-id bank");
  EXPECT_EQ(full.status, kExitIoError) << full.output;
  EXPECT_TRUE(std::regex_search(full.output, std::regex("banks/bank-\\S+\\.h5\\.partial: cannot write the bank "
                                                        "[^\\n]*No space left on device \\(ENOSPC\\)")))
      << full.output;
  EXPECT_TRUE(files_named_like(dir_ / "banks", ".partial").empty()) << "the half-written bank was left behind";
  EXPECT_EQ(read_json(run("bank") / "status.json")["state"], "failed");
}

}  // namespace
}  // namespace spn
