// SPRC on BLIP-2 against transformers on the golden fixture of
// scripts/make-blip2-golden.py: a tiny random Blip2ForImageTextRetrieval (EVA ViT with
// ln_vision at LAVIS's eps 1e-5, a 3-layer Q-Former with cross-attention in layers 0 and
// 2) plus SPRC's prompt_tokens and temp, weights identical, references in float64. The
// passes without image follow SPRC's branch (text FFN everywhere, no cross-attention),
// which the script computes both with transformers' query_length = 0 and by hand from
// the layers' modules. Relative error = max |ours - reference| / max |reference|.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "dist/autocast.h"
#include "models/bert_tokenizer.h"
#include "models/blip2_sprc.h"
#include "models/clip_image_tower.h"
#include "models/safetensors.h"
#include "models/token_similarity.h"
#include "parity.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

const fs::path kBlip2Golden = testing::golden_dir() / "blip2";

// float32 against float64 measures about 3e-7 here. The bound is tighter than the CLIP
// tests' 1e-4 so that it tells ln_vision's eps 1e-5 from 1e-6 (1.8e-5 apart on this
// fixture).
constexpr double kTolerance = 5e-6;

// The parity measure, for tensors of the reference's shape.
double shaped_error(const torch::Tensor& ours, const torch::Tensor& reference) {
  EXPECT_EQ(ours.sizes(), reference.sizes());
  return testing::relative_error(ours, reference);
}

struct Blip2Fixture {
  std::shared_ptr<Blip2Sprc> model = load_blip2_sprc(kBlip2Golden);
  SafetensorsFile expected{kBlip2Golden / "expected.safetensors"};
  torch::Tensor read(const std::string& name) const { return expected.read(name); }
};

TEST(Blip2Parity, VisionTowerWithLnVisionMatchesTransformers) {
  torch::NoGradGuard no_grad;
  Blip2Fixture f;
  const torch::Tensor tokens = f.model->encode_pixels(f.read("pixels"));
  const double error = shaped_error(tokens, f.read("image_tokens"));
  std::printf("EVA ViT + ln_vision: rel. error %.3g\n", error);
  EXPECT_LT(error, kTolerance);
  // The [-1, 1] interface normalises as BLIP-2's processor does (CLIP's mean and std).
  const torch::Tensor unit = f.read("pixels").clamp(-1, 1);
  EXPECT_LT(shaped_error(f.model->image_tokens(unit), f.model->encode_pixels(clip_normalize(unit))), 1e-6);
  EXPECT_THROW(f.model->encode_pixels(torch::zeros({1, 3, 28, 28})), UserError);
}

TEST(Blip2Parity, SprcPassesMatchTransformers) {
  torch::NoGradGuard no_grad;
  Blip2Fixture f;
  const torch::Tensor tokens = f.read("tokens");
  const torch::Tensor image_tokens = f.read("image_tokens");
  const torch::Tensor targets = f.model->target_features(image_tokens);
  const torch::Tensor fused = f.model->fuse(image_tokens, tokens);
  // Each pass from the reference's inputs, so an error is attributed to one pass...
  const torch::Tensor composed = f.model->composed_query(f.read("fused"), tokens);
  const std::vector<std::pair<std::string, torch::Tensor>> passes = {
      {"target_features", targets},
      {"fused", fused},
      {"composed_query", composed},
      {"prompt_query", f.model->prompt_query(tokens)},
      {"text_features", f.model->text_features(tokens)},
      {"similarity", f.model->similarity(composed, f.read("target_features"))},
  };
  for (const auto& [name, ours] : passes) {
    const double error = shaped_error(ours, f.read(name));
    std::printf("%s: rel. error %.3g\n", name.c_str(), error);
    EXPECT_LT(error, kTolerance) << name;
  }
  EXPECT_EQ(targets.sizes(), (std::vector<int64_t>{3, 4, 16}));
  EXPECT_NEAR(f.model->temp().item<double>(), 0.05, 1e-4);  // the file's, not the initial 0.07
  // ...and chained from pixels, as a model runs them.
  const torch::Tensor chained =
      f.model->composed_query(f.model->fuse(f.model->encode_pixels(f.read("pixels")), tokens), tokens);
  EXPECT_LT(shaped_error(chained, f.read("composed_query")), kTolerance);
}

