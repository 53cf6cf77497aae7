// SPRC through spn-launch, as a user runs it: experiments/shapes_sprc.toml (the tiny
// random BLIP-2 of tests/golden/blip2 on the built-in benchmark) trains stage 1 with
// SPRC's losses, builds the token-set bank and the reference bank, trains SPN's stage 2
// (the Q-Former's query copy) and evaluates with max-over-tokens scores under mpirun on
// 1, 2 and 3 ranks, with the same losses, weights and metrics; a missing model directory
// and SPRC's unwritten pair mining stop with exit 2 naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>

#include "launch_fixture.h"
#include "sprc_fixture.h"
#include "train/checkpoint.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

const std::string kExperiment = (fs::path(SPN_SOURCE_DIR) / "experiments" / "shapes_sprc.toml").string();
// Smaller than the shipped file, so three runs take seconds.
const std::string kSmaller = " --set model.blip2_dir=" + testing::blip2_fixture_dir().string() +
                             " --set threads=1 --set data.shapes.train_triplets=80 --set data.shapes.val_triplets=24"
                             " --set stage1.epochs=1 --set stage1.batch_size=16 --set stage1.log_every=1"
                             " --set stage2.epochs=2 --set stage2.batch_size=16 --set stage2.log_every=1";

// The weights of a checkpoint the experiment wrote (its rows are 16 tokens).
std::shared_ptr<SprcModel> weights_of(const fs::path& checkpoint) {
  auto model = testing::sprc_model(testing::sprc_config(16));
  load_checkpoint(checkpoint, *model, nullptr);
  return model;
}

TEST_F(Launch, SprcShapesExperimentGivesTheSameRunOnOneTwoAndThreeRanks) {
  std::map<int, nlohmann::json> results;
  for (int ranks : {1, 2, 3}) {
    const Outcome run =
        testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                           SPN_LAUNCH + " " + kExperiment + " --run-id np" + std::to_string(ranks) + kSmaller);
    ASSERT_EQ(run.status, 0) << run.output;
    results[ranks] =
        nlohmann::json::parse(read_file(dir_ / "runs/shapes_sprc" / ("np" + std::to_string(ranks)) / "results.json"));
  }
  const nlohmann::json& one = results[1];
  for (const char* stage : {"stage1", "stage2"}) {
    SCOPED_TRACE(stage);
    ASSERT_TRUE(one[stage].contains("val")) << one.dump();
    const double loss = one[stage]["train"]["final_loss"].get<double>();
    EXPECT_TRUE(std::isfinite(loss)) << one.dump();
    // Stage 2's result is its best epoch's checkpoint, with SPRC's query copy.
    const std::string checkpoint = std::string(stage) == "stage1" ? "stage1-final.pt" : "stage2-best.pt";
    const auto one_rank = weights_of(dir_ / "runs/shapes_sprc/np1/checkpoints" / checkpoint);
    EXPECT_EQ(one_rank->blip2().has_query_copy(), std::string(stage) == "stage2");
    for (int ranks : {2, 3}) {
      SCOPED_TRACE(std::to_string(ranks) + " ranks");
      const nlohmann::json& other = results[ranks];
      EXPECT_NEAR(other[stage]["train"]["final_loss"].get<double>(), loss, 1e-4 * std::abs(loss));
      // Scores that differ in the last float bit may swap two candidates' order: one query
      // of 24 is 4.17 points.
      for (const auto& [metric, value] : one[stage]["val"].items())
        EXPECT_NEAR(other[stage]["val"][metric].get<double>(), value.get<double>(), 4.2) << metric;
      const auto named =
          weights_of(dir_ / "runs/shapes_sprc" / ("np" + std::to_string(ranks)) / "checkpoints" / checkpoint)
              ->named_parameters();
      // Stage 2 starts from banks each world size computed in other batches and stored
      // in float16, and AdamW divides each element's step by its gradient's size, so an
      // element whose gradient is near zero moves by float noise, up to the learning rate
      // per step (3 ranks: 1 element of 92,913 off by 1.8e-4 after 5 steps at lr 1e-4).
      // Their gradients match to 1e-8 in float64 (DistSprcStage2 in sprc_stage2_test.cpp).
      // Stage 2 may have a few such elements; the rest agree as stage 1's do.
      const double lr = 1e-4;  // the shipped file's
      const double steps = one["stage2"]["best_epoch"]["step"].get<double>();
      int64_t elements = 0, apart = 0;
      for (const auto& item : one_rank->named_parameters()) {
        if (testing::changes_no_output(item.key())) continue;
        const torch::Tensor difference = (named[item.key()] - item.value()).abs();
        elements += difference.numel();
        apart += difference.gt(1e-5).sum().item<int64_t>();
        const double bound = std::string(stage) == "stage1" ? 1e-5 : 2 * lr * steps;
        EXPECT_LE(difference.max().item<double>(), bound) << item.key();
      }
      EXPECT_LE(apart, elements / 10000) << apart << " of " << elements << " elements differ by more than 1e-5";
    }
  }
  // Stage 2 trained the copy only: the frozen side is stage 1's, bit for bit.
  const auto stage1 = weights_of(dir_ / "runs/shapes_sprc/np1/checkpoints/stage1-final.pt")->named_parameters();
  const auto stage2 = weights_of(dir_ / "runs/shapes_sprc/np1/checkpoints/stage2-best.pt")->named_parameters();
  for (const auto& item : stage1)
    if (item.key() != "blip2.temp") EXPECT_TRUE(torch::equal(stage2[item.key()], item.value())) << item.key();
  EXPECT_NE(stage2["blip2.temp"].item<double>(), stage1["blip2.temp"].item<double>());
  // The two banks, one of token sets per image and one of fused query slots per text.
  EXPECT_NE(one["artifacts"]["bank"].get<std::string>().find("/bank-v2-"), std::string::npos) << one.dump();
  EXPECT_NE(one["artifacts"]["reference_bank"].get<std::string>().find("/reference-bank-v2-"), std::string::npos)
      << one.dump();
}

