// A byte that is not UTF-8 in an annotation file is bad input like any other: the run
// exits 2 naming the file, the byte offset and the line, and status.json records that
// error. Before, the error's own text (which quoted the byte) could not be written into
// status.json, and that failure replaced it: exit 1, an internal JSON error, and a run
// left "running".
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "config/experiment_config.h"
#include "core/files.h"
#include "launch_fixture.h"
#include "track/run_record.h"

namespace spn {
namespace {

using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;

TEST_F(Launch, InvalidUtf8InACaptionExitsTwoNamingTheFileAndByte) {
  write("tiny.toml", kTinyExperiment);
  const Outcome generated = launch("tiny.toml --run-id first");  // generates data/
  ASSERT_EQ(generated.status, 0) << generated.output;

  const fs::path captions = dir_ / "data/captions/cap.rc2.train.json";
  std::string text = read_file(captions);
  const size_t caption = text.find("\"caption\": \"");
  ASSERT_NE(caption, std::string::npos) << text.substr(0, 400);
  const size_t offset = caption + std::string("\"caption\": \"").size();
  text[offset] = '\xff';
  write_file_atomic(captions, text);
  const size_t line = 1 + std::count(text.begin(), text.begin() + offset, '\n');

  const Outcome outcome = launch("tiny.toml --run-id corrupt");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  const std::string expected = "cap.rc2.train.json: not valid UTF-8 at byte offset " + std::to_string(offset) +
                               " (line " + std::to_string(line) + ")";
  EXPECT_NE(outcome.output.find(expected), std::string::npos) << expected << "\n" << outcome.output;
  EXPECT_EQ(outcome.output.find("internal error"), std::string::npos) << outcome.output;

  const auto status = nlohmann::json::parse(read_file(dir_ / "runs/tiny/corrupt/status.json"));
  EXPECT_EQ(status["state"], "failed") << status.dump();
  EXPECT_NE(status.value("error", "").find(expected), std::string::npos) << status.dump();
}

// An error message may quote a user's bytes (a path, an override, a file's text); the
// failed state and the message are recorded all the same, the bytes replaced by U+FFFD.
TEST(RunStatus, AnErrorThatIsNotUtf8IsRecorded) {
  auto comm = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*comm, "status");
  ExperimentConfig config;
  config.runs_dir = dir.string();
  RunRecord run(*comm, config, "resolved", "r");
  run.record_failure("data/x\xff.json: broken");
  const auto status = nlohmann::json::parse(read_file(run.dir() / "status.json"));
  EXPECT_EQ(status["state"], "failed");
  EXPECT_EQ(status["error"], "data/x\ufffd.json: broken");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
