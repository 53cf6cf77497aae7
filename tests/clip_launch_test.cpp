// The CLIP encoders in the launcher: a tiny random CLIP (tests/clip_fixture.h writes it
// as a model directory, as a user's downloaded one looks) trains through stage 1, the bank and
// stage 2 with CLIP's tokenizer, and mismatches between experiment and model stop
// with exit 2 naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "annotation_cuts.h"
#include "clip_fixture.h"
#include "launch_fixture.h"
#include "models/clip_model.h"
#include "models/clip_tokenizer.h"
#include "models/safetensors.h"
#include "test_models.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;
using testing::write_tiny_clip;

constexpr const char* kClipOverrides =
    " --set model.image_encoder=clip --set model.text_encoder=clip --set model.clip_dir=clip"
    " --set model.embed_dim=24 --set data.max_words=32 --set model.head=sum";

TEST_F(Launch, TinyClipTrainsBothStagesWithItsTokenizer) {
  write_tiny_clip(dir_ / "clip");
  write("tiny.toml", testing::kTinyExperiment);
  const Outcome run = launch(std::string("tiny.toml --run-id clip") + kClipOverrides +
                             " --set stage1.epochs=1 --set stage2.enabled=true --set stage2.epochs=1");
  ASSERT_EQ(run.status, 0) << run.output;
  const fs::path run_dir = dir_ / "runs/tiny/clip";
  const auto results = nlohmann::json::parse(read_file(run_dir / "results.json"));
  for (const char* stage : {"stage1", "stage2"}) {
    ASSERT_TRUE(results[stage].contains("val")) << results.dump();
    EXPECT_GE(results[stage]["val"]["R@50"].get<double>(), 0.0);
  }
  EXPECT_FALSE(fs::exists(run_dir / "vocab.txt")) << "a word vocabulary was built for a CLIP text tower";
}

TEST_F(Launch, ClipMismatchesExitTwoNamingTheKey) {
  write_tiny_clip(dir_ / "clip");
  write("tiny.toml", testing::kTinyExperiment);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --set data.image_size=48", "data.image_size = 48, but the CLIP model in clip has image size 32"},
      {" --set model.embed_dim=16", "model.embed_dim = 16, but the CLIP model in clip has projection_dim 24"},
      {" --set data.max_words=78", "data.max_words = 78 exceeds the CLIP text context 77"},
      {" --set model.clip_dir=absent", "absent/vocab.json: missing. A CLIP model directory holds config.json"},
  };
  int case_number = 0;
  for (const auto& [overrides, expected] : cases) {
    const Outcome outcome = launch("tiny.toml --run-id bad" + std::to_string(case_number++) + kClipOverrides +
                                   overrides + " --set stage1.epochs=0");
    EXPECT_EQ(outcome.status, 2) << overrides << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << overrides << "\n" << outcome.output;
  }
}

using testing::read_json_file;

// A CIRR dataset cut from the real annotations: val's first 160 queries train, the next
// 40 are val, test1's first 30 are test1.
void write_cirr_subset(const fs::path& root) {
  testing::write_cirr_cut(testing::shared_datasets_dir() / "cirr", root,
                          {{"val", "train", 0, 160}, {"val", "val", 160, 40}, {"test1", "test1", 0, 30}});
}

// A FashionIQ dataset cut from the real val annotations: per category the first 60
// queries train and the next 30 are val.
void write_fashioniq_subset(const fs::path& root) {
  testing::write_fashioniq_cut(testing::shared_datasets_dir() / "fashioniq", root, {"dress", "shirt", "toptee"},
                               {{"val", "train", 0, 60}, {"val", "val", 60, 30}});
}

// The shipped experiments, shrunk to the tiny CLIP and a few steps.
constexpr const char* kTinyClipExperiment =
    " --set model.clip_dir=clip --set model.embed_dim=24 --set data.image_size=32 --set threads=1"
    " --set stage1.epochs=1 --set stage1.batch_size=32 --set stage2.epochs=1 --set stage2.batch_size=32";

