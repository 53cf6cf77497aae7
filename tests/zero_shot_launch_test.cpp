// The zero-shot families through spn-launch, as a user runs them:
// experiments/shapes_pic2word.toml (a tiny random CLIP on the built-in benchmark) trains
// IM2TEXT on the split's images and evaluates CIRR's and CIRCO's protocols under mpirun
// on 1, 2 and 3 ranks, with the same loss, weights and metrics; SEARLE's phi evaluates
// without a training split; Pic2Word trains on a folder of unlabeled images (data.kind =
// "images") the same on 1, 2 and 3 ranks; experiments/shapes_searle.toml (the OTI
// pre-pass, then phi's training) gives the same words, loss, metrics and exported phi on
// 1, 2 and 3 ranks, and the exported phi read back by model.mapper_weights gives the same
// metrics; experiments/shapes_searle_oti.toml (SEARLE-OTI: the query images inverted at
// test time) gives the same words and metrics on 1, 2 and 3 ranks; what the families
// refuse stops with exit 2 naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "clip_fixture.h"
#include "config/config_file.h"
#include "data/image_io.h"
#include "data/splits.h"
#include "launch_fixture.h"
#include "models/safetensors.h"
#include "models/zero_shot_model.h"
#include "train/checkpoint.h"
#include "train/searle_oti_queries.h"
#include "zero_shot_fixture.h"

