// The zero-shot families (model.family = "pic2word", "searle") on a tiny random CLIP
// (tests/clip_fixture.h): targets, references and queries are the composition of the
// CLIP towers, the mapping network and the method's prompt; Pic2Word's stage-1 step
// (images alone, "a photo of" with the pseudo word inserted) gives the same loss,
// gradients and AdamW steps on any number of ranks as in one process, dropout on; only
// the mapping network trains, its biases without weight decay, CLIP bit for bit
// unchanged; and what the families refuse, naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <functional>

#include "clip_fixture.h"
#include "config/config_file.h"
#include "core/error.h"
#include "dist/sharding.h"
#include "models/pseudo_words.h"
#include "models/zero_shot_model.h"
#include "models/zero_shot_tokenizer.h"
#include "test_models.h"
#include "test_world.h"
#include "train/stage1_step.h"

namespace spn {
namespace {

using testing::world;

constexpr int64_t kPromptWords = 16;

// This process's tiny CLIP directory (every process writes the same model).
const std::filesystem::path& tiny_clip_dir() {
  static const std::filesystem::path dir = [] {
    const auto path = std::filesystem::temp_directory_path() / ("spn-test-zs-clip-" + std::to_string(::getpid()));
    testing::write_tiny_clip(path);
    return path;
  }();
  return dir;
}

ExperimentConfig zero_shot_config(const std::string& family, const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> all = {"model.family=" + family, "model.clip_dir=" + tiny_clip_dir().string(),
                                  "model.embed_dim=24", "data.image_size=32",
                                  "data.max_words=" + std::to_string(kPromptWords)};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config_text("", "<test>", all);
}

ComposedPromptTokenizer zero_shot_tokenizer_of(ZeroShotMethod method) {
  return ComposedPromptTokenizer(ClipTokenizer::from_directory(tiny_clip_dir()), method);
}

std::shared_ptr<ZeroShotModel> zero_shot_model_of(const ExperimentConfig& config, torch::Dtype dtype = torch::kFloat) {
  const auto method = *zero_shot_method_of(config.model);
  torch::manual_seed(0);  // the mapping network's initial weights
  auto model = make_zero_shot_model(config, zero_shot_tokenizer_of(method).size(), method);
  model->to(dtype);
  return model;
}

// `n` random images (the same on every rank) with "a photo of" rows; the targets
// repeat the images so testing::rows can slice the batch.
TripletBatch pic2word_images(int64_t n, uint64_t seed, torch::Dtype dtype) {
  torch::manual_seed(seed);
  TripletBatch batch;
  batch.reference_images = (torch::rand({n, 3, 32, 32}) * 2 - 1).to(dtype);
  batch.target_images = batch.reference_images;
  batch.tokens = zero_shot_tokenizer_of(ZeroShotMethod::kPic2Word)
                     .clip()
                     .encode_batch({pic2word_training_prompt()}, kPromptWords)
                     .expand({n, kPromptWords})
                     .contiguous();
  return batch;
}

TEST(ZeroShotModel, TargetsReferencesAndQueriesComposeClipAndTheMapper) {
  torch::NoGradGuard no_grad;
  for (const std::string family : {"pic2word", "searle"}) {
    auto model = zero_shot_model_of(zero_shot_config(family));
    model->eval();
    const ZeroShotMethod method = model->method();
    const torch::Tensor images = pic2word_images(3, 1, torch::kFloat).reference_images;
    const torch::Tensor features = model->image_tower().forward(images);
    EXPECT_TRUE(torch::equal(model->encode_reference(images), features)) << family;
    EXPECT_TRUE(torch::allclose(model->encode_target(images), features / features.norm(2, 1, true), 1e-6, 1e-7))
        << family;
    const std::vector<std::string> captions = {"is red", "has two small blue squares instead of a circle", "x"};
    const torch::Tensor tokens = zero_shot_tokenizer_of(method).encode_batch(captions, kPromptWords);
    // The tokenizer wrote the prompt around each caption, placeholder included.
    const int64_t placeholder = method == ZeroShotMethod::kPic2Word ? kStarToken : kDollarToken;
    EXPECT_TRUE(torch::equal(tokens, zero_shot_tokenizer_of(method).clip().encode_batch(
                                         {composed_prompt(method, captions[0]), composed_prompt(method, captions[1]),
                                          composed_prompt(method, captions[2])},
                                         kPromptWords)));
    EXPECT_EQ((tokens == placeholder).sum().item<int64_t>(), 3) << family;
    const PseudoWordMapper mapper = [&](const torch::Tensor& x) { return model->pseudo_words(x, 0); };
    const torch::Tensor expected = encode_composed(method, model->text_tower(), mapper, features, tokens);
    EXPECT_TRUE(torch::allclose(model->encode_query(images, tokens), expected / expected.norm(2, 1, true), 1e-6, 1e-7))
        << family;
    EXPECT_NEAR(model->logit_scale().item<double>(), 100.0, 1e-3);  // exp(4.6052), CLIP's own
  }
}

TEST(ZeroShotModel, OnlyTheMapperTrainsItsBiasesWithoutWeightDecayAndClipStaysBitIdentical) {
  auto comm = make_local_communicator();
  const ExperimentConfig config = zero_shot_config(
      "pic2word", {"stage1.lr=1e-3", "stage1.weight_decay=0.1", "stage1.adam_beta2=0.98", "stage1.adam_eps=1e-6"});
  auto model = zero_shot_model_of(config);
  std::map<std::string, torch::Tensor> before;
  for (const auto& item : model->named_parameters()) before[item.key()] = item.value().clone();
  for (const auto& item : model->named_buffers()) before[item.key()] = item.value().clone();
  Stage1Step step(*comm, model, config.stage1);
  const TripletBatch batch = pic2word_images(6, 2, torch::kFloat);
  for (int s = 0; s < 3; ++s) step.run(batch, 6, config.stage1.lr);
  size_t mapper_parameters = 0;
  for (const auto& item : model->named_parameters()) {
    const bool mapper = item.key().rfind("mapper.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), mapper) << item.key();
    if (mapper) {
      ++mapper_parameters;
      EXPECT_FALSE(torch::equal(item.value(), before[item.key()])) << item.key() << " did not train";
    } else {
      EXPECT_TRUE(torch::equal(item.value(), before[item.key()])) << item.key() << " changed";
      EXPECT_FALSE(item.value().grad().defined()) << item.key();
    }
  }
  for (const auto& item : model->named_buffers())
    EXPECT_TRUE(torch::equal(item.value(), before[item.key()])) << item.key() << " changed";
  EXPECT_EQ(mapper_parameters, 6u);  // IM2TEXT: two hidden layers and fc_out, weights and biases
  EXPECT_EQ(model->trainable_parameters().size(), mapper_parameters);
  // Two groups: the weights with stage1.weight_decay, the biases without.
  const auto& groups = step.optimizer().param_groups();
  ASSERT_EQ(groups.size(), 2u);
  const auto decay = [](const torch::optim::OptimizerParamGroup& group) {
    return static_cast<const torch::optim::AdamWOptions&>(group.options()).weight_decay();
  };
  EXPECT_EQ(decay(groups[0]), 0.1);
  EXPECT_EQ(decay(groups[1]), 0.0);
  EXPECT_EQ(groups[0].params().size(), 3u);
  ASSERT_EQ(groups[1].params().size(), 3u);
  for (const auto& bias : groups[1].params()) EXPECT_EQ(bias.dim(), 1);
  // Both with the stage's betas and eps (Pic2Word's: 0.9, 0.98, 1e-6).
  for (const auto& group : groups) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    EXPECT_EQ(std::get<0>(options.betas()), 0.9);
    EXPECT_EQ(std::get<1>(options.betas()), 0.98);
    EXPECT_EQ(options.eps(), 1e-6);
  }
}

TEST(ZeroShotModel, ReferenceNamedWeightsLoadIntoTheMappers) {
  torch::NoGradGuard no_grad;
  const auto golden = testing::golden_dir() / "zeroshot";
  // The golden mappers' sizes (24 -> 16 -> 16 -> 32 and 24 -> 40 -> 40 -> 32) are the
  // tiny CLIP's widths with their hidden widths.
  auto pic2word = zero_shot_model_of(zero_shot_config(
      "pic2word", {"model.mapper_hidden=16", "model.mapper_weights=" + (golden / "im2text.safetensors").string()}));
  Im2Text im2text(Im2TextOptions{24, 16, 32, 2, 0.1});
  load_mapper_weights(*im2text, golden / "im2text.safetensors");
  pic2word->eval();
  im2text->eval();
  const torch::Tensor x = torch::randn({4, 24});
  EXPECT_TRUE(torch::equal(pic2word->pseudo_words(x, 0), im2text(x)));
  auto searle = zero_shot_model_of(zero_shot_config(
      "searle", {"model.mapper_hidden=40", "model.mapper_weights=" + (golden / "phi.safetensors").string()}));
  Phi phi(PhiOptions{24, 40, 32, 0.5});
  load_mapper_weights(*phi, golden / "phi.safetensors");
  searle->eval();
  phi->eval();
  EXPECT_TRUE(torch::equal(searle->pseudo_words(x, 0), phi(x)));
}

TEST(DistPic2WordStage1, LossAndEveryGradientEqualOneProcess) {
  Communicator& comm = world();
  const ExperimentConfig config = zero_shot_config("pic2word");
  constexpr int64_t kBatch = 7;  // uneven slices on 2 and 3 ranks
  const TripletBatch global = pic2word_images(kBatch, 7, torch::kDouble);
  // Dropout is on (training mode): its masks follow the global rows.
  auto distributed = zero_shot_model_of(config, torch::kDouble);
  distributed->set_step_seed(5);
  Stage1Step distributed_step(comm, distributed, config.stage1);
  const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
  const double loss = distributed_step.compute_gradients(testing::rows(global, mine.begin, mine.end), kBatch);

  auto local_comm = make_local_communicator();
  auto reference = zero_shot_model_of(config, torch::kDouble);
  reference->set_step_seed(5);
  Stage1Step reference_step(*local_comm, reference, config.stage1);
  const double reference_loss = reference_step.compute_gradients(global, kBatch);

  EXPECT_NEAR(loss, reference_loss, 1e-10 * std::abs(reference_loss));
  EXPECT_GT(reference_loss, 0);
  testing::expect_same_gradients(*distributed, *reference, 1e-9, /*every_parameter_trains=*/false,
                                 "W=" + std::to_string(comm.size()));
  // Dropout was live: another step seed gives another loss.
  reference->set_step_seed(6);
  EXPECT_NE(reference_step.compute_gradients(global, kBatch), reference_loss);
}

// In float64: AdamW divides each gradient by its own running size, so in float32 the
// rounding of a reduction in another order moves near-zero gradients' elements by up
// to a few 1e-5 of lr 1e-3 (the SPRC tests meet the same).
TEST(DistPic2WordStage1, AdamWStepsGiveSameLossesAndParametersAsOneRank) {
  Communicator& comm = world();
  const ExperimentConfig config = zero_shot_config("pic2word", {"stage1.lr=1e-3", "stage1.weight_decay=0.1"});
  constexpr int64_t kBatch = 7, kSteps = 4;
  const TripletBatch data = pic2word_images(kBatch * kSteps, 11, torch::kDouble);
  auto run = [&](Communicator& c) {
    auto model = zero_shot_model_of(config, torch::kDouble);
    return std::make_pair(testing::run_stage1_steps(c, model, config.stage1, data, kBatch, kSteps), model);
  };
  auto [losses, model] = run(comm);
  auto local_comm = make_local_communicator();
  auto [reference_losses, reference_model] = run(*local_comm);
  for (int64_t s = 0; s < kSteps; ++s)
    EXPECT_NEAR(losses[s], reference_losses[s], 1e-10 * std::abs(reference_losses[s])) << "step " << s;
  const auto initial = zero_shot_model_of(config, torch::kDouble)->named_parameters();
  const auto reference_named = reference_model->named_parameters();
  double moved = 0;
  for (const auto& item : model->named_parameters()) {
    EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-9) << item.key();
    moved = std::max(moved, (reference_named[item.key()] - initial[item.key()]).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-4);  // it trained
}

std::string zero_shot_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(ZeroShotModel, WhatTheFamiliesRefuseNamesTheKey) {
  const std::vector<std::tuple<std::string, std::vector<std::string>, std::string>> config_cases = {
      {"pic2word", {"stage2.enabled=true"}, "stage2.enabled: with model.family = \"pic2word\""},
      {"pic2word", {"positives.enabled=true", "positives.warmup_encoder=true"}, "positives.enabled: with model.family"},
      {"pic2word", {"stage1.shard_optimizer=true"}, "stage1.shard_optimizer: with model.family = \"pic2word\" AdamW"},
      {"searle",
       {"stage1.shard_optimizer=true"},
       "shard_optimizer: with model.family = \"searle\" the sharded optimizer has not been checked with phi"},
      {"searle", {"searle.top_k_concepts=0"}, "searle.top_k_concepts"},
      {"pic2word", {"model.mapper_hidden=-1"}, "model.mapper_hidden"},
  };
  for (const auto& [family, overrides, expected] : config_cases) {
    const std::string error = zero_shot_error_of([&] { zero_shot_config(family, overrides); });
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
  const auto golden = testing::golden_dir() / "zeroshot";
  const std::vector<std::pair<std::vector<std::string>, std::string>> model_cases = {
      {{"model.clip_dir=\"\""}, "model.clip_dir: the clip encoders need a CLIP model directory"},
      {{"model.clip_dir=/nonexistent/clip"}, "/nonexistent/clip/config.json: missing"},
      {{"data.image_size=48"}, "data.image_size = 48, but the CLIP model in"},
      {{"model.embed_dim=16"}, "model.embed_dim = 16, but the CLIP model in"},
      {{"model.mapper_weights=/nonexistent/im2text.safetensors"},
       "model.mapper_weights: /nonexistent/im2text.safetensors not found"},
      // The golden IM2TEXT is 16 wide; the default hidden width is 512.
      {{"model.mapper_weights=" + (golden / "im2text.safetensors").string()}, "model.mapper_weights: "},
  };
  for (const auto& [overrides, expected] : model_cases) {
    const ExperimentConfig config = zero_shot_config("pic2word", overrides);
    const std::string error =
        zero_shot_error_of([&] { make_zero_shot_model(config, 4514, ZeroShotMethod::kPic2Word); });
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
  // Through the registry, the families are known by name.
  EXPECT_NE(zero_shot_error_of([] {
              make_cir_model(zero_shot_config("pic2word", {"model.family=lincir"}), 4514);
            }).find("model.family: unknown name \"lincir\" (registered: dual_encoder, pic2word, rtd, searle, sprc)"),
            std::string::npos);
}

}  // namespace
}  // namespace spn
