// RTD (model.family = "rtd") on a tiny random CLIP (tests/clip_fixture.h) and a φ
// written here (tests/rtd_fixture.h): its training features are the frozen tower, φ,
// the noise and the copy composed as models/rtd_model.h says; the noise follows the
// global row; test-time queries go through the trained copy with every `$` replaced;
// after AdamW steps only the copy moved (image tower, original text tower and φ bit
// for bit unchanged, without gradients); the stage-1 step gives the same loss and
// gradients (float64) and AdamW steps on 1-3 ranks as in one process; what RTD refuses
// names the key.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <functional>

#include "clip_fixture.h"
#include "config/config_file.h"
#include "core/error.h"
#include "dist/sharding.h"
#include "models/pseudo_words.h"
#include "models/rtd_model.h"
#include "rtd_fixture.h"
#include "test_models.h"
#include "test_world.h"
#include "train/nt_xent_loss.h"
#include "train/rtd_stage1.h"
#include "train/stage1_step.h"

namespace spn {
namespace {

using testing::world;

constexpr int64_t kRtdPromptWords = 16;

// This process's tiny CLIP directory and φ file (every process writes the same).
const std::filesystem::path& rtd_test_dir() {
  static const std::filesystem::path dir = [] {
    const auto path = std::filesystem::temp_directory_path() / ("spn-test-rtd-" + std::to_string(::getpid()));
    testing::write_tiny_clip(path / "clip");
    testing::write_tiny_phi(path / "phi.safetensors");
    return path;
  }();
  return dir;
}

ExperimentConfig rtd_config(const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> all = {"model.family=rtd",
                                  "model.clip_dir=" + (rtd_test_dir() / "clip").string(),
                                  "model.mapper_weights=" + (rtd_test_dir() / "phi.safetensors").string(),
                                  "model.embed_dim=24",
                                  "data.image_size=32",
                                  "data.max_words=" + std::to_string(kRtdPromptWords),
                                  "stage1.lr=1e-3",
                                  "stage1.weight_decay=0.01"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config_text("", "<test>", all);
}

ComposedPromptTokenizer rtd_tokenizer() {
  return ComposedPromptTokenizer(ClipTokenizer::from_directory(rtd_test_dir() / "clip"), ZeroShotMethod::kRtd);
}

std::shared_ptr<RtdModel> rtd_model_of(const ExperimentConfig& config, torch::Dtype dtype = torch::kFloat) {
  auto model = make_rtd_model(config, rtd_tokenizer().size());
  model->to(dtype);
  return model;
}

// `n` text triplets of a few words, drawn from `seed`, as token rows [n, 4, L]; the
// image fields hold one zero per row so testing::rows can slice the batch.
TripletBatch rtd_triplets(int64_t n, uint64_t seed) {
  const std::vector<std::string> colours = {"red", "blue", "green", "small", "large", "two"};
  const std::vector<std::string> shapes = {"circle", "square", "triangle", "star"};
  std::vector<TextTriplet> triplets;
  for (int64_t i = 0; i < n; ++i) {
    const auto pick = [&](const std::vector<std::string>& words, int64_t salt) {
      return words[(seed * 7 + static_cast<uint64_t>(i * 5 + salt)) % words.size()];
    };
    triplets.push_back({"a " + pick(colours, 0) + " " + pick(shapes, 1), "make it " + pick(colours, 2),
                        "a " + pick(colours, 2) + " " + pick(shapes, 3)});
  }
  TripletBatch batch;
  batch.tokens = rtd_token_rows(rtd_tokenizer(), triplets, kRtdPromptWords);
  batch.reference_images = torch::zeros({n, 1});
  batch.target_images = batch.reference_images;
  return batch;
}

TEST(RtdModel, TrainingFeaturesComposeTheFrozenTowerPhiNoiseAndTheCopy) {
  torch::NoGradGuard no_grad;
  auto model = rtd_model_of(rtd_config({"rtd.noise_scale=0.5"}));
  model->train();
  EXPECT_FALSE(model->mapper().is_training());                       // φ keeps eval mode
  EXPECT_NEAR(model->logit_scale().item<double>(), 1 / 0.07, 1e-4);  // rtd.temperature, logged by the loop
  model->set_step_seed(3);
  const torch::Tensor tokens = rtd_triplets(3, 1).tokens;
  // The rows: the condition's prompt and "a photo of $" hold `$`, the captions do not.
  EXPECT_EQ((tokens.select(1, 0) == kDollarToken).sum().item<int64_t>(), 3);
  EXPECT_EQ((tokens.select(1, 1) == kDollarToken).sum().item<int64_t>(), 3);
  EXPECT_EQ((tokens.select(1, 2) == kDollarToken).sum().item<int64_t>(), 0);
  const RtdFeatures features = model->rtd_features(tokens, 4);

  const torch::Tensor references = model->frozen_text_tower().forward(tokens.select(1, 2));
  const torch::Tensor targets = model->frozen_text_tower().forward(tokens.select(1, 3));
  const torch::Tensor noise = model->reference_noise(3, 24, 4, references);
  const torch::Tensor words = model->mapper().as<PhiImpl>()->forward(references + noise);
  const torch::Tensor queries =
      encode_with_pseudo_words(model->text_tower(), torch::cat({tokens.select(1, 0), tokens.select(1, 1)}),
                               torch::cat({words, words}), PseudoWordInjection::kReplaceEvery, kDollarToken);
  const auto unit = [](const torch::Tensor& x) { return x / x.norm(2, 1, true); };
  EXPECT_TRUE(torch::allclose(features.queries, unit(queries), 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(features.targets, unit(torch::cat({targets, references})), 1e-6, 1e-7));
  // The noise is there, and of the reference's size: 0.5 * u * n with u ~ U(0, 1).
  EXPECT_GT(noise.abs().max().item<double>(), 0.0);
  EXPECT_LT(noise.abs().max().item<double>(), 0.5 * 6);
}

TEST(RtdModel, NoiseFollowsTheGlobalRowAndTheStepSeed) {
  auto model = rtd_model_of(rtd_config({"rtd.noise_scale=0.5"}));
  const torch::Tensor like = torch::zeros({1}, torch::kDouble);
  model->set_step_seed(9);
  const torch::Tensor whole = model->reference_noise(7, 24, 0, like);
  // Rows 2-4 drawn alone (another rank's slice) equal rows 2-4 of the whole batch.
  EXPECT_TRUE(torch::equal(model->reference_noise(3, 24, 2, like), whole.slice(0, 2, 5)));
  // Each row's vector is u * n: one uniform scale per row (the rows' norms differ).
  EXPECT_GT((whole.norm(2, 1) - whole.norm(2, 1).mean()).abs().max().item<double>(), 0.1);
  model->set_step_seed(10);
  EXPECT_FALSE(torch::equal(model->reference_noise(7, 24, 0, like), whole));
  // Scale 0: no noise.
  auto quiet = rtd_model_of(rtd_config({"rtd.noise_scale=0"}));
  EXPECT_EQ(quiet->reference_noise(3, 24, 0, like).abs().max().item<double>(), 0.0);
}

TEST(RtdModel, TestQueriesGoThroughTheTrainedCopyWithEveryDollarReplaced) {
  torch::NoGradGuard no_grad;
  auto model = rtd_model_of(rtd_config());
  model->eval();
  // The copy as if trained: no longer the original tower.
  for (auto& p : model->text_tower().parameters()) p.add_(0.01 * torch::randn_like(p));
  torch::manual_seed(2);
  const torch::Tensor images = torch::rand({2, 3, 32, 32}) * 2 - 1;
  const torch::Tensor features = model->image_tower().forward(images);
  // "$" in the caption too: RTD replaces every `$`.
  const torch::Tensor tokens = rtd_tokenizer().encode_batch({"is red", "has a $ sign"}, kRtdPromptWords);
  EXPECT_EQ((tokens[1] == kDollarToken).sum().item<int64_t>(), 2);
  const PseudoWordMapper phi = [&](const torch::Tensor& x) { return model->mapper().as<PhiImpl>()->forward(x); };
  const torch::Tensor expected = encode_composed(ZeroShotMethod::kRtd, model->text_tower(), phi, features, tokens);
  const torch::Tensor queries = model->encode_query(images, tokens);
  EXPECT_TRUE(torch::allclose(queries, expected / expected.norm(2, 1, true), 1e-6, 1e-7));
  const torch::Tensor original =
      encode_composed(ZeroShotMethod::kRtd, model->frozen_text_tower(), phi, features, tokens);
  EXPECT_FALSE(torch::allclose(queries, original / original.norm(2, 1, true), 1e-4, 1e-5));
}

TEST(RtdModel, OnlyTheCopyTrainsAndEveryFrozenParameterStaysBitIdentical) {
  auto comm = make_local_communicator();
  const ExperimentConfig config = rtd_config();
  auto model = rtd_model_of(config);
  std::map<std::string, torch::Tensor> before;
  for (const auto& item : model->named_parameters()) before[item.key()] = item.value().clone();
  for (const auto& item : model->named_buffers()) before[item.key()] = item.value().clone();
  Stage1Step step(*comm, model, config.stage1);
  const TripletBatch batch = rtd_triplets(6, 2);
  for (int s = 0; s < 3; ++s) {
    model->set_step_seed(static_cast<uint64_t>(s));
    step.run(batch, 6, config.stage1.lr);
  }
  size_t copy_parameters = 0, frozen = 0;
  for (const auto& item : model->named_parameters()) {
    const bool copy = item.key().rfind("text_encoder.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), copy) << item.key();
    if (copy) {
      ++copy_parameters;
    } else {
      ++frozen;
      EXPECT_TRUE(torch::equal(item.value(), before[item.key()])) << item.key() << " changed";
      EXPECT_FALSE(item.value().grad().defined()) << item.key();
    }
  }
  // The copy moved.
  double moved = 0;
  for (const auto& item : model->text_tower().named_parameters())
    moved = std::max(moved, (item.value() - before["text_encoder." + item.key()]).abs().max().item<double>());
  EXPECT_GT(moved, 1e-4);
  for (const auto& item : model->named_buffers())
    EXPECT_TRUE(torch::equal(item.value(), before[item.key()])) << item.key() << " changed";
  // Frozen: the image tower, the original text tower (as large as the copy) and φ.
  EXPECT_GT(frozen, 2 * copy_parameters);
  EXPECT_EQ(model->trainable_parameters().size(), copy_parameters);
  // One group, every parameter with stage1.weight_decay (RTD's AdamW).
  const auto& groups = step.optimizer().param_groups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(static_cast<const torch::optim::AdamWOptions&>(groups[0].options()).weight_decay(), 0.01);
  EXPECT_EQ(groups[0].params().size(), copy_parameters);
}

TEST(DistRtdStage1, LossAndCopyGradientsEqualOneProcess) {
  Communicator& comm = world();
  const ExperimentConfig config = rtd_config();
  constexpr int64_t kBatch = 7;  // uneven slices on 2 and 3 ranks
  const TripletBatch global = rtd_triplets(kBatch, 3);
  auto distributed = rtd_model_of(config, torch::kDouble);
  distributed->set_step_seed(5);
  Stage1Step distributed_step(comm, distributed, config.stage1);
  const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
  const double loss = distributed_step.compute_gradients(testing::rows(global, mine.begin, mine.end), kBatch);

  auto local_comm = make_local_communicator();
  auto reference = rtd_model_of(config, torch::kDouble);
  reference->set_step_seed(5);
  Stage1Step reference_step(*local_comm, reference, config.stage1);
  const double reference_loss = reference_step.compute_gradients(global, kBatch);

  // The reference loss is nt_xent_loss over the whole batch's features.
  {
    torch::NoGradGuard no_grad;
    const RtdFeatures features = reference->rtd_features(global.tokens, 0);
    EXPECT_NEAR(nt_xent_loss(features.targets, features.queries, 0.07).item<double>(), reference_loss,
                1e-10 * reference_loss);
  }
  EXPECT_NEAR(loss, reference_loss, 1e-10 * std::abs(reference_loss));
  EXPECT_GT(reference_loss, 0);
  testing::expect_same_gradients(*distributed, *reference, 1e-9, /*every_parameter_trains=*/false,
                                 "W=" + std::to_string(comm.size()));
  // The noise was live: another step seed gives another loss.
  reference->set_step_seed(6);
  EXPECT_NE(reference_step.compute_gradients(global, kBatch), reference_loss);
}

TEST(DistRtdStage1, AdamWStepsGiveSameLossesAndCopyAsOneRank) {
  Communicator& comm = world();
  const ExperimentConfig config = rtd_config();
  constexpr int64_t kBatch = 5, kSteps = 3;
  const TripletBatch data = rtd_triplets(kBatch * kSteps, 4);
  auto run = [&](Communicator& c) {
    auto model = rtd_model_of(config, torch::kDouble);
    return std::make_pair(testing::run_stage1_steps(c, model, config.stage1, data, kBatch, kSteps), model);
  };
  auto [losses, model] = run(comm);
  auto local_comm = make_local_communicator();
  auto [reference_losses, reference_model] = run(*local_comm);
  for (int64_t s = 0; s < kSteps; ++s)
    EXPECT_NEAR(losses[s], reference_losses[s], 1e-10 * std::abs(reference_losses[s])) << "step " << s;
  const auto reference_named = reference_model->named_parameters();
  for (const auto& item : model->named_parameters())
    EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-9) << item.key();
}

std::string rtd_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(RtdModel, WhatRtdRefusesNamesTheKey) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> config_cases = {
      {{"stage2.enabled=true"}, "stage2.enabled: with model.family = \"rtd\""},
      {{"positives.enabled=true", "positives.warmup_encoder=true"}, "positives.enabled: with model.family = \"rtd\""},
      {{"stage1.shard_optimizer=true"}, "stage1.shard_optimizer: with model.family = \"rtd\""},
      {{"model.mapper_weights=\"\""}, "model.mapper_weights: with model.family = \"rtd\" phi"},
      {{"data.kind=cirr"}, "rtd.text_triplets: with model.family = \"rtd\" stage 1 trains on text triplets"},
      {{"rtd.temperature=0"}, "rtd.temperature"},
      {{"rtd.noise_scale=-1"}, "rtd.noise_scale"},
  };
  for (const auto& [overrides, expected] : config_cases) {
    const std::string error = rtd_error_of([&] { rtd_config(overrides); });
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
  // Files: a missing φ, and a φ of another size (SEARLE's default hidden width).
  for (const auto& [overrides, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"model.mapper_weights=/nonexistent/phi.safetensors"},
            "model.mapper_weights: /nonexistent/phi.safetensors not found"},
           {{"model.mapper_hidden=40"}, "model.mapper_weights: "}}) {
    const ExperimentConfig config = rtd_config(overrides);
    const std::string error = rtd_error_of([&] { make_rtd_model(config, rtd_tokenizer().size()); });
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace spn
