// What spn leaves for the tools people already use, checked by those tools: TensorBoard
// event files and the MLflow export read by the real Python clients, and the HTML
// report of a sweep rendered by headless Chromium.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "core/files.h"
#include "data/image_io.h"
#include "launch_fixture.h"
#include "track/report_data.h"
#include "track/tensorboard_events.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;
using testing::run_shell;

TEST(TensorBoardEvents, Crc32cAndRecordFraming) {
  // The CRC-32C check value of the standard ("123456789") and of nothing.
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  const std::string record = tfrecord("abc");
  ASSERT_EQ(record.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(static_cast<unsigned char>(record[0]), 3);
  for (int i = 1; i < 8; ++i) EXPECT_EQ(record[i], 0);
  EXPECT_EQ(record.substr(12, 3), "abc");
}

TEST(Report, MeanAndSampleStandardDeviation) {
  const Summary three = summarize({1.0, 2.0, 4.0});
  EXPECT_EQ(three.count, 3);
  EXPECT_DOUBLE_EQ(three.mean, 7.0 / 3.0);
  EXPECT_NEAR(three.std, 1.5275252316519468, 1e-12);
  EXPECT_EQ(format_summary(three), "2.33 ± 1.53");
  EXPECT_EQ(format_summary(summarize({5.0})), "5.00");
  EXPECT_EQ(format_summary(summarize({})), "–");
}

class Outputs : public Launch {};

// A run with both stages, its events written as it ran, killed in stage 1 and resumed
// (so its metrics were cut back and its events rebuilt), read by TensorBoard's event
// accumulator and, after `mlflow migrate-filestore`, by MLflow's client.
TEST_F(Outputs, TensorBoardAndMlflowReadWhatTheRunLogged) {
  write("tiny.toml", std::string(kTinyExperiment) + "[stage2]\nenabled = true\nepochs = 2\nbatch_size = 16\n");
  const fs::path run = dir_ / "runs/tiny/resumed";
  const pid_t child = start_launch({"tiny.toml", "--run-id", "resumed"}, "killed");
  ASSERT_GE(child, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && !fs::exists(run / "checkpoints/stage1-step0000008.pt"))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_FALSE(fs::exists(run / "done/stage1")) << "stage 1 finished before the kill; the test needs a longer run";
  // A kill can cut the events file inside a record; the resumed run rewrites it.
  const std::string events = read_file(run / kTensorBoardFileName);
  write_file_atomic(run / kTensorBoardFileName, events.substr(0, events.size() - 5));

  const Outcome resumed = launch("tiny.toml --run-id resumed");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const Outcome checked = testing::check_with_real_clients(run, dir_);
  EXPECT_EQ(checked.status, 0) << checked.output;
  EXPECT_NE(checked.output.find("tensorboard: "), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("mlflow: run "), std::string::npos) << checked.output;

  // Bad input: exit 2 with the directory or the usage named.
  Outcome bad = launch("report nowhere");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("nowhere: no such directory"), std::string::npos) << bad.output;
  bad = launch("report " + dir_.string() + "/runs/tiny/resumed/checkpoints");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("no runs here"), std::string::npos) << bad.output;
  bad = launch("export-mlflow runs");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("usage: spn-launch export-mlflow DIR OUT"), std::string::npos) << bad.output;
  // The export refuses to overwrite.
  const Outcome again = launch("export-mlflow runs/tiny/resumed mlflow-resumed");
  EXPECT_EQ(again.status, 2) << again.output;
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
}

