// stage1.eval_every_epoch: stage 1 evaluates [data]'s split after each epoch and keeps
// the best epoch (as SPN4CIR's zero-shot trainer keeps best.pt), and everything after
// stage 1 (its evaluation, the bank, stage 2) starts from that epoch's weights; the same
// on 1, 2 and 3 ranks; RTD's trainer and the image trainers of Pic2Word and SEARLE too.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "clip_fixture.h"
#include "launch_fixture.h"
#include "rtd_fixture.h"
#include "zero_shot_fixture.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

const std::string kSelecting = std::string(testing::kTinyExperiment) +
                               "[stage2]\nenabled = true\nepochs = 1\nbatch_size = 16\n"
                               "eval_every_epoch = false\n";

// The per-epoch evaluation lines `stage` logged, in order.
std::vector<nlohmann::json> stage1_evaluations(const fs::path& run, const std::string& stage = "stage1") {
  std::vector<nlohmann::json> lines;
  std::istringstream text(read_file(run / "metrics.jsonl"));
  for (std::string line; std::getline(text, line);) {
    auto entry = nlohmann::json::parse(line);
    if (entry["stage"] == stage && entry.contains("eval")) lines.push_back(std::move(entry));
  }
  return lines;
}

// The first epoch with the highest `metric` among stage 1's evaluation lines.
int first_best_epoch(const std::vector<nlohmann::json>& evaluations, const std::string& metric) {
  int best_epoch = 0;
  double best_value = -1;
  for (const auto& line : evaluations)
    if (line["eval"][metric].get<double>() > best_value)
      best_value = line["eval"][metric].get<double>(), best_epoch = line["epoch"].get<int>();
  return best_epoch;
}

// A metric whose kept epoch is not the last and was evaluated differently, so that
// keeping it differs from keeping the last epoch (the tiny model improves on Avg every
// epoch); "" when there is none.
std::string metric_kept_before_the_last(const std::vector<nlohmann::json>& evaluations) {
  for (const auto& [name, value] : evaluations.front()["eval"].items()) {
    const int epoch = first_best_epoch(evaluations, name);
    if (epoch < static_cast<int>(evaluations.size()) &&
        evaluations[static_cast<size_t>(epoch - 1)]["eval"] != evaluations.back()["eval"])
      return name;
  }
  return "";
}

// A selecting run of three epochs: one evaluation per epoch, the kept epoch the first
// with the highest `metric`, and stage 1's result that epoch's weights (evaluated again,
// they give its metrics; the checkpoint named is stage1-best.pt).
void expect_kept_best_epoch(const nlohmann::json& results, const std::vector<nlohmann::json>& evaluations,
                            const std::string& metric) {
  ASSERT_EQ(evaluations.size(), 3u);
  const int best_epoch = first_best_epoch(evaluations, metric);
  const auto best = results["stage1"]["best_epoch"];
  EXPECT_EQ(best["metric"], metric) << results.dump();
  EXPECT_EQ(best["epoch"].get<int>(), best_epoch) << results.dump();
  EXPECT_EQ(best["metrics"], evaluations[static_cast<size_t>(best_epoch - 1)]["eval"]);
  EXPECT_EQ(results["stage1"]["val"], best["metrics"]) << results.dump();
  EXPECT_NE(results["artifacts"]["stage1_checkpoint"].get<std::string>().find("stage1-best.pt"), std::string::npos)
      << results.dump();
}

// The same epochs on 2 and 3 ranks as on one: each evaluation within `apart` of `queries`.
void expect_same_evaluations(std::map<int, std::vector<nlohmann::json>>& evaluations, int queries, int apart) {
  for (int ranks : {1, 2, 3}) ASSERT_EQ(evaluations[ranks].size(), 3u) << ranks << " ranks";
  for (int ranks : {2, 3})
    for (size_t epoch = 0; epoch < 3; ++epoch)
      for (const auto& [name, value] : evaluations[1][epoch]["eval"].items())
        EXPECT_NEAR(evaluations[ranks][epoch]["eval"][name].get<double>(), value.get<double>(),
                    100.0 * apart / queries + 1e-9)
            << ranks << " ranks, epoch " << epoch + 1 << ", " << name;
}

