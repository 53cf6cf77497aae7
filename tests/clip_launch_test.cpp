// The CLIP encoders in the launcher: a tiny random CLIP (written here as a model
// directory, as a user's downloaded one looks) trains through stage 1, the bank and
// stage 2 with CLIP's tokenizer, and mismatches between experiment and model stop
// with exit 2 naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "launch_fixture.h"
#include "models/clip_model.h"
#include "models/clip_tokenizer.h"
#include "models/safetensors.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

// A random ViT CLIP the size of the golden one, its token table as large as the
// golden tokenizer's vocabulary, with that tokenizer beside it.
void write_tiny_clip(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path tokenizer = testing::golden_dir() / "tokenizer";
  fs::copy_file(tokenizer / "vocab.json", dir / "vocab.json");
  fs::copy_file(tokenizer / "merges.txt", dir / "merges.txt");
  nlohmann::json config = nlohmann::json::parse(read_file(testing::golden_dir() / "clip_vit" / "config.json"));
  config["text_config"]["vocab_size"] = ClipTokenizer::from_directory(dir).size();
  config["text_config"]["eos_token_id"] = 2;  // pool at the end token, CLIP's largest id
  write_file_atomic(dir / "config.json", config.dump(1));
  torch::manual_seed(0);
  ClipTowers towers = make_clip_towers(read_clip_config(dir / "config.json"));
  std::vector<std::pair<std::string, at::Tensor>> tensors = {{"logit_scale", torch::tensor(4.6052f)}};
  for (const torch::nn::Module* tower : {static_cast<torch::nn::Module*>(towers.image.get()),
                                         static_cast<torch::nn::Module*>(towers.text.get())}) {
    for (const auto& item : tower->named_parameters()) tensors.emplace_back(item.key(), item.value());
  }
  write_safetensors(dir / "model.safetensors", tensors);
}

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

}  // namespace
}  // namespace spn