TEST_F(Launch, CirrClip4CirExperimentRunsEndToEndAndWritesSubmissions) {
  if (!fs::exists(testing::shared_datasets_dir() / "cirr" / "captions"))
    GTEST_SKIP() << "no CIRR annotations in ../shared";
  write_tiny_clip(dir_ / "clip");
  write_cirr_subset(dir_ / "cirr");
  const std::string experiment = std::string(SPN_SOURCE_DIR) + "/experiments/cirr_clip4cir.toml";
  // As shipped, without the user's files: what to download and where.
  const Outcome missing = launch(experiment + " --run-id missing");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("datasets/cirr is not a CIRR-format dataset"), std::string::npos) << missing.output;
  const Outcome no_model = launch(experiment + " --run-id no-model --set data.root=cirr");
  EXPECT_EQ(no_model.status, 2) << no_model.output;
  EXPECT_NE(no_model.output.find("models/clip-rn50x4/vocab.json: missing"), std::string::npos) << no_model.output;

  const Outcome run = launch(experiment + " --run-id e2e --set data.root=cirr" + kTinyClipExperiment);
  ASSERT_EQ(run.status, 0) << run.output;
  const fs::path run_dir = dir_ / "runs/cirr_clip4cir/e2e";
  const auto results = read_json_file(run_dir / "results.json");
  for (const char* stage : {"stage1", "stage2"}) EXPECT_TRUE(results[stage]["val"].contains("Rsubset@1")) << stage;
  EXPECT_TRUE(fs::exists(dir_ / "banks")) << "stage 2 made no bank";
  for (const char* file : {"recall", "recall_subset"}) {
    const auto submission = read_json_file(run_dir / "submissions" / (std::string("stage2-test1-") + file + ".json"));
    EXPECT_EQ(submission["version"], "rc2");
    EXPECT_EQ(submission["metric"], file);
    EXPECT_EQ(submission.size(), 32u);  // 30 pairids, version, metric
    EXPECT_EQ(submission.begin().value().size(), std::string(file) == "recall" ? 50u : 3u);
  }
}

TEST_F(Launch, FashionIqClip4CirExperimentRunsEndToEnd) {
  if (!fs::exists(testing::shared_datasets_dir() / "fashioniq" / "captions"))
    GTEST_SKIP() << "no FashionIQ annotations in ../shared";
  write_tiny_clip(dir_ / "clip");
  write_fashioniq_subset(dir_ / "fashioniq");
  const std::string experiment = std::string(SPN_SOURCE_DIR) + "/experiments/fashioniq_clip4cir.toml";
  const Outcome missing = launch(experiment + " --run-id missing");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("is not a FashionIQ dataset"), std::string::npos) << missing.output;

  const Outcome run = launch(experiment + " --run-id e2e --set data.root=fashioniq" + kTinyClipExperiment);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("(FashionIQ protocol, %)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("  dress/R@10  dress/R@50"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Rsubset@1"), std::string::npos) << run.output;
  const auto results = read_json_file(dir_ / "runs/fashioniq_clip4cir/e2e/results.json");
  for (const char* stage : {"stage1", "stage2"}) {
    const auto& val = results[stage]["val"];
    for (const char* metric : {"dress/R@10", "shirt/R@50", "toptee/R@10", "R@10", "R@50", "Avg"})
      EXPECT_TRUE(val.contains(metric)) << stage << " " << metric << ": " << val.dump();
    EXPECT_GE(val["R@50"].get<double>(), val["R@10"].get<double>());
    EXPECT_DOUBLE_EQ(val["Avg"].get<double>(), (val["R@10"].get<double>() + val["R@50"].get<double>()) / 2);
  }
}

// Zero-shot: a CLIP run with stage1.epochs = 0 that evaluates only CIRCO reads no
// training split at all ([data] names a directory that does not exist), evaluates the
// model as built on the CIRCO-style split and writes the test split's submission file.
TEST_F(Launch, ZeroShotClipEvaluatesCircoWithoutATrainingSplit) {
  write_tiny_clip(dir_ / "clip");
  write("tiny.toml", testing::kTinyExperiment);
  const Outcome run = launch(std::string("tiny.toml --run-id zero-shot") + kClipOverrides +
                             " --set data.kind='\"cirr\"' --set data.root='\"no-such-dataset\"'"
                             " --set stage1.epochs=0 --set 'eval.datasets=[\"circo\"]'"
                             " --set eval.circo.source='\"shapes\"' --set eval.circo.root='\"circo\"'"
                             " --set eval.circo.queries=12 --set eval.circo.submission_split='\"test\"'");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("Results on split 'circo/val' (CIRCO protocol, %):"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(dir_ / "no-such-dataset"));
  const fs::path run_dir = dir_ / "runs/tiny/zero-shot";
  const auto results = nlohmann::json::parse(read_file(run_dir / "results.json"));
  ASSERT_TRUE(results["stage1"].contains("circo/val")) << results.dump();
  EXPECT_EQ(results["stage1"].size(), 1u) << "no training summary, no other split: " << results.dump();
  for (const auto& [name, value] : results["stage1"]["circo/val"].items()) {
    EXPECT_GE(value.get<double>(), 0.0) << name;
    EXPECT_LE(value.get<double>(), 100.0) << name;
  }
  const auto submission = nlohmann::json::parse(read_file(run_dir / "submissions/stage1-circo-test.json"));
  ASSERT_EQ(submission.size(), 12u);
  for (const auto& [id, ranked] : submission.items()) EXPECT_EQ(ranked.size(), 50u) << id;
}

}  // namespace
}  // namespace spn