using LaunchOn = std::function<Outcome(int ranks, const std::string& args)>;

// Runs "probe" (selecting, 1 rank) and "plain" (the same without selecting) under `runs`
// and checks that evaluating between epochs left training as it was: the plain run ends
// with the loss and the weights (evaluated: the metrics) of the probe's last epoch and
// keeps no best epoch. Sets the probe's per-epoch evaluations and a metric whose kept
// epoch is not the last.
void probe_and_plain(const LaunchOn& launch_on, const fs::path& runs, std::vector<nlohmann::json>& trajectory,
                     std::string& metric) {
  const Outcome probe = launch_on(1, "--run-id probe");
  ASSERT_EQ(probe.status, 0) << probe.output;
  trajectory = stage1_evaluations(runs / "probe");
  metric = metric_kept_before_the_last(trajectory);
  ASSERT_FALSE(metric.empty()) << "every metric peaked at the last epoch; the test needs one that did not:\n"
                               << nlohmann::json(trajectory).dump();
  const Outcome plain = launch_on(1, "--run-id plain --set stage1.eval_every_epoch=false");
  ASSERT_EQ(plain.status, 0) << plain.output;
  const auto results_of = [&](const char* id) { return nlohmann::json::parse(read_file(runs / id / "results.json")); };
  EXPECT_EQ(results_of("plain")["stage1"]["val"], trajectory.back()["eval"]);
  EXPECT_EQ(results_of("plain")["stage1"]["train"]["final_loss"], results_of("probe")["stage1"]["train"]["final_loss"]);
  EXPECT_FALSE(results_of("plain")["stage1"].contains("best_epoch"));
  EXPECT_FALSE(fs::exists(runs / "plain/checkpoints/stage1-best.pt"));
}

// Runs "np<ranks>" under `runs`, selecting on `metric`, and checks its kept epoch
// (expect_kept_best_epoch) and its log line; sets its per-epoch evaluations and results.
void run_selecting_on(const LaunchOn& launch_on, const fs::path& runs, int ranks, const std::string& metric,
                      std::vector<nlohmann::json>& evaluations, nlohmann::json& results) {
  const std::string id = "np" + std::to_string(ranks);
  const Outcome outcome = launch_on(ranks, "--run-id " + id + " --set stage1.select_metric=" + metric);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("stage1 epoch 3: " + metric), std::string::npos) << outcome.output;
  evaluations = stage1_evaluations(runs / id);
  results = nlohmann::json::parse(read_file(runs / id / "results.json"));
  ASSERT_NO_FATAL_FAILURE(expect_kept_best_epoch(results, evaluations, metric));
}

// Runs best.toml in `dir` as run "full", selecting on a metric whose kept epoch is not
// the last (found on a run "probe" first); returns the options it selected with, "" when
// a run failed or no metric qualified.
std::string run_full_selecting_before_the_last(const fs::path& dir) {
  const auto launch = [&](const std::string& args) {
    return testing::run_shell("cd '" + dir.string() + "' && " + SPN_LAUNCH + " best.toml " + args);
  };
  if (launch("--run-id probe --set stage1.eval_every_epoch=true").status != 0) return "";
  const std::string metric = metric_kept_before_the_last(stage1_evaluations(dir / "runs/tiny/probe"));
  if (metric.empty()) return "";
  const std::string selecting = " --set stage1.eval_every_epoch=true --set stage1.select_metric=" + metric;
  return launch("--run-id full" + selecting).status == 0 ? selecting : "";
}

