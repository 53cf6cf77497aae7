// The `device` and `precision` keys as a user meets them: a device this machine cannot
// serve and a precision spn does not know stop the run with exit status 2 naming the
// key, before a run directory exists; a bf16 run records its device and precision.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "launch_fixture.h"

namespace spn {
namespace {

using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;

TEST_F(Launch, CudaWithoutAGpuExitsNamingTheKey) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  write("tiny.toml", kTinyExperiment);
  const Outcome outcome = launch("tiny.toml --set device=cuda");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("--set device=cuda: device: \"cuda\" needs a GPU"), std::string::npos)
      << outcome.output;
  EXPECT_FALSE(fs::exists(dir_ / "runs")) << "a run that cannot start leaves no run directory";
}

TEST_F(Launch, UnknownPrecisionExitsNamingTheKey) {
  write("tiny.toml", kTinyExperiment);
  const Outcome outcome = launch("tiny.toml --set precision=fp8");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("precision: must be one of \"fp32\", \"bf16\", \"fp16\""), std::string::npos)
      << outcome.output;
}

TEST_F(Launch, Bf16RunTrainsBothStagesAndRecordsDeviceAndPrecision) {
  write("tiny.toml", kTinyExperiment);
  // "auto" picks the CPU here; on a GPU machine "cpu" keeps this test on the CPU.
  const std::string device = torch::cuda::is_available() ? "cpu" : "auto";
  const Outcome outcome =
      launch("tiny.toml --run-id bf16 --set precision=bf16 --set device=" + device +
             " --set stage1.epochs=1 --set stage2.enabled=true --set stage2.epochs=1 --set stage2.batch_size=16");
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  const fs::path run = dir_ / "runs/tiny/bf16";
  const nlohmann::json environment = nlohmann::json::parse(read_file(run / "environment.json"));
  EXPECT_EQ(environment["precision"], "bf16");
  EXPECT_EQ(environment["device"], "cpu");
  const nlohmann::json results = nlohmann::json::parse(read_file(run / "results.json"));
  EXPECT_TRUE(results.contains("stage1")) << results;
  EXPECT_TRUE(results.contains("stage2")) << "stage 2 over a bf16 bank: " << results;
}

}  // namespace
}  // namespace spn
