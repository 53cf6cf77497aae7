// A few optimizer steps of each zero-shot trainer against its reference code's, in the
// fixtures of scripts/make-zeroshot-trainer-golden.py (tests/golden/zeroshot/
// trainers.safetensors): Pic2Word's IM2TEXT, SEARLE's φ and RTD's text tower copy through
// the stage-1 step on 1, 2 and 3 ranks, SEARLE's OTI in one process. The CLIP is the
// golden tiny one (tests/golden/clip_vit), everything in float64, the mapping networks
// without dropout (eval mode) and every draw of the references given: the images, the
// OTI words and initial tokens, the template and phrase picks, RTD's noise. What is
// compared: each step's loss and the trained weights (RTD: the trained copy's features
// of probe rows).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "config/config_file.h"
#include "dist/sharding.h"
#include "models/pseudo_words.h"
#include "models/rtd_model.h"
#include "models/safetensors.h"
#include "models/zero_shot_model.h"
#include "parity.h"
#include "test_files.h"
#include "test_world.h"
#include "train/phi_loss.h"
#include "train/rtd_stage1.h"
#include "train/stage1_step.h"
#include "train/textual_inversion.h"

namespace spn {
namespace {

using testing::relative_error;
using testing::world;

namespace fs = std::filesystem;

constexpr int64_t kBatch = 7, kSteps = 3, kContext = 16;
constexpr int64_t kGoldenVocab = 1000;  // tests/golden/clip_vit's token table

const fs::path kGolden = testing::golden_dir() / "zeroshot";

torch::Tensor golden(const std::string& name) {
  static const SafetensorsFile file(kGolden / "trainers.safetensors");
  return file.read(name);
}

// The golden CLIP with the family's mapping network read from the fixture's initial
// weights, in float64 and eval mode (no dropout: the references' draws are not ours).
ExperimentConfig golden_config(const std::string& family, const std::string& mapper,
                               const std::vector<std::string>& overrides) {
  std::vector<std::string> all = {"model.family=" + family,
                                  "model.clip_dir=" + (testing::golden_dir() / "clip_vit").string(),
                                  "model.embed_dim=24",
                                  "data.image_size=32",
                                  "data.max_words=" + std::to_string(kContext),
                                  "model.mapper_weights=" + (kGolden / (mapper + ".safetensors")).string()};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config_text("", "<test>", all);
}

template <typename Model>
std::shared_ptr<Model> evaluating(std::shared_ptr<Model> model) {
  model->to(torch::kDouble);
  model->eval();
  return model;
}

// The fixture's step `s` rows of this rank (of kBatch, sharded as stage 1 shards them).
torch::Tensor my_rows(const torch::Tensor& steps, int64_t s, const ShardRange& mine) {
  return steps[s].slice(0, mine.begin, mine.end);
}

// A trainer's objective at step `s` for this rank's rows `mine` of the step's kBatch:
// this rank's share of the loss.
using StepLoss = std::function<torch::Tensor(int64_t s, const ShardRange& mine, const TripletBatch& batch)>;

// Runs the steps on this rank's rows with `loss` (none: the family's own, Pic2Word's);
// each step's loss (the global mean).
std::vector<double> run_steps(Communicator& comm, const std::shared_ptr<CirModel>& model,
                              const ExperimentConfig& config, const StepLoss& loss,
                              const std::function<TripletBatch(int64_t, const ShardRange&)>& batch_of) {
  const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
  int64_t s = 0;
  const auto step = loss ? std::make_unique<Stage1Step>(comm, model, config.stage1, Precision::Fp32,
                                                        [&](const TripletBatch& batch, int64_t, int64_t) {
                                                          return Stage1Step::LossShares{loss(s, mine, batch), {}};
                                                        })
                         : std::make_unique<Stage1Step>(comm, model, config.stage1);
  std::vector<double> losses;
  for (s = 0; s < kSteps; ++s) losses.push_back(step->run(batch_of(s, mine), kBatch, config.stage1.lr).loss);
  return losses;
}

void expect_losses(const std::vector<double>& losses, const torch::Tensor& expected, double tolerance) {
  ASSERT_EQ(static_cast<int64_t>(losses.size()), expected.size(0));
  for (size_t s = 0; s < losses.size(); ++s)
    EXPECT_NEAR(losses[s], expected[static_cast<int64_t>(s)].item<double>(), tolerance) << "step " << s;
}

// Every parameter of the mapping network against the fixture's `prefix`.<its name>, and
// the check that the steps moved it (the fixture's initial weights are the file's).
void expect_trained_mapper(torch::nn::Module& mapper, const std::string& prefix, const std::string& initial_file,
                           double tolerance) {
  const SafetensorsFile initial(kGolden / initial_file);
  double moved = 0;
  for (const auto& item : mapper.named_parameters()) {
    const torch::Tensor expected = golden(prefix + "." + item.key());
    EXPECT_LT((item.value().detach() - expected).abs().max().item<double>(), tolerance) << prefix << " " << item.key();
    moved = std::max(moved, (expected - initial.read(item.key()).to(torch::kDouble)).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-4) << prefix << ": the reference's steps barely moved the weights";
}

TEST(DistZeroShotParity, Pic2WordStepsAreTheReferencesSteps) {
  Communicator& comm = world();
  // src/main.py's AdamW: betas (0.9, 0.98), eps 1e-6, biases out of the weight decay.
  const ExperimentConfig config =
      golden_config("pic2word", "pic2word_im2text",
                    {"model.mapper_hidden=16", "stage1.lr=1e-3", "stage1.weight_decay=0.1", "stage1.adam_beta1=0.9",
                     "stage1.adam_beta2=0.98", "stage1.adam_eps=1e-6"});
  auto model = evaluating(make_zero_shot_model(config, kGoldenVocab, ZeroShotMethod::kPic2Word));
  const torch::Tensor images = golden("images").to(torch::kDouble), prompt = golden("pic2word.prompt");
  const std::vector<double> losses = run_steps(comm, model, config, nullptr, [&](int64_t s, const ShardRange& mine) {
    TripletBatch batch;
    batch.reference_images = my_rows(images, s, mine);
    batch.tokens = prompt.slice(0, mine.begin, mine.end);
    return batch;
  });
  expect_losses(losses, golden("pic2word.losses"), 1e-9);
  expect_trained_mapper(model->mapper(), "pic2word.trained", "pic2word_im2text.safetensors", 1e-9);
}

TEST(DistZeroShotParity, SearlePhiStepsAreTheReferencesSteps) {
  Communicator& comm = world();
  // src/train_phi.py's AdamW(phi.parameters()): torch's betas and eps, all of φ decayed.
  const ExperimentConfig config =
      golden_config("searle", "searle_phi",
                    {"model.mapper_hidden=40", "stage1.lr=1e-3", "stage1.weight_decay=0.01", "stage1.adam_beta1=0.9",
                     "stage1.adam_beta2=0.999", "stage1.adam_eps=1e-8"});
  auto model = evaluating(make_zero_shot_model(config, kGoldenVocab, ZeroShotMethod::kSearle));
  const torch::Tensor images = golden("images").to(torch::kDouble), words = golden("searle.oti_words");
  const torch::Tensor with_word = golden("searle.phrases_with_word"), phrases = golden("searle.phrases");
  const StepLoss loss = [&](int64_t s, const ShardRange& mine, const TripletBatch& batch) {
    return phi_loss_shard(comm, *model, model->encode_reference(batch.reference_images), my_rows(words, s, mine),
                          my_rows(with_word, s, mine), my_rows(phrases, s, mine), mine.begin, kBatch,
                          PhiLossWeights{0.25, 1.0, 0.75})
        .total;
  };
  const std::vector<double> losses = run_steps(comm, model, config, loss, [&](int64_t s, const ShardRange& mine) {
    TripletBatch batch;
    batch.reference_images = my_rows(images, s, mine);
    return batch;
  });
  expect_losses(losses, golden("searle.losses"), 1e-9);
  expect_trained_mapper(model->mapper(), "searle.trained", "searle_phi.safetensors", 1e-9);
}

TEST(DistZeroShotParity, RtdStepsAreTheReferencesSteps) {
  Communicator& comm = world();
  // train_text_encoder.py's AdamW(text_encoder_train.parameters()): torch's betas and eps.
  const ExperimentConfig config =
      golden_config("rtd", "rtd_phi",
                    {"model.mapper_hidden=40", "rtd.temperature=0.07", "stage1.lr=1e-3", "stage1.weight_decay=0.01",
                     "stage1.adam_beta1=0.9", "stage1.adam_beta2=0.999", "stage1.adam_eps=1e-8"});
  auto model = evaluating(make_rtd_model(config, kGoldenVocab));
  const torch::Tensor tokens = golden("rtd.tokens"), noise = golden("rtd.noise");
  const StepLoss loss = [&](int64_t s, const ShardRange& mine, const TripletBatch& batch) {
    return rtd_loss_shard(comm, *model, batch.tokens, mine.begin, kBatch, my_rows(noise, s, mine));
  };
  const std::vector<double> losses = run_steps(comm, model, config, loss, [&](int64_t s, const ShardRange& mine) {
    TripletBatch batch;
    batch.tokens = my_rows(tokens, s, mine);
    return batch;
  });
  expect_losses(losses, golden("rtd.losses"), 1e-9);
  torch::NoGradGuard no_grad;
  const torch::Tensor probes =
      encode_with_pseudo_words(model->text_tower(), golden("rtd.probes"), golden("rtd.probe_words"),
                               PseudoWordInjection::kReplaceEvery, kDollarToken);
  EXPECT_LT(relative_error(probes, golden("rtd.probe_features")), 1e-9);
  // The steps mattered: the untrained tower (the original) is far from the trained copy.
  const torch::Tensor original =
      encode_with_pseudo_words(model->frozen_text_tower(), golden("rtd.probes"), golden("rtd.probe_words"),
                               PseudoWordInjection::kReplaceEvery, kDollarToken);
  EXPECT_GT(relative_error(original, golden("rtd.probe_features")), 1e-3);
}

TEST(ZeroShotParity, SearleOtiStepsAreTheReferencesSteps) {
  const ExperimentConfig config = golden_config("searle", "searle_phi", {"model.mapper_hidden=40"});
  auto model = evaluating(make_zero_shot_model(config, kGoldenVocab, ZeroShotMethod::kSearle));
  const torch::Tensor features = model->encode_reference(golden("oti.images").to(torch::kDouble)).detach();
  EXPECT_LT(relative_error(features, golden("oti.image_features")), 1e-9);
  OtiPrompts prompts;
  prompts.templates = golden("oti.templates");
  const torch::Tensor counts = golden("oti.phrase_counts");
  const torch::Tensor with_word = golden("oti.phrases_with_word"), written = golden("oti.phrases");
  for (int64_t i = 0, at = 0; i < counts.size(0); at += counts[i].item<int64_t>(), ++i) {
    prompts.phrases_with_word.push_back(with_word.narrow(0, at, counts[i].item<int64_t>()));
    prompts.phrases.push_back(written.narrow(0, at, counts[i].item<int64_t>()));
  }
  OtiOptions options;  // SEARLE's: lr 2e-2, weight decay 0.01, EMA 0.99, gpt weight 0.5
  options.steps = golden("oti.losses").size(0);
  OtiDraws draws;
  draws.initial_tokens = golden("oti.initial_tokens");
  const torch::Tensor template_picks = golden("oti.template_picks"), phrase_picks = golden("oti.phrase_picks");
  const auto as_vector = [](const torch::Tensor& row) {
    const torch::Tensor contiguous = row.contiguous();
    return std::vector<int64_t>(contiguous.data_ptr<int64_t>(), contiguous.data_ptr<int64_t>() + contiguous.numel());
  };
  for (int64_t s = 0; s < options.steps; ++s) {
    draws.templates.push_back(as_vector(template_picks[s]));
    draws.phrases.push_back(as_vector(phrase_picks[s]));
  }
  const OtiResult result = invert_images(model->text_tower(), features, prompts, options, draws);
  const torch::Tensor losses = golden("oti.losses");
  EXPECT_NEAR(result.first_loss, losses[0].item<double>(), 1e-9);
  EXPECT_NEAR(result.last_loss, losses[-1].item<double>(), 1e-9);
  EXPECT_LT(relative_error(result.tokens, golden("oti.tokens")), 1e-9);
  EXPECT_LT(relative_error(result.ema_tokens, golden("oti.ema_tokens")), 1e-9);
  EXPECT_GT(relative_error(result.tokens, draws.initial_tokens.to(torch::kDouble)), 0.1);  // the steps moved them
}

}  // namespace
}  // namespace spn