TEST_F(Launch, StageOneKeepsItsBestEpochAndStageTwoStartsFromItOnOneTwoAndThreeRanks) {
  write("best.toml", kSelecting);
  const auto launch_on = [&](int ranks, const std::string& args) {
    return testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                              SPN_LAUNCH + " best.toml --set stage1.eval_every_epoch=true " + args);
  };
  const auto results_of = [&](const std::string& id) {
    return nlohmann::json::parse(read_file(dir_ / "runs/tiny" / id / "results.json"));
  };

  std::vector<nlohmann::json> trajectory;
  std::string metric;
  ASSERT_NO_FATAL_FAILURE(probe_and_plain(launch_on, dir_ / "runs/tiny", trajectory, metric));

  std::map<int, std::vector<nlohmann::json>> evaluations;
  for (int ranks : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks, stage1.select_metric = " + metric);
    const std::string id = "np" + std::to_string(ranks);
    nlohmann::json results;
    ASSERT_NO_FATAL_FAILURE(
        run_selecting_on(launch_on, dir_ / "runs/tiny", ranks, metric, evaluations[ranks], results));
    if (ranks == 1)
      for (size_t epoch = 0; epoch < 3; ++epoch)
        EXPECT_EQ(evaluations[1][epoch]["eval"], trajectory[epoch]["eval"]) << "selecting changed what was trained";

    // Stage 2 started from the kept epoch: a stage-2-only run from stage1-best.pt on as
    // many ranks finds the same bank (the same weights) and reaches the same result.
    const Outcome from_best = launch_on(ranks, "--run-id from-best-" + id + " --set stage1.select_metric=" + metric +
                                                   " --set stage1.epochs=0 --set stage1.init_checkpoint=" +
                                                   (dir_ / "runs/tiny" / id / "checkpoints/stage1-best.pt").string());
    ASSERT_EQ(from_best.status, 0) << from_best.output;
    EXPECT_NE(from_best.output.find("reusing bank"), std::string::npos) << from_best.output;
    EXPECT_EQ(results_of("from-best-" + id)["stage2"]["val"], results["stage2"]["val"]);
  }
  expect_same_evaluations(evaluations, 40, 1);
}

// A run stopped after stage 1 (its state rebuilt from a finished run: stage 2's
// checkpoints, completion markers and status removed) resumes from stage 1's kept epoch,
// not its last.
TEST_F(Launch, ARunResumedAfterStageOneStartsStageTwoFromItsBestEpoch) {
  write("best.toml", kSelecting);
  const std::string selecting = run_full_selecting_before_the_last(dir_);
  ASSERT_FALSE(selecting.empty()) << "no metric peaked before the last epoch, or a run failed";
  const fs::path full = dir_ / "runs/tiny/full", stopped = dir_ / "runs/tiny/stopped";
  fs::copy(full, stopped, fs::copy_options::recursive);
  for (const char* finished : {"done/stage2", "done/eval-stage2"}) ASSERT_TRUE(fs::remove(stopped / finished));
  for (const auto& entry : fs::directory_iterator(stopped / "checkpoints"))
    if (entry.path().filename().string().rfind("stage2", 0) == 0) fs::remove(entry.path());
  write_file_atomic(stopped / "status.json", R"({"state": "running"})");

  const Outcome resumed = launch("best.toml --run-id stopped" + selecting);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("stage1 already finished; loaded runs/tiny/stopped/checkpoints/stage1-best.pt"),
            std::string::npos)
      << resumed.output;
  EXPECT_NE(resumed.output.find("reusing bank"), std::string::npos) << resumed.output;
  const auto results_of = [](const fs::path& run) { return nlohmann::json::parse(read_file(run / "results.json")); };
  EXPECT_EQ(results_of(stopped)["stage2"]["val"], results_of(full)["stage2"]["val"]);
}

