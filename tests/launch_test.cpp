// spn-launch as a user runs it, in a subprocess: exit status 2 for bad input with the
// key and place named, --print-config, a finished run printing its results, and a run
// killed in the middle of stage 1 resuming to the same metrics as an uninterrupted one.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <torch/serialize/input-archive.h>
#include <torch/types.h>
#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/files.h"
#include "http_test_server.h"
#include "launch_fixture.h"
#include "test_files.h"
#include "train/checkpoint.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;
using testing::run_shell;

TEST_F(Launch, ConfigErrorsExitTwoAndNameTheKey) {
  write("bad.toml", "name = \"x\"\n[stage1]\ntypo = 1\n");
  Outcome outcome = launch("bad.toml");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("bad.toml:3: stage1.typo: unknown key"), std::string::npos) << outcome.output;

  write("ok.toml", kTinyExperiment);
  outcome = launch("ok.toml --set model.head=transformer --run-id unknown-head");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("--set model.head=transformer: model.head: unknown name \"transformer\""),
            std::string::npos)
      << outcome.output;
  outcome = launch("ok.toml --set positives.enabled=true");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("positives.enabled: the generated triplets would never be trained on"),
            std::string::npos)
      << outcome.output;
  // The failed run's directory records the failure and its reason.
  const auto status = nlohmann::json::parse(read_file(dir_ / "runs/tiny/unknown-head/status.json"));
  EXPECT_EQ(status["state"], "failed") << status.dump();
  EXPECT_NE(status.value("error", "").find("model.head: unknown name"), std::string::npos) << status.dump();

  outcome = launch("missing.toml");
  EXPECT_EQ(outcome.status, 2);
  EXPECT_NE(outcome.output.find("missing.toml: config file not found"), std::string::npos) << outcome.output;

  outcome = launch("ok.toml --set stage1.batch_size=100000");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("stage1.batch_size: 100000 is larger than the 160 training triplets"),
            std::string::npos)
      << outcome.output;
  // With 0 epochs nothing trains (a zero-shot evaluation): the batch is never drawn.
  outcome = launch("ok.toml --run-id no-epochs --set stage1.batch_size=100000 --set stage1.epochs=0");
  EXPECT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(nlohmann::json::parse(read_file(dir_ / "runs/tiny/no-epochs/results.json"))["stage1"]["train"]["steps"], 0)
      << outcome.output;

  outcome = run_shell(std::string(SPN_MPIRUN) + " -np 2 " + SPN_LAUNCH + " " + (dir_ / "bad.toml").string());
  EXPECT_EQ(outcome.status, 2) << outcome.output;
}

// Output directories a user names that cannot be created (here: under a regular file)
// are bad input: status 2, with the directory and the system's reason named.
TEST_F(Launch, UncreatableOutputDirectoriesExitTwoNamingThePath) {
  write("tiny.toml", std::string(kTinyExperiment) + "[stage2]\nenabled = true\nepochs = 1\nbatch_size = 16\n");
  write("file", "not a directory\n");
  Outcome outcome = launch("tiny.toml --set runs_dir=file/runs");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("file/runs"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("Not a directory"), std::string::npos) << outcome.output;

  outcome = launch("tiny.toml --set stage1.epochs=1 --set stage2.bank_dir=file/banks");
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("file/banks"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("Not a directory"), std::string::npos) << outcome.output;
}

TEST_F(Launch, PrintConfigShowsResolvedValues) {
  write("ok.toml", kTinyExperiment);
  const Outcome outcome = launch("ok.toml --print-config --set stage1.lr=0.25");
  EXPECT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("lr = 0.25"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("train_triplets = 160"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("weight_decay = "), std::string::npos) << "defaults are shown too";
}

nlohmann::json results_of(const fs::path& run) { return nlohmann::json::parse(read_file(run / "results.json")); }

// Every tensor of a checkpoint archive by its path in the archive ("model/head/...").
void collect_tensors(torch::serialize::InputArchive& archive, const std::string& prefix,
                     std::map<std::string, torch::Tensor>& out) {
  for (const std::string& key : archive.keys()) {
    torch::serialize::InputArchive nested;
    torch::Tensor tensor;
    if (archive.try_read(key, nested))
      collect_tensors(nested, prefix + key + "/", out);
    else if (archive.try_read(key, tensor))
      out[prefix + key] = tensor;
  }
}

std::map<std::string, torch::Tensor> checkpoint_tensors(const fs::path& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path.string());
  std::map<std::string, torch::Tensor> tensors;
  collect_tensors(archive, "", tensors);
  return tensors;
}

