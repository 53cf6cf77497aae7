// A trained CLIP written back out as a CLIP model directory (stage1.export_clip_dir):
// the directory loads back to the same towers, holds the temperature as logit_scale and
// replaces an earlier one whole; from spn-launch, CLIP pre-trained on the built-in
// benchmark's descriptions (experiments/shapes_clip_pretrain.toml) under mpirun on 1, 2
// and 3 ranks exports stage 1's final weights, which a zero-shot run then reads as its
// model.clip_dir; a model without CLIP's towers is refused naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "clip_fixture.h"
#include "config/config_file.h"
#include "launch_fixture.h"
#include "models/clip_export.h"
#include "models/dual_encoder_model.h"
#include "train/checkpoint.h"
#include "zero_shot_fixture.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

std::map<std::string, torch::Tensor> tensors_of(const ClipTowers& towers) {
  std::map<std::string, torch::Tensor> tensors;
  for (const torch::nn::Module* tower :
       {static_cast<torch::nn::Module*>(towers.image.get()), static_cast<torch::nn::Module*>(towers.text.get())}) {
    for (const auto& item : tower->named_parameters()) tensors[item.key()] = item.value();
    for (const auto& item : tower->named_buffers()) tensors[item.key()] = item.value();
  }
  return tensors;
}