// A run stopped in stage 1's last epoch (a finished run with its newest stage-1
// checkpoint and everything after it removed) resumes to the same kept epoch and
// results, each epoch evaluated once in metrics.jsonl.
TEST_F(Launch, ARunResumedInStageOneKeepsTheSameEpoch) {
  write("best.toml", kSelecting);
  const std::string selecting = run_full_selecting_before_the_last(dir_);
  ASSERT_FALSE(selecting.empty()) << "no metric peaked before the last epoch, or a run failed";
  const fs::path full = dir_ / "runs/tiny/full", stopped = dir_ / "runs/tiny/stopped";
  fs::copy(full, stopped, fs::copy_options::recursive);
  fs::remove_all(stopped / "done");
  for (const auto& entry : fs::directory_iterator(stopped / "checkpoints")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("stage2", 0) == 0 || name.rfind("stage1-final", 0) == 0 || name.rfind("stage1-step0000030", 0) == 0)
      fs::remove(entry.path());
  }
  ASSERT_TRUE(fs::exists(stopped / "checkpoints/stage1-step0000028.pt")) << "the tiny run's checkpoints moved";
  write_file_atomic(stopped / "status.json", R"({"state": "running"})");

  const Outcome resumed = launch("best.toml --run-id stopped" + selecting);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("stage1: resuming from"), std::string::npos) << resumed.output;
  const auto results_of = [](const fs::path& run) { return nlohmann::json::parse(read_file(run / "results.json")); };
  for (const char* stage : {"stage1", "stage2"})
    EXPECT_EQ(results_of(stopped)[stage]["val"], results_of(full)[stage]["val"]) << stage;
  EXPECT_EQ(results_of(stopped)["stage1"]["best_epoch"], results_of(full)["stage1"]["best_epoch"]);
  std::vector<int> epochs;
  for (const auto& line : stage1_evaluations(stopped)) epochs.push_back(line["epoch"]);
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3}));
}

// The encoder positives.warmup_encoder trains with stage 1's settings never selects:
// only stage 1 evaluates between epochs.
TEST_F(Launch, TheMiningEncoderKeepsItsLastEpoch) {
  write("best.toml", kSelecting);
  const Outcome run = launch(
      "best.toml --run-id warm --set stage1.eval_every_epoch=true --set positives.enabled=true "
      "--set positives.warmup_encoder=true --set positives.rank_lo=1 --set positives.rank_hi=50");
  ASSERT_EQ(run.status, 0) << run.output;
  const fs::path dir = dir_ / "runs/tiny/warm";
  EXPECT_TRUE(fs::exists(dir / "checkpoints/mining-encoder-final.pt"));
  EXPECT_FALSE(fs::exists(dir / "checkpoints/mining-encoder-best.pt"));
  EXPECT_TRUE(fs::exists(dir / "checkpoints/stage1-best.pt"));
  EXPECT_EQ(stage1_evaluations(dir).size(), 3u);
  EXPECT_TRUE(stage1_evaluations(dir, "mining-encoder").empty()) << "the mining encoder evaluated between epochs";
  EXPECT_FALSE(nlohmann::json::parse(read_file(dir / "results.json"))["mining-encoder"].contains("best_epoch"));
}

// RTD keeps its best step (by CIRR val R@1 in its recipe): its text-triplet trainer
// selects like the triplet trainer, here on a metric whose best epoch is not the last,
// the same on 1, 2 and 3 ranks; the kept epoch is stage 1's result and what the run's
// evaluation reports.
TEST_F(Launch, RtdKeepsItsBestEpochOnOneTwoAndThreeRanks) {
  testing::write_tiny_clip(dir_ / "clip");
  testing::write_tiny_phi(dir_ / "phi.safetensors");
  // Three epochs of 3 steps at a larger lr, so that the 24 val queries' metrics move.
  const auto launch_on = [&](int ranks, const std::string& args) {
    return testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                              SPN_LAUNCH + " " + testing::kRtdExperiment + testing::kRtdSmaller +
                              " --set stage1.epochs=3 --set stage1.lr=1e-3 --set stage1.eval_every_epoch=true " + args);
  };
  std::vector<nlohmann::json> trajectory;
  std::string metric;
  ASSERT_NO_FATAL_FAILURE(probe_and_plain(launch_on, dir_ / "runs/shapes_rtd", trajectory, metric));

  std::map<int, std::vector<nlohmann::json>> evaluations;
  for (int ranks : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    nlohmann::json results;
    ASSERT_NO_FATAL_FAILURE(
        run_selecting_on(launch_on, dir_ / "runs/shapes_rtd", ranks, metric, evaluations[ranks], results));
  }
  for (size_t epoch = 0; epoch < 3; ++epoch)
    EXPECT_EQ(evaluations[1][epoch]["eval"], trajectory[epoch]["eval"]) << "selecting changed what was trained";
  // Within two queries: at lr 1e-3 (ten times the world-size test's) rounding differences
  // of the reduction order grow faster over the 9 steps; a different epoch or step would
  // move the weights by about lr everywhere.
  expect_same_evaluations(evaluations, 24, 2);
}