namespace spn {
namespace {

using testing::kPic2WordExperiment;
using testing::kPic2WordSmaller;
using testing::kSearleExperiment;
using testing::kSearleSmaller;
using testing::Launch;
using testing::Outcome;

// The weights a run's checkpoint holds.
std::shared_ptr<ZeroShotModel> pic2word_weights_of(const fs::path& clip_dir, const fs::path& checkpoint) {
  const ExperimentConfig config = load_config_text(
      "", "<test>",
      {"model.family=pic2word", "model.clip_dir=" + clip_dir.string(), "model.embed_dim=24", "data.image_size=32"});
  auto model = make_zero_shot_model(config, 4514, ZeroShotMethod::kPic2Word);
  load_checkpoint(checkpoint, *model, nullptr);
  return model;
}

// The training images of the benchmark both shapes experiments generate under `dir`.
int64_t shapes_training_images(const fs::path& dir) {
  DataConfig data;
  data.root = (dir / "datasets/shapes-pic2word").string();
  return static_cast<int64_t>(load_split(data, "train").images.size());
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
  const int64_t images = shapes_training_images(dir_);
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

TEST_F(Launch, SearleShapesExperimentGivesTheSameRunOnOneTwoAndThreeRanks) {
  // A CLIP whose features move with φ's word, so that the metrics compared below depend
  // on φ (testing::write_random_clip).
  ASSERT_TRUE(testing::write_random_clip(dir_ / "clip"));
  std::map<int, nlohmann::json> results;
  for (int ranks : {1, 2, 3}) {
    const std::string id = "np" + std::to_string(ranks);
    const Outcome run =
        testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                           SPN_LAUNCH + " " + kSearleExperiment + " --run-id " + id + kSearleSmaller +
                           " --set stage1.export_mapper_weights=phi-" + id + ".safetensors");
    ASSERT_EQ(run.status, 0) << run.output;
    results[ranks] = nlohmann::json::parse(read_file(dir_ / "runs/shapes_searle" / id / "results.json"));
  }
  const nlohmann::json& one = results[1];
  ASSERT_TRUE(one["stage1"].contains("val")) << one.dump();
  ASSERT_TRUE(one["stage1"].contains("circo/val")) << one.dump();
  const int64_t images = shapes_training_images(dir_);
  EXPECT_EQ(one["stage1"]["train"]["steps"].get<int64_t>(), 2 * (images / 16));
  const double loss = one["stage1"]["train"]["final_loss"].get<double>();
  EXPECT_TRUE(std::isfinite(loss) && loss > 0) << one.dump();
  // The OTI words of every image, and the exported phi, compared across world sizes.
  const auto tensor_of = [&](const fs::path& file, const std::string& name) {
    return SafetensorsFile(file).read(name);
  };
  const fs::path words_one = dir_ / "runs/shapes_searle/np1/oti_tokens.safetensors";
  EXPECT_EQ(tensor_of(words_one, "ema_tokens").size(0), images);
  const SafetensorsFile phi_one(dir_ / "phi-np1.safetensors");
  for (int ranks : {2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::string id = "np" + std::to_string(ranks);
    const nlohmann::json& other = results[ranks];
    EXPECT_NEAR(other["stage1"]["train"]["final_loss"].get<double>(), loss, 1e-4 * std::abs(loss));
    for (const char* split : {"val", "circo/val"})
      for (const auto& [metric, value] : one["stage1"][split].items())
        EXPECT_NEAR(other["stage1"][split][metric].get<double>(), value.get<double>(), 6.3) << split << " " << metric;
    const fs::path words = dir_ / "runs/shapes_searle" / id / "oti_tokens.safetensors";
    EXPECT_TRUE(torch::equal(tensor_of(words, "top_concepts"), tensor_of(words_one, "top_concepts")));
    EXPECT_LE((tensor_of(words, "ema_tokens") - tensor_of(words_one, "ema_tokens")).abs().max().item<double>(), 1e-6);
    // As for Pic2Word: AdamW turns reduction-order rounding into differences far below lr.
    for (const auto& entry : phi_one.entries())
      EXPECT_LE((tensor_of(dir_ / ("phi-" + id + ".safetensors"), entry.name) - phi_one.read(entry.name))
                    .abs()
                    .max()
                    .item<double>(),
                3e-4)
          << entry.name;
  }
  // The exported phi, read back by model.mapper_weights without training, scores as the
  // trained model did.
  const Outcome reread = launch(kSearleExperiment + " --run-id reread" + kSearleSmaller +
                                " --set stage1.epochs=0 --set model.mapper_weights=phi-np1.safetensors"
                                " --set 'stage1.export_mapper_weights=\"\"'");
  ASSERT_EQ(reread.status, 0) << reread.output;
  const auto again = nlohmann::json::parse(read_file(dir_ / "runs/shapes_searle/reread/results.json"));
  for (const char* split : {"val", "circo/val"})
    for (const auto& [metric, value] : one["stage1"][split].items())
      EXPECT_NEAR(again["stage1"][split][metric].get<double>(), value.get<double>(), 1e-9) << split << " " << metric;
  // A run that stopped in stage 1 after its first epoch resumes with the words it kept
  // (no second pre-pass) and ends as the uninterrupted run did.
  const fs::path np1 = dir_ / "runs/shapes_searle/np1";
  std::string status = read_file(np1 / "status.json");
  status.replace(status.find("\"finished\""), 10, "\"failed\"");
  write(("runs/shapes_searle/np1/status.json"), status);
  fs::remove_all(np1 / "done");
  for (const char* file :
       {"stage1-final.pt", "stage1-final.pt.sum", "stage1-step0000016.pt", "stage1-step0000016.pt.sum"})
    ASSERT_TRUE(fs::remove(np1 / "checkpoints" / file)) << file;
  const Outcome resumed = launch(kSearleExperiment + " --run-id np1" + kSearleSmaller +
                                 " --set stage1.export_mapper_weights=phi-np1.safetensors");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("OTI: reusing the pseudo words of " + std::to_string(images) + " images"),
            std::string::npos)
      << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  const auto after = nlohmann::json::parse(read_file(np1 / "results.json"));
  EXPECT_NEAR(after["stage1"]["train"]["final_loss"].get<double>(), loss, 1e-6 * loss);
}

const std::string kSearleOtiExperiment = (fs::path(SPN_SOURCE_DIR) / "experiments" / "shapes_searle_oti.toml").string();

TEST_F(Launch, SearleOtiShapesExperimentGivesTheSameRunOnOneTwoAndThreeRanks) {
  testing::write_tiny_clip(dir_ / "clip");
  const std::string smaller =
      " --set model.clip_dir=clip --set threads=1 --set data.shapes.train_triplets=60 --set data.shapes.val_triplets=24"
      " --set data.shapes.extra_images=20 --set eval.circo.queries=16 --set searle.oti_steps=3"
      " --set searle.oti_batch_size=4 --set searle.top_k_concepts=3 --set searle.phi_top_k_concepts=5";
  std::map<int, nlohmann::json> results;
  for (int ranks : {1, 2, 3}) {
    const std::string id = "np" + std::to_string(ranks);
    const Outcome run =
        testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                           SPN_LAUNCH + " " + kSearleOtiExperiment + " --run-id " + id + smaller);
    ASSERT_EQ(run.status, 0) << run.output;
    results[ranks] = nlohmann::json::parse(read_file(dir_ / "runs/shapes_searle_oti" / id / "results.json"));
  }
  const nlohmann::json& one = results[1];
  ASSERT_TRUE(one["stage1"].contains("val")) << one.dump();
  ASSERT_TRUE(one["stage1"].contains("circo/val")) << one.dump();
  EXPECT_EQ(one["stage1"]["train"]["steps"].get<int64_t>(), 0) << one.dump();  // phi is not trained
  // One word per distinct reference image of each evaluated split.
  DataConfig data;
  data.root = (dir_ / "datasets/shapes-pic2word").string();
  const auto words_of = [&](int ranks, const std::string& split) {
    return SafetensorsFile(dir_ / "runs/shapes_searle_oti" / ("np" + std::to_string(ranks)) /
                           ("oti_queries-" + split + ".safetensors"))
        .read("ema_tokens");
  };
  EXPECT_EQ(words_of(1, "val").size(0), static_cast<int64_t>(distinct_references(load_split(data, "val")).size()));
  EXPECT_GT(words_of(1, "circo-val").size(0), 0);
  for (int ranks : {2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    for (const char* split : {"val", "circo-val"})
      EXPECT_LE((words_of(ranks, split) - words_of(1, split)).abs().max().item<double>(), 1e-6) << split;
    for (const char* split : {"val", "circo/val"})
      for (const auto& [metric, value] : one["stage1"][split].items())
        EXPECT_NEAR(results[ranks]["stage1"][split][metric].get<double>(), value.get<double>(), 6.3)
            << split << " " << metric;
  }
}

TEST_F(Launch, SearleRealRecipeWithoutItsFilesSaysWhatToDownload) {
  for (const char* recipe : {"cirr_searle.toml", "cirr_searle_oti.toml"}) {
    const Outcome cirr = launch((fs::path(SPN_SOURCE_DIR) / "experiments" / recipe).string());
    EXPECT_EQ(cirr.status, 2) << recipe << "\n" << cirr.output;
    EXPECT_NE(cirr.output.find("datasets/cirr"), std::string::npos) << recipe << "\n" << cirr.output;
  }
  EXPECT_EQ(
      load_config((fs::path(SPN_SOURCE_DIR) / "experiments" / "cirr_searle_oti.toml").string(), {}).searle.query_words,
      SearleQueryWords::Oti);
  // FashionIQ's queries in both caption orders, as SEARLE's validate.py.
  const ExperimentConfig config =
      load_config((fs::path(SPN_SOURCE_DIR) / "experiments" / "cirr_searle.toml").string(), {});
  EXPECT_EQ(config.data.fashioniq.caption_join, CaptionJoin::BothOrders);
  EXPECT_EQ(config.eval.datasets,
            (std::vector<EvalDataset>{EvalDataset::Data, EvalDataset::FashionIq, EvalDataset::Circo}));
  // The benchmark's recipe without the pre-trained CLIP names model.clip_dir.
  const Outcome shapes = launch(kSearleExperiment +
                                " --set threads=1 --set data.shapes.train_triplets=60"
                                " --set data.shapes.val_triplets=24 --set data.shapes.extra_images=20");
  EXPECT_EQ(shapes.status, 2) << shapes.output;
  EXPECT_NE(shapes.output.find("model.clip_dir"), std::string::npos) << shapes.output;
}

TEST_F(Launch, ZeroShotRefusalsExitTwoNamingTheKey) {
  testing::write_tiny_clip(dir_ / "clip");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --set model.clip_dir=models/clip-vit-large-patch14",
       "models/clip-vit-large-patch14/vocab.json: missing. A CLIP model directory holds config.json"},
      {" --set stage2.enabled=true", "stage2.enabled: with model.family = \"pic2word\""},
      {" --set model.family=searle --set searle.concepts=absent.txt", "searle.concepts: absent.txt not found"},
      {" --set model.family=searle --set searle.top_k_concepts=0", "searle.top_k_concepts"},
      {" --set stage1.epochs=0 --set stage1.export_mapper_weights=m.safetensors",
       "stage1.export_mapper_weights: stage1.epochs = 0 trains nothing to export"},
      {" --set model.mapper_weights=absent.safetensors", "model.mapper_weights: absent.safetensors not found"},
      {" --set stage1.epochs=0 --set searle.query_words=oti",
       "searle.query_words: \"oti\" composes SEARLE's queries; model.family = \"pic2word\" has its own"},
  };
  int case_number = 0;
  for (const auto& [overrides, expected] : cases) {
    const Outcome outcome =
        launch(kPic2WordExperiment + " --run-id bad" + std::to_string(case_number++) + kPic2WordSmaller + overrides);
    EXPECT_EQ(outcome.status, 2) << overrides << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << overrides << "\n" << outcome.output;
  }
}