TEST(ClipExport, WrittenDirectoryLoadsBackToTheSameTowersAndReplacesAnEarlierOne) {
  const fs::path dir = fs::temp_directory_path() / ("spn-clip-export-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  testing::write_tiny_clip(dir / "source");
  ClipTowers towers = load_clip(dir / "source");
  for (int round : {0, 1}) {
    SCOPED_TRACE("round " + std::to_string(round));
    {
      torch::NoGradGuard no_grad;  // weights no longer the source's, as after training
      for (auto& p : towers.image->parameters()) p.add_(torch::randn_like(p) * 0.1);
      for (auto& p : towers.text->parameters()) p.add_(torch::randn_like(p) * 0.1);
    }
    const double log_scale = 2.5 + round;
    write_clip_directory(*towers.image, *towers.text, log_scale, dir / "source", dir / "out");
    EXPECT_FALSE(fs::exists(dir / "out.partial"));
    const ClipTowers back = load_clip(dir / "out");
    const auto written = tensors_of(back), trained = tensors_of(towers);
    ASSERT_EQ(written.size(), trained.size());
    for (const auto& [name, tensor] : trained) EXPECT_TRUE(torch::equal(written.at(name), tensor)) << name;
    EXPECT_FLOAT_EQ(SafetensorsFile(dir / "out" / "model.safetensors").read("logit_scale").item<float>(), log_scale);
    for (const char* file : {"config.json", "vocab.json", "merges.txt"})
      EXPECT_EQ(read_file(dir / "out" / file), read_file(dir / "source" / file)) << file;
  }
  fs::remove_all(dir);
}

// scripts/write-random-clip.py --width-scale, as `make zero-shot-study` writes the study's
// CLIP: both towers' hidden and MLP widths scaled, the embedding kept, and the directory
// loads (every tensor's shape checked against the config it wrote).
TEST(RandomClipScript, WidthScaleWidensBothTowersAndKeepsTheEmbedding) {
  const fs::path dir = fs::temp_directory_path() / ("spn-random-clip-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::map<int, std::map<std::string, torch::Tensor>> tensors;
  for (int scale : {1, 2}) {
    const fs::path out = dir / ("x" + std::to_string(scale));
    ASSERT_TRUE(testing::write_random_clip(out, scale)) << "scripts/write-random-clip.py --width-scale " << scale;
    tensors[scale] = tensors_of(load_clip(out));
  }
  const auto shape = [&](int scale, const std::string& name) { return tensors[scale].at(name).sizes().vec(); };
  using Sizes = std::vector<int64_t>;
  EXPECT_EQ(shape(1, "text_model.embeddings.token_embedding.weight"), (Sizes{4514, 32}));
  EXPECT_EQ(shape(2, "text_model.embeddings.token_embedding.weight"), (Sizes{4514, 64}));
  EXPECT_EQ(shape(2, "text_model.encoder.layers.1.mlp.fc1.weight"), (Sizes{128, 64}));
  EXPECT_EQ(shape(2, "text_projection.weight"), (Sizes{24, 64}));
  EXPECT_EQ(shape(1, "vision_model.embeddings.patch_embedding.weight"), (Sizes{48, 3, 8, 8}));
  EXPECT_EQ(shape(2, "vision_model.embeddings.patch_embedding.weight"), (Sizes{96, 3, 8, 8}));
  EXPECT_EQ(shape(2, "vision_model.encoder.layers.0.mlp.fc2.weight"), (Sizes{96, 192}));
  EXPECT_EQ(shape(2, "visual_projection.weight"), (Sizes{24, 96}));
  EXPECT_EQ(tensors[1].size(), tensors[2].size());
  fs::remove_all(dir);
}

const std::string kPretrainExperiment =
    (fs::path(SPN_SOURCE_DIR) / "experiments" / "shapes_clip_pretrain.toml").string();
// Smaller than the shipped file, so three runs take seconds; the CLIP the test writes.
const std::string kPretrainSmaller =
    " --set model.clip_dir=clip --set threads=1 --set data.shapes.train_triplets=60 --set data.shapes.val_triplets=24"
    " --set data.shapes.extra_images=20 --set stage1.epochs=2 --set stage1.batch_size=16 --set stage1.log_every=1";

TEST_F(Launch, ClipPretrainingExportsStageOnesCLIPTheSameOnOneTwoAndThreeRanks) {
  testing::write_tiny_clip(dir_ / "clip");
  std::map<int, std::map<std::string, torch::Tensor>> exported;
  for (int ranks : {1, 2, 3}) {
    const std::string id = "np" + std::to_string(ranks);
    const Outcome run = testing::run_shell(
        "cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " + std::to_string(ranks) + " " + SPN_LAUNCH + " " +
        kPretrainExperiment + " --run-id " + id + kPretrainSmaller + " --set stage1.export_clip_dir=clip-" + id);
    ASSERT_EQ(run.status, 0) << run.output;
    exported[ranks] = tensors_of(load_clip(dir_ / ("clip-" + id)));
    // The export is stage 1's final weights, and the learned temperature.
    const ExperimentConfig config =
        load_config_text("", "<test>",
                         {"model.image_encoder=clip", "model.text_encoder=clip", "model.head=text_only",
                          "model.clip_dir=" + (dir_ / "clip").string(), "model.embed_dim=24", "data.image_size=32"});
    auto model = make_dual_encoder_model(config, 4514);
    load_checkpoint(dir_ / "runs/shapes_clip_pretrain" / id / "checkpoints/stage1-final.pt", *model, nullptr);
    std::map<std::string, torch::Tensor> trained;
    for (const auto& item : model->image_encoder().named_parameters()) trained[item.key()] = item.value();
    for (const auto& item : model->text_encoder().named_parameters()) trained[item.key()] = item.value();
    for (const auto& [name, tensor] : trained) EXPECT_TRUE(torch::equal(exported[ranks].at(name), tensor)) << name;
    EXPECT_NEAR(SafetensorsFile(dir_ / ("clip-" + id) / "model.safetensors").read("logit_scale").item<double>(),
                model->logit_scale().log().item<double>(), 1e-6);
  }
  // float32 AdamW over another reduction order (as the Pic2Word test measures); a step
  // that differed would be off by about lr = 1e-3 per element.
  for (int ranks : {2, 3})
    for (const auto& [name, tensor] : exported[1])
      EXPECT_LE((exported[ranks].at(name) - tensor).abs().max().item<double>(), 3e-4) << ranks << " " << name;

  // A zero-shot run reads the export as its CLIP.
  const Outcome zero_shot =
      launch((fs::path(SPN_SOURCE_DIR) / "experiments" / "shapes_pic2word.toml").string() +
             " --run-id on-export --set model.clip_dir=clip-np2 --set threads=1 --set data.shapes.train_triplets=60"
             " --set data.shapes.val_triplets=24 --set data.shapes.extra_images=20 --set eval.circo.queries=16"
             " --set stage1.epochs=0");
  ASSERT_EQ(zero_shot.status, 0) << zero_shot.output;
}

TEST_F(Launch, ClipExportOfAModelWithoutClipsTowersExitsTwoNamingTheKey) {
  testing::write_tiny_clip(dir_ / "clip");
  const Outcome run = launch(kPretrainExperiment + " --run-id bad" + kPretrainSmaller +
                             " --set model.image_encoder=small_cnn --set model.embed_dim=24");
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("stage1.export_clip_dir: only a CLIP trained as model.family = \"dual_encoder\""),
            std::string::npos)
      << run.output;
  EXPECT_FALSE(fs::exists(dir_ / "datasets/clip-shapes-32x2"));
}

}  // namespace
}  // namespace spn