// The reference bank holds the fusion pass per training text, so reading it is the same
// computation as re-encoding each step's reference images (bank in float32).
TEST_F(Launch, SprcStage2FromTheReferenceBankEqualsReencodingTheReferences) {
  std::map<std::string, nlohmann::json> results;
  for (const std::string mode : {"bank", "encoder"}) {
    const Outcome run = launch(kExperiment + " --run-id " + mode + kSmaller +
                               " --set stage2.bank_dtype=float32 --set stage2.reference_features=" + mode);
    ASSERT_EQ(run.status, 0) << run.output;
    results[mode] = nlohmann::json::parse(read_file(dir_ / "runs/shapes_sprc" / mode / "results.json"));
  }
  EXPECT_FALSE(results["encoder"]["artifacts"].contains("reference_bank"));
  const double loss = results["bank"]["stage2"]["train"]["final_loss"].get<double>();
  EXPECT_NEAR(results["encoder"]["stage2"]["train"]["final_loss"].get<double>(), loss, 1e-5 * std::abs(loss));
}

// A run killed during stage 2 resumes from its newest stage-2 checkpoint (SPRC's query
// copy and its AdamW state with it) and ends as the uninterrupted run does.
TEST_F(Launch, SprcStage2KilledAndResumedEndsAsTheUninterruptedRun) {
  const std::string settings = kSmaller + " --set stage2.epochs=3 --set stage2.checkpoint_every=2";
  const Outcome whole = launch(kExperiment + " --run-id whole" + settings);
  ASSERT_EQ(whole.status, 0) << whole.output;

  std::vector<std::string> args = {kExperiment, "--run-id", "killed"};
  std::istringstream words(settings);
  for (std::string word; words >> word;) args.push_back(word);
  const pid_t child = start_launch(args, "killed");
  ASSERT_GE(child, 0);
  const fs::path run = dir_ / "runs/shapes_sprc/killed";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline && !fs::exists(run / "checkpoints/stage2-step0000006.pt.sum"))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_FALSE(fs::exists(run / "done/stage2")) << "stage 2 finished before the kill; the test needs a longer run";

  const Outcome resumed = launch(kExperiment + " --run-id killed" + settings);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("stage2: resuming from"), std::string::npos) << resumed.output;
  const nlohmann::json expected = nlohmann::json::parse(read_file(dir_ / "runs/shapes_sprc/whole/results.json"));
  const nlohmann::json found = nlohmann::json::parse(read_file(run / "results.json"));
  const double loss = expected["stage2"]["train"]["final_loss"].get<double>();
  EXPECT_NEAR(found["stage2"]["train"]["final_loss"].get<double>(), loss, 1e-6 * std::abs(loss));
  EXPECT_EQ(found["stage2"]["val"], expected["stage2"]["val"]);
  EXPECT_EQ(found["stage2"]["best_epoch"]["epoch"], expected["stage2"]["best_epoch"]["epoch"]);
}