// The ViT-L/14 recipe without its data or CLIP stops before any work, naming what to
// download; with FashionIQ among its evaluation sets it reads FashionIQ's captions in
// Pic2Word's order.
TEST_F(Launch, Pic2WordRealDataRecipeExitsTwoSayingWhatToDownload) {
  const std::string experiment = (fs::path(SPN_SOURCE_DIR) / "experiments" / "cirr_pic2word.toml").string();
  const Outcome outcome = launch(experiment);
  EXPECT_EQ(outcome.status, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("datasets/cirr"), std::string::npos) << outcome.output;
  const ExperimentConfig config = load_config(experiment, {});
  EXPECT_EQ(config.data.fashioniq.caption_join, CaptionJoin::Pic2Word);
  EXPECT_EQ(config.eval.datasets,
            (std::vector<EvalDataset>{EvalDataset::Data, EvalDataset::FashionIq, EvalDataset::Circo}));
}

// A folder of unlabeled images, as a user has one: PNGs and JPEGs at several depths,
// beside files that are not images and a hidden folder.
void write_image_folder(const fs::path& folder, int images) {
  torch::manual_seed(3);
  for (int i = 0; i < images; ++i) {
    RgbImage image{40, 36, {}};
    const torch::Tensor pixels = torch::randint(0, 256, {36 * 40 * 3}, torch::kUInt8);
    image.pixels.assign(pixels.data_ptr<uint8_t>(), pixels.data_ptr<uint8_t>() + pixels.numel());
    const fs::path dir = folder / (i % 3 == 0 ? "" : i % 3 == 1 ? "a" : "a/b");
    fs::create_directories(dir);
    if (i % 2 == 0)
      write_png(dir / ("image" + std::to_string(i) + ".png"), image);
    else
      write_jpeg(dir / ("image" + std::to_string(i) + ".JPG"), image, 90);
  }
  write_file_atomic(folder / "README.txt", "not an image");
  fs::create_directories(folder / ".thumbnails");
  write_file_atomic(folder / ".thumbnails" / "x.png", "hidden, and not an image either");
}

