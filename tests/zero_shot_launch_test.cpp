// The zero-shot families through spn-launch, as a user runs them:
// experiments/shapes_pic2word.toml (a tiny random CLIP on the built-in benchmark) trains
// IM2TEXT on the split's images and evaluates CIRR's and CIRCO's protocols under mpirun
// on 1, 2 and 3 ranks, with the same loss, weights and metrics; SEARLE's phi evaluates
// without a training split; what the families refuse stops with exit 2 naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "clip_fixture.h"
#include "config/config_file.h"
#include "data/splits.h"
#include "launch_fixture.h"
#include "models/zero_shot_model.h"
#include "train/checkpoint.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

const std::string kPic2WordExperiment = (fs::path(SPN_SOURCE_DIR) / "experiments" / "shapes_pic2word.toml").string();
// Smaller than the shipped file, so three runs take seconds; the CLIP the test writes.
const std::string kPic2WordSmaller =
    " --set model.clip_dir=clip --set threads=1 --set data.shapes.train_triplets=60 --set data.shapes.val_triplets=24"
    " --set data.shapes.extra_images=20 --set eval.circo.queries=16 --set stage1.epochs=2 --set stage1.batch_size=16"
    " --set stage1.log_every=1 --set stage1.lr=1e-3";

// The weights a run's checkpoint holds.
std::shared_ptr<ZeroShotModel> pic2word_weights_of(const fs::path& clip_dir, const fs::path& checkpoint) {
  const ExperimentConfig config = load_config_text(
      "", "<test>",
      {"model.family=pic2word", "model.clip_dir=" + clip_dir.string(), "model.embed_dim=24", "data.image_size=32"});
  auto model = make_zero_shot_model(config, 4514, ZeroShotMethod::kPic2Word);
  load_checkpoint(checkpoint, *model, nullptr);
  return model;
}

TEST_F(Launch, Pic2WordShapesExperimentGivesTheSameRunOnOneTwoAndThreeRanks) {
  testing::write_tiny_clip(dir_ / "clip");
  std::map<int, nlohmann::json> results;
  for (int ranks : {1, 2, 3}) {
    const Outcome run = testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " +
                                           std::to_string(ranks) + " " + SPN_LAUNCH + " " + kPic2WordExperiment +
                                           " --run-id np" + std::to_string(ranks) + kPic2WordSmaller);
    ASSERT_EQ(run.status, 0) << run.output;
    results[ranks] = nlohmann::json::parse(
        read_file(dir_ / "runs/shapes_pic2word" / ("np" + std::to_string(ranks)) / "results.json"));
  }
  const nlohmann::json& one = results[1];
  ASSERT_TRUE(one["stage1"].contains("val")) << one.dump();
  ASSERT_TRUE(one["stage1"].contains("circo/val")) << one.dump();
  // Two epochs over every image of the split (its triplets are not used).
  DataConfig data;
  data.root = (dir_ / "datasets/shapes-pic2word").string();
  const int64_t images = static_cast<int64_t>(load_split(data, "train").images.size());
  EXPECT_GT(images, 60);
  EXPECT_EQ(one["stage1"]["train"]["steps"].get<int64_t>(), 2 * (images / 16));
  const double loss = one["stage1"]["train"]["final_loss"].get<double>();
  EXPECT_TRUE(std::isfinite(loss)) << one.dump();
  const auto one_rank =
      pic2word_weights_of(dir_ / "clip", dir_ / "runs/shapes_pic2word/np1/checkpoints/stage1-final.pt");
  for (int ranks : {2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const nlohmann::json& other = results[ranks];
    EXPECT_NEAR(other["stage1"]["train"]["final_loss"].get<double>(), loss, 1e-4 * std::abs(loss));
    // Scores that differ in the last float bit may swap two candidates: one query of 24
    // is 4.17 points (of 16, 6.25).
    for (const char* split : {"val", "circo/val"})
      for (const auto& [metric, value] : one["stage1"][split].items())
        EXPECT_NEAR(other["stage1"][split][metric].get<double>(), value.get<double>(), 6.3) << split << " " << metric;
    const auto named =
        pic2word_weights_of(dir_ / "clip", dir_ / "runs/shapes_pic2word" / ("np" + std::to_string(ranks)) /
                                               "checkpoints/stage1-final.pt")
            ->named_parameters();
    // In float32 AdamW's division by each gradient's own running size turns the
    // rounding of another reduction order into weight differences up to about 1e-4 over
    // these 16 steps (measured: 9.5e-5; the float64 steps test agrees to 1e-9); a step
    // that differed would be off by about lr = 1e-3 per element.
    for (const auto& item : one_rank->named_parameters())
      EXPECT_LE((named[item.key()] - item.value()).abs().max().item<double>(), 3e-4) << item.key();
  }
}

TEST_F(Launch, SearleEvaluatesWithoutATrainingSplit) {
  testing::write_tiny_clip(dir_ / "clip");
  const Outcome run = launch(kPic2WordExperiment + " --run-id searle" + kPic2WordSmaller +
                             " --set model.family=searle --set stage1.epochs=0 --set 'eval.datasets=[\"circo\"]'");
  ASSERT_EQ(run.status, 0) << run.output;
  const auto results = nlohmann::json::parse(read_file(dir_ / "runs/shapes_pic2word/searle/results.json"));
  ASSERT_TRUE(results["stage1"].contains("circo/val")) << results.dump();
  EXPECT_GE(results["stage1"]["circo/val"]["mAP@50"].get<double>(), 0.0);
  // Only the CIRCO-style split was generated: no training split was read.
  EXPECT_FALSE(fs::exists(dir_ / "datasets/shapes-pic2word")) << run.output;
}

TEST_F(Launch, ZeroShotRefusalsExitTwoNamingTheKey) {
  testing::write_tiny_clip(dir_ / "clip");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --set model.clip_dir=models/clip-vit-large-patch14",
       "models/clip-vit-large-patch14/vocab.json: missing. A CLIP model directory holds config.json"},
      {" --set stage2.enabled=true", "stage2.enabled: with model.family = \"pic2word\""},
      {" --set model.family=searle", "stage1.epochs: with model.family = \"searle\" the training of phi"},
      {" --set model.mapper_weights=absent.safetensors", "model.mapper_weights: absent.safetensors not found"},
  };
  int case_number = 0;
  for (const auto& [overrides, expected] : cases) {
    const Outcome outcome =
        launch(kPic2WordExperiment + " --run-id bad" + std::to_string(case_number++) + kPic2WordSmaller + overrides);
    EXPECT_EQ(outcome.status, 2) << overrides << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << overrides << "\n" << outcome.output;
  }
}

}  // namespace
}  // namespace spn
