// Rank 0 decides every fact of the shared filesystem that picks a branch: a run on 2
// ranks in which rank 1 alone "sees" completion markers and records that do not exist
// (SPN_TEST_PHANTOM_PATHS, as a stale attribute cache of a shared filesystem would show
// them) takes rank 0's branch and ends exactly like a run without them. Were any of
// these facts looked up on each rank, rank 1 would skip training and fail on weights
// that are not there, or wait in a collective its peer never enters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "launch_fixture.h"

namespace spn {
namespace {

using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;
using testing::run_shell;

nlohmann::json metrics_without_timings(const fs::path& run_dir) {
  nlohmann::json results = nlohmann::json::parse(read_file(run_dir / "results.json"));
  results.erase("artifacts");
  for (auto& [stage, entries] : results.items())
    if (entries.contains("train")) entries["train"].erase("seconds"), entries["train"].erase("samples_per_s");
  return results;
}

TEST_F(Launch, RankOneSeeingPhantomRecordsTakesRankZerosBranch) {
  write("tiny.toml", std::string(kTinyExperiment) + "[stage2]\nenabled = true\nepochs = 1\nbatch_size = 16\n");
  const std::string launch = std::string(" -np 2 ") + SPN_LAUNCH + " tiny.toml";
  const Outcome plain = run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + launch + " --run-id plain");
  ASSERT_EQ(plain.status, 0) << plain.output;
  const nlohmann::json artifacts = nlohmann::json::parse(read_file(dir_ / "runs/tiny/plain/results.json"))["artifacts"];
  // The phantom run builds its own bank, of the same name, in another directory.
  const std::string bank = fs::path(artifacts["bank"].get<std::string>()).filename().string();

  const fs::path run = dir_ / "runs/tiny/phantom";
  std::string phantoms;
  for (const char* path : {"done/stage1", "done/eval-stage1", "done/stage2", "done/eval-stage2", "vocab.txt",
                           "config.toml", "checkpoints/stage2-best.json"})
    phantoms += "1:" + (run / path).string() + ";";
  phantoms += "1:" + (dir_ / "banks-phantom" / bank).string();
  const Outcome phantom =
      run_shell("cd '" + dir_.string() + "' && SPN_TEST_PHANTOM_PATHS='" + phantoms + "' " + SPN_MPIRUN +
                " -x SPN_TEST_PHANTOM_PATHS" + launch + " --run-id phantom --set stage2.bank_dir=banks-phantom");
  ASSERT_EQ(phantom.status, 0) << phantom.output;
  EXPECT_EQ(metrics_without_timings(run), metrics_without_timings(dir_ / "runs/tiny/plain"));
}

}  // namespace
}  // namespace spn
