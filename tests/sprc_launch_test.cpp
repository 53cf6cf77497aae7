// SPRC through spn-launch, as a user runs it: experiments/shapes_sprc.toml (the tiny
// random BLIP-2 of tests/golden/blip2 on the built-in benchmark) trains stage 1 with
// SPRC's losses and evaluates with max-over-tokens scores under mpirun on 1, 2 and 3
// ranks, with the same loss, weights and metrics; a missing model directory and SPRC's
// unwritten stage 2 stop with exit 2 naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

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
                             " --set stage1.epochs=1 --set stage1.batch_size=16 --set stage1.log_every=1";

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
  ASSERT_TRUE(one["stage1"].contains("val")) << one.dump();
  const double loss = one["stage1"]["train"]["final_loss"].get<double>();
  EXPECT_TRUE(std::isfinite(loss)) << one.dump();
  const auto one_rank = weights_of(dir_ / "runs/shapes_sprc/np1/checkpoints/stage1-final.pt");
  for (int ranks : {2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const nlohmann::json& other = results[ranks];
    EXPECT_NEAR(other["stage1"]["train"]["final_loss"].get<double>(), loss, 1e-4 * std::abs(loss));
    // Scores that differ in the last float bit may swap two candidates' order: one query
    // of 24 is 4.17 points.
    for (const auto& [metric, value] : one["stage1"]["val"].items())
      EXPECT_NEAR(other["stage1"]["val"][metric].get<double>(), value.get<double>(), 4.2) << metric;
    const auto named =
        weights_of(dir_ / "runs/shapes_sprc" / ("np" + std::to_string(ranks)) / "checkpoints/stage1-final.pt")
            ->named_parameters();
    for (const auto& item : one_rank->named_parameters())
      if (!testing::changes_no_output(item.key()))
        EXPECT_LE((named[item.key()] - item.value()).abs().max().item<double>(), 1e-5) << item.key();
  }
}

TEST_F(Launch, SprcMissingModelOrUnwrittenStageExitsTwoNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --set model.blip2_dir=models/blip2-itm-vit-g",
       "model.blip2_dir: models/blip2-itm-vit-g/config.json is missing; download config.json and model.safetensors "
       "from https://huggingface.co/Salesforce/blip2-itm-vit-g"},
      {" --set stage2.enabled=true", "stage2.enabled: SPN's stage 2 with model.family = \"sprc\""},
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