// The same weights (and optimizer state, if any) bit for bit.
void expect_same_tensors(const fs::path& path, const fs::path& expected_path) {
  const auto tensors = checkpoint_tensors(path), expected = checkpoint_tensors(expected_path);
  EXPECT_GT(expected.size(), 1u) << expected_path;
  ASSERT_EQ(tensors.size(), expected.size()) << path;
  for (const auto& [name, tensor] : expected) {
    ASSERT_TRUE(tensors.count(name)) << name << " missing in " << path;
    EXPECT_TRUE(torch::equal(tensors.at(name), tensor)) << name << " differs in " << path;
  }
}

// Deletes a root attribute of an HDF5 bank in place, as a foreign tool might.
void delete_bank_attribute(const fs::path& bank, const char* name) {
  const hid_t file = H5Fopen(bank.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0) << bank;
  EXPECT_GE(H5Adelete(file, name), 0) << name;
  H5Fclose(file);
}

TEST_F(Launch, KilledRunResumesToTheSameMetrics) {
  write("tiny.toml", kTinyExperiment);
  const Outcome full = launch("tiny.toml --run-id full");
  ASSERT_EQ(full.status, 0) << full.output;
  EXPECT_NE(full.output.find("Rsubset@3"), std::string::npos) << full.output;
  const fs::path full_run = dir_ / "runs/tiny/full";
  for (const char* record : {"config.toml", "command.json", "git.json", "environment.json", "seeds.json",
                             "metrics.jsonl", "status.json", "results.json", "vocab.txt", "logs/rank-0.log",
                             "done/stage1", "done/eval-stage1", "checkpoints/stage1-final.pt"})
    EXPECT_TRUE(fs::exists(full_run / record)) << record;
  EXPECT_EQ(nlohmann::json::parse(read_file(full_run / "status.json"))["state"], "finished");

  // Start the same experiment, kill it once it has checkpointed part of stage 1.
  const fs::path killed_run = dir_ / "runs/tiny/killed";
  const pid_t child = start_launch({"tiny.toml", "--run-id", "killed"}, "killed");
  ASSERT_GE(child, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool checkpointed = false;
  while (std::chrono::steady_clock::now() < deadline && !checkpointed) {
    auto latest = latest_checkpoint(killed_run / "checkpoints", "stage1");
    checkpointed = latest && latest->filename().string() >= "stage1-step0000008.pt";
    if (!checkpointed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(checkpointed) << read_file(dir_ / "killed.log");
  ASSERT_FALSE(fs::exists(killed_run / "done/stage1"))
      << "stage 1 finished before the kill; the test needs a longer run";
  EXPECT_EQ(nlohmann::json::parse(read_file(killed_run / "status.json"))["state"], "running");

  const Outcome resumed = launch("tiny.toml --run-id killed");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  EXPECT_EQ(results_of(killed_run)["stage1"]["val"], results_of(full_run)["stage1"]["val"]);
  expect_same_tensors(killed_run / "checkpoints/stage1-final.pt", full_run / "checkpoints/stage1-final.pt");

  // The resumed metrics log has each step once.
  std::vector<int64_t> steps;
  std::istringstream lines(read_file(killed_run / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line);
    if (entry["stage"] == "stage1") steps.push_back(entry["step"]);
  }
  for (size_t i = 1; i < steps.size(); ++i) EXPECT_LT(steps[i - 1], steps[i]);

  const Outcome again = launch("tiny.toml --run-id killed");
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.output.find("already finished"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("stage1"), std::string::npos) << again.output;
}

TEST_F(Launch, StageTwoSharesItsBankAcrossRunsAndRefusesACorruptOne) {
  write("tiny.toml", std::string(kTinyExperiment) + "[stage2]\nenabled = true\nepochs = 2\nbatch_size = 16\n");
  const Outcome first = launch("tiny.toml --run-id first");
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("built bank"), std::string::npos) << first.output;
  const auto results = results_of(dir_ / "runs/tiny/first");
  EXPECT_TRUE(results["stage2"].contains("val")) << results.dump();
  EXPECT_TRUE(results["stage2"]["val"].contains("Rsubset@1"));
  EXPECT_NE(first.output.find("stage2 "), std::string::npos) << "the table shows stage 2" << first.output;
  // Each epoch was evaluated; stage 2's result is the best epoch's checkpoint, which
  // evaluates to exactly the metrics recorded when it was kept.
  const auto best = results["stage2"]["best_epoch"];
  EXPECT_EQ(best["metric"], "Avg") << results.dump();
  EXPECT_GE(best["epoch"].get<int>(), 1);
  EXPECT_LE(best["epoch"].get<int>(), 2);
  EXPECT_EQ(best["metrics"], results["stage2"]["val"]);
  EXPECT_TRUE(fs::exists(dir_ / "runs/tiny/first/checkpoints/stage2-best.pt"));
  EXPECT_NE(first.output.find("stage2 epoch 2: Avg"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("sharded (rows 0.."), std::string::npos) << first.output;

  // Same experiment, same stage-1 weights: the bank is found and reused, not rebuilt.
  const Outcome second = launch("tiny.toml --run-id second");
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("reusing bank"), std::string::npos) << second.output;
  EXPECT_EQ(second.output.find("built bank"), std::string::npos) << second.output;
  EXPECT_EQ(results_of(dir_ / "runs/tiny/second")["stage2"]["val"], results["stage2"]["val"]);

  // Stage 2 only: stage-1 weights from the first run, its bank reused, the same result.
  const Outcome only = launch("tiny.toml --run-id only --set stage1.epochs=0 --set stage1.init_checkpoint=" +
                              (dir_ / "runs/tiny/first/checkpoints/stage1-final.pt").string());
  ASSERT_EQ(only.status, 0) << only.output;
  EXPECT_NE(only.output.find("reusing bank"), std::string::npos) << only.output;
  EXPECT_EQ(results_of(dir_ / "runs/tiny/only")["stage1"]["val"], results["stage1"]["val"]);
  EXPECT_EQ(results_of(dir_ / "runs/tiny/only")["stage2"]["val"], results["stage2"]["val"]);
  const Outcome missing = launch("tiny.toml --run-id missing --set stage1.init_checkpoint=nowhere.pt");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(
      missing.output.find("--set stage1.init_checkpoint=nowhere.pt: stage1.init_checkpoint: nowhere.pt not found"),
      std::string::npos)
      << missing.output;

  // Replicated bank, references re-encoded: the options reach stage 2.
  const Outcome replicated =
      launch("tiny.toml --run-id replicated --set stage2.bank_mode=replicated --set stage2.reference_features=encoder");
  ASSERT_EQ(replicated.status, 0) << replicated.output;
  EXPECT_NE(replicated.output.find("replicated on every rank, reference features from the encoder"), std::string::npos)
      << replicated.output;

  // A bank file that is not what its name promises is refused, naming the file and the
  // mismatch, and the run fails with status 2: a bank of another encoder copied over
  // this encoder's, no completeness flag, cut short.
  const fs::path bank = dir_ / results["artifacts"]["bank"].get<std::string>();
  const std::string bytes = read_file(bank);
  const std::string other_encoder = "tiny.toml --set stage1.epochs=1 --run-id ";
  ASSERT_EQ(launch(other_encoder + "other").status, 0);
  const fs::path other_bank = dir_ / results_of(dir_ / "runs/tiny/other")["artifacts"]["bank"].get<std::string>();
  ASSERT_NE(other_bank, bank);
  write_file_atomic(other_bank, bytes);
  const auto refused = [&](const std::string& args, const fs::path& file, const std::string& message) {
    const Outcome outcome = launch(args);
    EXPECT_EQ(outcome.status, 2) << outcome.output;
    EXPECT_NE(outcome.output.find(file.filename().string()), std::string::npos) << outcome.output;
    EXPECT_NE(outcome.output.find(message), std::string::npos) << outcome.output;
  };
  refused(other_encoder + "copied", other_bank, "encoder fingerprint mismatch");
  delete_bank_attribute(bank, "complete");
  refused("tiny.toml --run-id incomplete", bank, "incomplete bank");
  write_file_atomic(bank, bytes.substr(0, bytes.size() / 2));
  refused("tiny.toml --run-id truncated", bank, "");
}

TEST_F(Launch, PositiveScalingGeneratesTripletsThatBothWaysOfMiningReproduce) {
  write("tiny.toml", std::string(kTinyExperiment) +
                         "[stage2]\nenabled = true\nepochs = 1\nbatch_size = 16\n"
                         "[positives]\nenabled = true\nrank_lo = 5\nrank_hi = 50\n");
  const std::string more_images = " --set data.shapes.extra_images=200";
  // Mining with this run's stage-1 encoder, after stage 1: stage 2 trains on them.
  const Outcome first = launch("tiny.toml --run-id after" + more_images);
  ASSERT_EQ(first.status, 0) << first.output;
  const fs::path after = dir_ / "runs/tiny/after";
  const auto results = results_of(after);
  const auto summary = results["positives"]["summary"];
  EXPECT_EQ(summary["images"], 520) << results.dump();
  EXPECT_LT(summary["unique_images"].get<int>(), 520) << "the benchmark repeats some scenes pixel for pixel";
  EXPECT_EQ(summary["generated_triplets"], summary["unique_images"]);
  EXPECT_NE(first.output.find("stage1: 160 triplets"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("stage2: " + std::to_string(160 + summary["unique_images"].get<int>()) + " triplets"),
            std::string::npos)
      << first.output;
  const std::string generated = read_file(after / "positives/cap.rc2.generated.json");

  // Rerun: every step is found finished.
  const Outcome again = launch("tiny.toml --run-id after" + more_images);
  ASSERT_EQ(again.status, 0) << again.output;

  // Mining first, with the same weights from a checkpoint: the same triplets, and stage 1
  // trains on them too.
  const Outcome before = launch("tiny.toml --run-id before" + more_images + " --set positives.encoder_checkpoint=" +
                                (after / "checkpoints/stage1-final.pt").string());
  ASSERT_EQ(before.status, 0) << before.output;
  EXPECT_EQ(read_file(dir_ / "runs/tiny/before/positives/cap.rc2.generated.json"), generated);
  EXPECT_NE(before.output.find("stage1: " + std::to_string(160 + summary["unique_images"].get<int>()) + " triplets"),
            std::string::npos)
      << before.output;

  // A warmed-up encoder: trained first on the annotated triplets, it mines before stage
  // 1, exactly as its checkpoint given as positives.encoder_checkpoint does; with stage 2
  // off, stage 1 is what trains on the triplets.
  const std::string warm = " --set positives.warmup_encoder=true --set stage2.enabled=false";
  const Outcome warmed = launch("tiny.toml --run-id warmed" + more_images + warm);
  ASSERT_EQ(warmed.status, 0) << warmed.output;
  const fs::path warmed_run = dir_ / "runs/tiny/warmed";
  EXPECT_EQ(results_of(warmed_run)["mining-encoder"]["train"]["steps"], 30) << "3 epochs of 160 / 16";
  EXPECT_NE(warmed.output.find("mining-encoder: 160 triplets"), std::string::npos) << warmed.output;
  EXPECT_NE(warmed.output.find("stage1: " + std::to_string(160 + summary["unique_images"].get<int>()) + " triplets"),
            std::string::npos)
      << warmed.output;
  const Outcome given =
      launch("tiny.toml --run-id given" + more_images + " --set stage2.enabled=false" +
             " --set positives.encoder_checkpoint=" + (warmed_run / "checkpoints/mining-encoder-final.pt").string());
  ASSERT_EQ(given.status, 0) << given.output;
  EXPECT_EQ(read_file(dir_ / "runs/tiny/given/positives/cap.rc2.generated.json"),
            read_file(warmed_run / "positives/cap.rc2.generated.json"));
  const Outcome both =
      launch("tiny.toml --run-id both" + more_images + warm + " --set positives.encoder_checkpoint=x.pt");
  EXPECT_EQ(both.status, 2) << both.output;
  EXPECT_NE(both.output.find("positives.warmup_encoder: positives.encoder_checkpoint, positives.warmup_encoder and "
                             "positives.initial_encoder each name the mining encoder"),
            std::string::npos)
      << both.output;

  const Outcome window = launch("tiny.toml --run-id window" + more_images + " --set positives.rank_lo=600");
  EXPECT_EQ(window.status, 2) << window.output;
  EXPECT_NE(window.output.find("--set positives.rank_lo=600: positives.rank_lo: the window [600, 50)"),
            std::string::npos)
      << window.output;
}

TEST_F(Launch, CaptioningKilledMidwayResumesWithNothingLostOrRepeated) {
  testing::HttpTestServer server(testing::HttpTestServer::Mode::Slow, 0, /*delay_ms=*/40);
  write("tiny.toml", std::string(kTinyExperiment) +
                         "[stage2]\nenabled = true\nepochs = 1\nbatch_size = 16\n"
                         "[positives]\nenabled = true\nrank_lo = 5\nrank_hi = 50\ncaptioner = \"openai\"\n"
                         "[positives.openai]\nin_flight = 1\nurls = [\"" +
                         server.url() + "\"]\n");
  const fs::path journal = dir_ / "runs/tiny/killed/positives/captions.journal-0.jsonl";
  const auto journaled = [&] {
    if (!fs::exists(journal)) return 0;
    const std::string text = read_file(journal);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  const pid_t child = start_launch({"tiny.toml", "--run-id", "killed"}, "killed");
  ASSERT_GE(child, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (journaled() < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  const int done_before_kill = journaled();
  ASSERT_GE(done_before_kill, 5) << read_file(dir_ / "killed.log");

  server.set_delay_ms(0);
  const int requests_before_resume = server.requests();
  const Outcome resumed = launch("tiny.toml --run-id killed");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const int unique = results_of(dir_ / "runs/tiny/killed")["positives"]["summary"]["unique_images"];
  EXPECT_EQ(server.requests() - requests_before_resume, unique - done_before_kill)
      << "the resumed run captioned finished images again, or skipped some";

  const Outcome full = launch("tiny.toml --run-id full");
  ASSERT_EQ(full.status, 0) << full.output;
  EXPECT_EQ(read_file(dir_ / "runs/tiny/killed/positives/captions.json"),
            read_file(dir_ / "runs/tiny/full/positives/captions.json"));
  EXPECT_EQ(read_file(dir_ / "runs/tiny/killed/positives/cap.rc2.generated.json"),
            read_file(dir_ / "runs/tiny/full/positives/cap.rc2.generated.json"));
}

// A run stopped in the middle of stage 2's last epoch (its state rebuilt from a finished
// run: the newest checkpoint, the completion markers and the status removed) resumes to
// the same stage-2 result and best epoch, with each epoch's evaluation logged once.
TEST_F(Launch, StageTwoResumedMidEpochKeepsItsBestEpoch) {
  write("tiny.toml",
        std::string(kTinyExperiment) + "[stage2]\nenabled = true\nepochs = 3\nbatch_size = 16\ncheckpoint_every = 5\n");
  ASSERT_EQ(launch("tiny.toml --run-id full").status, 0);
  const fs::path full = dir_ / "runs/tiny/full", stopped = dir_ / "runs/tiny/stopped";
  fs::copy(full, stopped, fs::copy_options::recursive);
  for (const char* finished :
       {"done/stage2", "done/eval-stage2", "checkpoints/stage2-final.pt", "checkpoints/stage2-step0000030.pt"})
    ASSERT_TRUE(fs::remove(stopped / finished)) << finished;
  write_file_atomic(stopped / "status.json", R"({"state": "running"})");

  const Outcome resumed = launch("tiny.toml --run-id stopped");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("stage2: resuming from"), std::string::npos) << resumed.output;
  EXPECT_EQ(results_of(stopped)["stage2"]["val"], results_of(full)["stage2"]["val"]);
  EXPECT_EQ(results_of(stopped)["stage2"]["best_epoch"], results_of(full)["stage2"]["best_epoch"]);
  std::vector<int> evaluated_epochs;
  std::istringstream lines(read_file(stopped / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line);
    if (entry["stage"] == "stage2" && entry.contains("eval")) evaluated_epochs.push_back(entry["epoch"]);
  }
  EXPECT_EQ(evaluated_epochs, (std::vector<int>{1, 2, 3}));
}

// A sweep of tiny runs: killed while its second variant runs, then resumed (finished
// variants skipped, the interrupted one resumed); a failing variant does not stop the
// others and is retried only when asked; a changed sweep is refused.
TEST_F(Launch, SweepsResumeSkipFinishedRunsAndRefuseAChangedDefinition) {
  write("tiny.toml", kTinyExperiment);
  const std::string sweep = R"([sweep]
name = "study"
base = "tiny.toml"
on_failure = "continue"
[sweep.fixed]
"stage1.epochs" = 2
[sweep.grid]
seed = [0, 1, 2]
[[sweep.variants]]
"stage1.batch_size" = 100000
)";
  write("sweep.toml", sweep);
  const fs::path table = dir_ / "runs/sweeps/study/runs.json";
  const auto status_of = [&](size_t variant) -> std::string {
    if (!fs::exists(table)) return "";
    const auto runs = nlohmann::json::parse(read_file(table));
    return variant < runs.size() ? runs[variant].value("status", "") : "";
  };
  const pid_t child = start_launch({"sweep.toml"}, "sweep");
  ASSERT_GE(child, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (status_of(1) != "running" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_EQ(status_of(0), "finished") << read_file(dir_ / "sweep.log");
  ASSERT_EQ(status_of(1), "running");

  const Outcome resumed = launch("sweep.toml");
  EXPECT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("sweep study: resuming"), std::string::npos) << resumed.output;
  const auto runs = nlohmann::json::parse(read_file(table));
  ASSERT_EQ(runs.size(), 4u);
  const std::string first_run = runs[0]["run"];
  EXPECT_NE(resumed.output.find("run " + first_run + " already finished"), std::string::npos) << resumed.output;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(runs[i]["status"], "finished") << i;
    EXPECT_TRUE(results_of(dir_ / runs[i]["run"].get<std::string>())["stage1"].contains("val")) << i;
  }
  // The batch larger than the data fails by itself; the sweep went on and says so.
  EXPECT_EQ(runs[3]["status"], "failed");
  EXPECT_NE(runs[3]["error"].get<std::string>().find("stage1.batch_size: 100000 is larger than the 160"),
            std::string::npos)
      << runs[3].dump();
  const Outcome again = launch("sweep.toml");
  EXPECT_NE(again.output.find("failed before; skipped (--retry-failed retries it)"), std::string::npos) << again.output;
  const Outcome retried = launch("sweep.toml --retry-failed");
  EXPECT_NE(retried.output.find("larger than the 160"), std::string::npos) << retried.output;

  write("sweep.toml", sweep + "[sweep.random]\nsamples = 1\nseed = 4\nspace = { \"stage1.lr\" = [0.1, 0.2] }\n");
  const Outcome changed = launch("sweep.toml");
  EXPECT_EQ(changed.status, 2) << changed.output;
  EXPECT_NE(changed.output.find("this sweep changed since runs/sweeps/study was started: added variant 'stage1.lr="),
            std::string::npos)
      << changed.output;
}

}  // namespace
}  // namespace spn