// Positive scaling with SPRC: its token sets are mined by their normalised mean token
// (train/positive_scaling.cpp), before stage 1 with the model as built, and both stages
// train on annotated + generated triplets: the same triplets, losses and metrics on 1, 2
// and 3 ranks.
TEST_F(Launch, SprcPositiveScalingMinesTokenSetsTheSameOnOneTwoAndThreeRanks) {
  const std::string positives =
      " --set positives.enabled=true --set positives.initial_encoder=true --set positives.rank_lo=2"
      " --set positives.rank_hi=40 --set data.shapes.extra_images=40 --set stage2.epochs=1";
  std::map<int, nlohmann::json> results;
  std::map<int, std::string> generated;
  for (int ranks : {1, 2, 3}) {
    const std::string id = "mined" + std::to_string(ranks);
    const Outcome run =
        testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                           SPN_LAUNCH + " " + kExperiment + " --run-id " + id + kSmaller + positives);
    ASSERT_EQ(run.status, 0) << run.output;
    results[ranks] = nlohmann::json::parse(read_file(dir_ / "runs/shapes_sprc" / id / "results.json"));
    generated[ranks] = read_file(dir_ / "runs/shapes_sprc" / id / "positives/cap.rc2.generated.json");
    const auto summary = results[ranks]["positives"]["summary"];
    EXPECT_EQ(summary["generated_triplets"], summary["unique_images"]) << summary.dump();
    EXPECT_NE(run.output.find("stage1: " + std::to_string(80 + summary["unique_images"].get<int>()) + " triplets"),
              std::string::npos)
        << run.output;
  }
  for (int ranks : {2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    EXPECT_EQ(generated[ranks], generated[1]);
    for (const char* stage : {"stage1", "stage2"}) {
      const double loss = results[1][stage]["train"]["final_loss"].get<double>();
      EXPECT_NEAR(results[ranks][stage]["train"]["final_loss"].get<double>(), loss, 1e-4 * std::abs(loss)) << stage;
    }
  }
}

TEST_F(Launch, SprcMissingModelOrUnwrittenStageExitsTwoNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --set model.blip2_dir=models/blip2-itm-vit-g",
       "model.blip2_dir: models/blip2-itm-vit-g/config.json is missing; download config.json and model.safetensors "
       "from https://huggingface.co/Salesforce/blip2-itm-vit-g"},
  };
  int case_number = 0;
  for (const auto& [overrides, expected] : cases) {
    const Outcome outcome =
        launch(kExperiment + " --run-id bad" + std::to_string(case_number++) + kSmaller + overrides);
    EXPECT_EQ(outcome.status, 2) << overrides << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << overrides << "\n" << outcome.output;
  }
}

}  // namespace
}  // namespace spn