// A sweep of 2 variants x 2 seeds: the Markdown table holds each variant's mean and
// sample std computed here from the runs' results.json, and Chromium renders the page
// with every chart drawn and no script error.
TEST_F(Outputs, SweepReportShowsTheStudyAndRendersInChromium) {
  write("tiny.toml", kTinyExperiment);
  write("sweep.toml", R"([sweep]
name = "study"
base = "tiny.toml"
[sweep.fixed]
"stage1.epochs" = 1
[sweep.grid]
"stage1.negatives" = [["target"], ["query"]]
seed = [0, 1]
)");
  const Outcome swept = launch("sweep.toml");
  ASSERT_EQ(swept.status, 0) << swept.output;
  const fs::path sweep_dir = dir_ / "runs/sweeps/study";
  // From another working directory, as a user would.
  const Outcome reported = run_shell(std::string(SPN_LAUNCH) + " report '" + sweep_dir.string() + "'");
  ASSERT_EQ(reported.status, 0) << reported.output;

  const std::string markdown = read_file(sweep_dir / "report.md");
  const auto table = nlohmann::json::parse(read_file(sweep_dir / "runs.json"));
  ASSERT_EQ(table.size(), 4u);
  for (const std::string variant : {"stage1.negatives=[ 'target' ]", "stage1.negatives=[ 'query' ]"}) {
    std::vector<double> r1;
    for (const auto& row : table)
      if (row["overrides"][1] == variant)  // the grid's keys by name: seed, then stage1.negatives
        r1.push_back(nlohmann::json::parse(
                         read_file(dir_ / row["run"].get<std::string>() / "results.json"))["stage1"]["val"]["R@1"]
                         .get<double>());
    ASSERT_EQ(r1.size(), 2u);
    const Summary expected = summarize(r1);
    const std::string row = "| " + variant + " | 2 | " + format_summary(expected) + " |";
    EXPECT_NE(markdown.find(row), std::string::npos) << row << "\n" << markdown;
  }
  EXPECT_NE(markdown.find("| run | seed | stage1.negatives |"), std::string::npos) << markdown;

  const fs::path page = sweep_dir / "report.html";
  const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars ";
  const Outcome dom = run_shell(chromium + "--virtual-time-budget=5000 --dump-dom 'file://" + page.string() + "'");
  ASSERT_EQ(dom.status, 0) << dom.output;
  std::smatch body;
  ASSERT_TRUE(std::regex_search(dom.output, body, std::regex("<body ([^>]*)>"))) << dom.output;
  EXPECT_NE(body[1].str().find("data-status=\"rendered\""), std::string::npos) << body[1];
  // One bar chart (stage 1) and one curve (stage-1 loss).
  EXPECT_NE(body[1].str().find("data-charts=\"2\""), std::string::npos) << body[1];
  EXPECT_NE(dom.output.find("<ul id=\"script-errors\" hidden=\"\"></ul>"), std::string::npos)
      << "a script error was listed";
  const auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = dom.output.find(needle); at != std::string::npos; at = dom.output.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"chart\""), 2u);
  EXPECT_EQ(count("class=\"bar\""), 2u * 8u) << "two variants, eight metrics";
  EXPECT_EQ(count("class=\"series\""), 4u) << "a loss curve per run";

  // The screenshot shows the page: mostly white, with the first variant's bar colour.
  const fs::path shot = dir_ / "report.png";
  const Outcome screenshot = run_shell(chromium + "--window-size=1200,1600 --screenshot='" + shot.string() +
                                       "' 'file://" + page.string() + "'");
  ASSERT_EQ(screenshot.status, 0) << screenshot.output;
  const RgbImage image = read_image(shot);
  ASSERT_EQ(image.width, 1200);
  int64_t white = 0, first_bar_colour = 0;
  for (int64_t i = 0; i < image.width * image.height; ++i) {
    const uint8_t* p = &image.pixels[3 * i];
    white += p[0] == 255 && p[1] == 255 && p[2] == 255;
    first_bar_colour += p[0] == 0x1f && p[1] == 0x77 && p[2] == 0xb4;
  }
  EXPECT_GT(white, image.width * image.height / 2);
  EXPECT_GT(first_bar_colour, 500) << "no bars drawn in the screenshot";
}

}  // namespace
}  // namespace spn
