// A run that diverges never reports success: its loss turning NaN stops it with the
// stage and step named, exit status 2 and status.json "failed", and no metrics are
// recorded for the broken model (NaN scores used to count as hits: 100.00 everywhere).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "launch_fixture.h"

namespace spn {
namespace {

using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;

TEST_F(Launch, DivergedTrainingFailsNamingTheStageAndStep) {
  write("tiny.toml", kTinyExperiment);
  const Outcome outcome = launch("tiny.toml --run-id diverged --set stage1.lr=10 --set stage1.weight_decay=10");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("stage1: the loss is not finite at step "), std::string::npos) << outcome.output;
  const fs::path run = dir_ / "runs/tiny/diverged";
  const nlohmann::json status = nlohmann::json::parse(read_file(run / "status.json"));
  EXPECT_EQ(status["state"], "failed");
  EXPECT_NE(status["error"].get<std::string>().find("training diverged"), std::string::npos) << status;
  EXPECT_FALSE(fs::exists(run / "done/stage1"));
  const std::string results = fs::exists(run / "results.json") ? read_file(run / "results.json") : "{}";
  EXPECT_FALSE(nlohmann::json::parse(results).contains("stage1")) << results;
}

}  // namespace
}  // namespace spn
