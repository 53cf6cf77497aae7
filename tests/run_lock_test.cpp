// One writer per run directory and per bank. A second command for a run that is still
// running exits 2 naming the holder, and leaves the first to finish alone; a run that
// needs a bank another run is building waits for it and reuses it instead of building
// the same file at the same time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <sstream>
#include <thread>

#include "core/file_lock.h"
#include "core/files.h"
#include "launch_fixture.h"

namespace spn {
namespace {

using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;
using testing::run_shell;

nlohmann::json json_file(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }

std::string state_of(const fs::path& run) {
  try {
    return json_file(run / "status.json").value("state", "");
  } catch (const std::exception&) {
    return "";  // not written yet
  }
}

// The text of a file that may not exist yet.
std::string text_of(const fs::path& path) { return fs::exists(path) ? read_file(path) : ""; }

// Polls `done` until it holds; false when the child ended first (or, so that a broken
// build cannot hang the suite, was still short of it after ten minutes and was killed).
template <typename Done>
bool wait_while_running(pid_t child, const Done& done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (!done()) {
    if (::waitpid(child, nullptr, WNOHANG) == child) return false;
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

int exit_status_of(pid_t child) {
  int raw = 0;
  ::waitpid(child, &raw, 0);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

TEST_F(Launch, ASecondCommandForARunningRunExitsTwoNamingTheHolder) {
  write("tiny.toml", kTinyExperiment);
  const fs::path run = dir_ / "runs/tiny/shared";
  const pid_t first = start_launch({"tiny.toml", "--run-id", "shared"}, "first");
  ASSERT_TRUE(wait_while_running(first, [&] { return state_of(run) == "running"; })) << text_of(dir_ / "first.log");
  // Held still while the second command runs, so the first is certainly in the middle
  // of its run whatever the machine's speed.
  ::kill(first, SIGSTOP);

  const Outcome second = launch("tiny.toml --run-id shared");
  const Outcome on_two_ranks =
      run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np 2 " + SPN_LAUNCH + " tiny.toml --run-id shared");
  ::kill(first, SIGCONT);
  for (const Outcome& outcome : {second, on_two_ranks}) {
    EXPECT_EQ(outcome.status, 2) << outcome.output;
    EXPECT_NE(outcome.output.find("runs/tiny/shared: another spn-launch is running in this run directory"),
              std::string::npos)
        << outcome.output;
    EXPECT_NE(outcome.output.find("pid " + std::to_string(first)), std::string::npos) << outcome.output;
  }

  ASSERT_EQ(exit_status_of(first), 0) << read_file(dir_ / "first.log");
  EXPECT_EQ(state_of(run), "finished");
  EXPECT_EQ(json_file(run / "command.json").size(), 1u) << "one attempt recorded";
  int64_t previous = -1;  // each step logged once
  std::istringstream lines(read_file(run / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line);
    if (entry["stage"] != "stage1") continue;
    EXPECT_GT(entry["step"].get<int64_t>(), previous) << line;
    previous = entry["step"];
  }

  const Outcome after = launch("tiny.toml --run-id shared");  // the lock went with the first run
  EXPECT_EQ(after.status, 0) << after.output;
  EXPECT_NE(after.output.find("already finished"), std::string::npos) << after.output;
}

// The test plays the run that builds the bank: it holds the bank's lock while the bank
// does not exist yet, and puts the finished bank in place before releasing it.
TEST_F(Launch, ARunNeedingABankAnotherRunIsBuildingWaitsAndReusesIt) {
  write("tiny.toml", std::string(kTinyExperiment) + "[stage2]\nenabled = true\nepochs = 1\nbatch_size = 16\n");
  const Outcome first = launch("tiny.toml --run-id first");
  ASSERT_EQ(first.status, 0) << first.output;
  const nlohmann::json results = json_file(dir_ / "runs/tiny/first/results.json");
  const fs::path bank = dir_ / results["artifacts"]["bank"].get<std::string>();
  const fs::path finished = dir_ / "finished-bank.h5";
  fs::rename(bank, finished);

  std::optional<FileLock> building = FileLock::try_take(bank.string() + ".lock");
  ASSERT_TRUE(building.has_value());
  const pid_t second = start_launch({"tiny.toml", "--run-id", "second"}, "second");
  const bool waited = wait_while_running(
      second, [&] { return text_of(dir_ / "second.log").find("waiting for another run's bank") != std::string::npos; });
  fs::rename(finished, bank);
  building.reset();
  ASSERT_TRUE(waited) << text_of(dir_ / "second.log");

  EXPECT_EQ(exit_status_of(second), 0) << read_file(dir_ / "second.log");
  const std::string log = read_file(dir_ / "second.log");
  EXPECT_NE(log.find("pid " + std::to_string(::getpid())), std::string::npos) << "names the builder\n" << log;
  EXPECT_NE(log.find("reusing bank"), std::string::npos) << log;
  EXPECT_EQ(log.find("built bank"), std::string::npos) << log;
  EXPECT_EQ(json_file(dir_ / "runs/tiny/second/results.json")["stage2"]["val"], results["stage2"]["val"]);
}

}  // namespace
}  // namespace spn