// The image trainers (Pic2Word's mapping network, SEARLE's φ after its OTI pre-pass)
// select like the others, as SEARLE's train_phi.py validates on CIRR val after each
// epoch: on a metric whose best epoch is not the last, the same on 1, 2 and 3 ranks; the
// mapping network stage1.export_mapper_weights writes is the kept epoch's (read back
// without training, it scores as that epoch did).
TEST_F(Launch, Pic2WordAndSearleKeepTheirBestEpochOnOneTwoAndThreeRanks) {
  testing::write_tiny_clip(dir_ / "clip");
  ASSERT_TRUE(testing::write_random_clip(dir_ / "clip-random"));
  // SEARLE's on a CLIP whose features move with its word (testing::write_random_clip),
  // at an lr at which its val metrics move between epochs.
  const std::pair<std::string, std::string> families[] = {
      {"shapes_pic2word", testing::kPic2WordExperiment + testing::kPic2WordSmaller},
      {"shapes_searle", testing::kSearleExperiment + testing::kSearleSmaller +
                            " --set model.clip_dir=clip-random --set stage1.lr=1e-2"}};
  for (const auto& [name, experiment] : families) {
    SCOPED_TRACE(name);
    // Each world size exports to its own file; the 1-rank runs in the order probe, plain, np1.
    const auto launch_on = [&](int ranks, const std::string& args) {
      return testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                                SPN_LAUNCH + " " + experiment +
                                " --set stage1.epochs=3 --set stage1.eval_every_epoch=true"
                                " --set stage1.export_mapper_weights=" +
                                name + "-np" + std::to_string(ranks) + ".safetensors " + args);
    };
    const fs::path runs = dir_ / "runs" / name;
    std::vector<nlohmann::json> trajectory;
    std::string metric;
    ASSERT_NO_FATAL_FAILURE(probe_and_plain(launch_on, runs, trajectory, metric));
    std::map<int, std::vector<nlohmann::json>> evaluations;
    nlohmann::json one_rank;
    for (int ranks : {1, 2, 3}) {
      SCOPED_TRACE(std::to_string(ranks) + " ranks");
      nlohmann::json results;
      ASSERT_NO_FATAL_FAILURE(run_selecting_on(launch_on, runs, ranks, metric, evaluations[ranks], results));
      if (ranks == 1) one_rank = results;
    }
    for (size_t epoch = 0; epoch < 3; ++epoch)
      EXPECT_EQ(evaluations[1][epoch]["eval"], trajectory[epoch]["eval"]) << "selecting changed what was trained";
    expect_same_evaluations(evaluations, 24, 2);

    const Outcome reread =
        launch(experiment + " --run-id reread --set stage1.epochs=0 --set model.mapper_weights=" + name +
               "-np1.safetensors --set 'stage1.export_mapper_weights=\"\"'");
    ASSERT_EQ(reread.status, 0) << reread.output;
    const auto again = nlohmann::json::parse(read_file(runs / "reread/results.json"));
    for (const auto& [key, value] : one_rank["stage1"]["best_epoch"]["metrics"].items())
      EXPECT_NEAR(again["stage1"]["val"][key].get<double>(), value.get<double>(), 1e-9) << key;
  }
}

TEST_F(Launch, StageOneSelectionKeysAreCheckedBeforeAnyWork) {
  write("best.toml", kSelecting);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --set stage1.eval_every_epoch=true --set \"eval.datasets=['circo']\"",
       "eval.datasets: stage 1 evaluates [data]'s eval.split after each epoch to keep its best checkpoint "
       "(stage1.eval_every_epoch), so \"data\" must be listed"},
      {" --set stage1.select_metric=R@20", "stage1.select_metric: \"R@20\" is not a CIRR metric"},
  };
  int number = 0;
  for (const auto& [overrides, expected] : cases) {
    const Outcome outcome = launch("best.toml --run-id bad" + std::to_string(number++) + overrides);
    EXPECT_EQ(outcome.status, 2) << overrides << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << overrides << "\n" << outcome.output;
  }
}

}  // namespace
}  // namespace spn