TEST(Blip2Parity, PassesRunUnderBf16Autocast) {
  torch::NoGradGuard no_grad;
  Blip2Fixture f;
  const torch::Tensor tokens = f.read("tokens");
  auto passes = [&] {
    const torch::Tensor image = f.model->encode_pixels(f.read("pixels"));
    const torch::Tensor fused = f.model->fuse(image, tokens);
    return std::vector<torch::Tensor>{f.model->target_features(image), f.model->composed_query(fused, tokens),
                                      f.model->prompt_query(tokens), f.model->text_features(tokens)};
  };
  const std::vector<torch::Tensor> full = passes();
  std::vector<torch::Tensor> half;
  {
    Autocast bf16(Precision::Bf16, c10::DeviceType::CPU);
    half = passes();
  }
  for (size_t i = 0; i < full.size(); ++i) {
    const double error = shaped_error(half[i].to(torch::kFloat), full[i]);
    std::printf("bf16 autocast vs float32, pass %zu: rel. error %.3g\n", i, error);
    EXPECT_LT(error, 5e-2) << "pass " << i;
  }
}

TEST(Blip2Parity, TokenizerMakesTheFixtureRows) {
  Blip2Fixture f;
  const auto captions = nlohmann::json::parse(f.expected.metadata().at("captions")).get<std::vector<std::string>>();
  const BertTokenizer tokenizer = BertTokenizer::from_directory(testing::golden_dir() / "bert_tokenizer");
  EXPECT_TRUE(torch::equal(tokenizer.encode_batch(captions, f.read("tokens").size(1)), f.read("tokens")));
  EXPECT_EQ(tokenizer.size(), f.model->config().qformer.vocab_size);
}

TEST(Blip2Parity, TokenSimilarityTakesTheBestToken) {
  const torch::Tensor queries = torch::randn({3, 5}, torch::kDouble);
  const torch::Tensor targets = torch::randn({4, 6, 5}, torch::kDouble);
  const torch::Tensor scores = max_token_similarity(queries, targets);
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{3, 4}));
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t n = 0; n < 4; ++n) {
      double best = -1e300;
      for (int64_t k = 0; k < 6; ++k) best = std::max(best, targets[n][k].dot(queries[b]).item<double>());
      EXPECT_NEAR(scores[b][n].item<double>(), best, 1e-12);
    }
  }
  // One vector per image is the plain dot product.
  EXPECT_TRUE(torch::allclose(max_token_similarity(queries, targets.select(1, 0)),
                              torch::matmul(queries, targets.select(1, 0).t())));
  EXPECT_THROW(max_token_similarity(queries, torch::randn({4, 6, 7})), UserError);
}