TEST_F(Launch, Pic2WordTrainsOnAFolderOfImagesTheSameOnOneTwoAndThreeRanks) {
  testing::write_tiny_clip(dir_ / "clip");
  write_image_folder(dir_ / "unlabeled", 40);
  DataConfig data;
  data.kind = DataKind::Images;
  data.root = (dir_ / "unlabeled").string();
  const CirrSplit split = load_split(data, "train");
  ASSERT_EQ(split.images.size(), 40u);
  EXPECT_TRUE(std::is_sorted(split.images.begin(), split.images.end()));
  EXPECT_EQ(split.images.front(), "a/b/image11.JPG");
  EXPECT_TRUE(split.triplets.empty());

  std::map<int, double> losses;
  for (int ranks : {1, 2, 3}) {
    const std::string id = "np" + std::to_string(ranks);
    const Outcome run =
        testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " +
                           SPN_LAUNCH + " " + kPic2WordExperiment + " --run-id " + id + kPic2WordSmaller +
                           " --set data.kind=images --set data.root=unlabeled --set 'eval.datasets=[\"circo\"]'");
    ASSERT_EQ(run.status, 0) << run.output;
    const auto results = nlohmann::json::parse(read_file(dir_ / "runs/shapes_pic2word" / id / "results.json"));
    EXPECT_EQ(results["stage1"]["train"]["steps"].get<int64_t>(), 2 * (40 / 16)) << results.dump();
    ASSERT_TRUE(results["stage1"].contains("circo/val")) << results.dump();
    losses[ranks] = results["stage1"]["train"]["final_loss"].get<double>();
  }
  for (int ranks : {2, 3}) EXPECT_NEAR(losses[ranks], losses[1], 1e-4 * std::abs(losses[1])) << ranks;
}

TEST_F(Launch, ImageFolderRefusalsExitTwoNamingTheKeyOrFolder) {
  testing::write_tiny_clip(dir_ / "clip");
  write_image_folder(dir_ / "unlabeled", 4);
  fs::create_directories(dir_ / "empty");
  const std::string folder = " --set data.kind=images --set data.root=unlabeled";
  const std::string circo = " --set 'eval.datasets=[\"circo\"]'";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {folder + circo + " --set model.family=dual_encoder",
       "data.kind: \"images\" is a folder of unlabeled images, without triplets"},
      {folder, "eval.datasets: \"data\" is [data]'s split eval.split, but data.kind = \"images\""},
      {" --set data.kind=images --set data.root=empty" + circo, "empty: no image in this folder"},
      {" --set data.kind=images --set data.root=absent" + circo, "absent: not a folder"},
  };
  int number = 0;
  for (const auto& [overrides, expected] : cases) {
    const Outcome outcome =
        launch(kPic2WordExperiment + " --run-id bad" + std::to_string(number++) + kPic2WordSmaller + overrides);
    EXPECT_EQ(outcome.status, 2) << overrides << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << overrides << "\n" << outcome.output;
  }
}

}  // namespace
}  // namespace spn