// A copy of the fixture directory whose weights `edit` changes.
fs::path blip2_copy(const std::string& label,
                    const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
  const fs::path dir = fs::temp_directory_path() / ("spn-blip2-" + label + "-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(kBlip2Golden / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  SafetensorsFile file(kBlip2Golden / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& entry : file.entries()) tensors.emplace_back(entry.name, file.read(entry.name));
  edit(tensors);
  write_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

std::string blip2_load_error(const fs::path& dir) {
  try {
    load_blip2_sprc(dir);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(Blip2Parity, CheckpointsWithoutSprcKeysAndBadWeights) {
  auto drop = [](std::vector<std::string> names) {
    return [names](std::vector<std::pair<std::string, at::Tensor>>& tensors) {
      for (const auto& name : names)
        tensors.erase(std::remove_if(tensors.begin(), tensors.end(), [&](const auto& t) { return t.first == name; }),
                      tensors.end());
    };
  };
  // A plain BLIP-2 checkpoint: SPRC's parameters keep their initial values.
  const fs::path plain = blip2_copy("plain", drop({"prompt_tokens", "temp"}));
  EXPECT_NEAR(load_blip2_sprc(plain)->temp().item<double>(), 0.07, 1e-7);
  // Half of SPRC's keys is an incomplete SPRC checkpoint.
  const fs::path half = blip2_copy("half", drop({"prompt_tokens"}));
  EXPECT_NE(blip2_load_error(half).find("missing from the file (1): prompt_tokens"), std::string::npos)
      << blip2_load_error(half);
  const fs::path wrong = blip2_copy("wrong", [](auto& tensors) {
    for (auto& [name, tensor] : tensors) {
      if (name == "qformer.encoder.layer.2.crossattention.attention.key.weight") tensor = torch::zeros({24, 8});
    }
  });
  const std::string error = blip2_load_error(wrong);
  EXPECT_NE(error.find((wrong / "model.safetensors").string()), std::string::npos) << error;
  EXPECT_NE(error.find("qformer.encoder.layer.2.crossattention.attention.key.weight (file [24, 8], model [24, 32])"),
            std::string::npos)
      << error;
  // EVA's biases as the first transformers conversions stored them: q_bias and v_bias.
  const fs::path split = blip2_copy("split", [](auto& tensors) {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (auto& [name, tensor] : tensors) {
      const auto at = name.find("qkv.bias");
      if (name.rfind("vision_model.", 0) != 0 || at == std::string::npos) {
        out.emplace_back(name, tensor);
        continue;
      }
      const int64_t hidden = tensor.size(0) / 3;
      out.emplace_back(name.substr(0, at) + "q_bias", tensor.narrow(0, 0, hidden).clone());
      out.emplace_back(name.substr(0, at) + "v_bias", tensor.narrow(0, 2 * hidden, hidden).clone());
    }
    tensors = out;
  });
  {
    torch::NoGradGuard no_grad;
    SafetensorsFile expected(kBlip2Golden / "expected.safetensors");
    EXPECT_LT(
        shaped_error(load_blip2_sprc(split)->encode_pixels(expected.read("pixels")), expected.read("image_tokens")),
        kTolerance);
  }
  const std::string absent = blip2_load_error(kBlip2Golden / "absent");
  EXPECT_NE(absent.find("config.json: missing"), std::string::npos) << absent;
  EXPECT_NE(absent.find("huggingface.co/Salesforce/blip2-itm-vit-g"), std::string::npos) << absent;
  for (const auto& dir : {plain, half, wrong, split}) fs::remove_all(dir);
}

TEST(Blip2Parity, ConfigErrorsNameTheKey) {
  const fs::path dir = fs::temp_directory_path() / ("spn-blip2-config-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto error_of = [&](const std::string& json) {
    write_file_atomic(dir / "config.json", json);
    try {
      read_blip2_config(dir / "config.json");
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(R"({"qformer_config": {"hidden_act": "relu"}})").find("config.json: qformer_config.hidden_act"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"vision_config": {"hidden_size": 30}})").find("vision_config.num_attention_heads: 16 does not"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"vision_config": {"ln_vision_eps": 0}})").find("vision_config.ln_vision_eps: expected a positive"),
      std::string::npos);
  EXPECT_NE(error_of("[1]").find("expected a JSON object (a Blip2Config)"), std::string::npos);
  // Defaults are BLIP-2's ViT-g and BERT-base Q-Former, with LAVIS's ln_vision eps.
  write_file_atomic(dir / "config.json", "{}");
  const Blip2Config defaults = read_blip2_config(dir / "config.json");
  EXPECT_EQ(defaults.vision.num_layers, 39);
  EXPECT_EQ(defaults.vision.ln_vision_eps, 1e-5);
  EXPECT_EQ(defaults.qformer.encoder_hidden_size, 1408);
  EXPECT_EQ(defaults.qformer.vocab_size, 30523);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
