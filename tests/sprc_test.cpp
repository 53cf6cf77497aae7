// SPRC as a model family, on the tiny random BLIP-2 of tests/golden/blip2 (with the
// golden WordPiece vocabulary beside it): its stage-1 losses against their definitions
// written out here from the model's passes, the same loss and gradients on any number
// of ranks as in one process (the loss-scaling rule), a few steps that match one rank,
// and what the family refuses, naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "core/error.h"
#include "data/image_rows.h"
#include "data/image_tensor.h"
#include "data/shapes_benchmark.h"
#include "data/splits.h"
#include "dist/sharding.h"
#include "models/bert_tokenizer.h"
#include "sprc_fixture.h"
#include "test_models.h"
#include "test_world.h"
#include "train/evaluate.h"
#include "train/sprc_loss.h"
#include "train/stage1_step.h"

namespace spn {
namespace {

using testing::world;

constexpr int64_t kTextLength = 12;
using testing::kSprcImageSize;
using testing::sprc_model;

ExperimentConfig sprc_config(const std::vector<std::string>& overrides = {}) {
  return testing::sprc_config(kTextLength, overrides);
}

TripletBatch sprc_triplets(int64_t n, uint64_t seed, torch::Dtype dtype) {
  return testing::sprc_triplets(n, seed, dtype, kTextLength);
}

TEST(Sprc, LossesEqualTheirDefinitions) {
  auto comm = make_local_communicator();
  const ExperimentConfig config = sprc_config();
  auto model = sprc_model(config, torch::kDouble);
  constexpr int64_t kBatch = 5;
  const TripletBatch batch = sprc_triplets(kBatch, 3, torch::kDouble);
  const SprcLossWeights weights{0.3, 0.7};
  const SprcLosses losses =
      sprc_loss_shard(*comm, *model, batch.reference_images, batch.tokens, batch.target_images, 0, kBatch, weights);

  // SPRC's forward written out from the BLIP-2 passes.
  torch::NoGradGuard no_grad;
  Blip2Sprc& blip2 = model->blip2();
  const torch::Tensor fused = blip2.fuse(blip2.image_tokens(batch.reference_images), batch.tokens);
  const torch::Tensor queries = blip2.composed_query(fused, batch.tokens);
  const torch::Tensor prompts = blip2.prompt_query(batch.tokens);
  const torch::Tensor targets = blip2.target_features(blip2.image_tokens(batch.target_images));  // [B, Q, E]
  const double temp = blip2.temp().item<double>();
  // Cross entropy of max_k <q_i, t_jk> / temp over j, positive i, averaged over i.
  const auto infonce = [&](const torch::Tensor& q) {
    double total = 0;
    for (int64_t i = 0; i < kBatch; ++i) {
      std::vector<torch::Tensor> row;
      for (int64_t j = 0; j < kBatch; ++j) row.push_back(torch::matmul(targets[j], q[i]).max() / temp);
      const torch::Tensor logits = torch::stack(row);
      total += (torch::logsumexp(logits, 0) - logits[i]).item<double>();
    }
    return total / kBatch;
  };
  const double itc = infonce(queries), rtc = infonce(prompts);
  const torch::Tensor prompt_mean = blip2.prompt_tokens().mean(1).expand({kBatch, -1});
  const double align = torch::nn::functional::mse_loss(fused.mean(1), prompt_mean).item<double>();

  EXPECT_NEAR(losses.itc.item<double>(), itc, 1e-10 * itc);
  EXPECT_NEAR(losses.rtc.item<double>(), rtc, 1e-10 * rtc);
  EXPECT_NEAR(losses.align.item<double>(), align, 1e-10 * align);
  EXPECT_NEAR(losses.total.item<double>(), itc + 0.3 * rtc + 0.7 * align, 1e-10 * itc);
  EXPECT_GT(align, 0);
  // The model's query and score seam give the same numbers as the passes.
  EXPECT_TRUE(torch::allclose(model->encode_query(batch.reference_images, batch.tokens), queries, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(model->encode_target(batch.target_images), targets, 1e-12, 1e-12));
  EXPECT_NEAR(model->logit_scale().item<double>(), 1 / temp, 1e-12);
}

TEST(Sprc, OnlyTheVisionTowerIsFrozen) {
  auto comm = make_local_communicator();
  auto model = sprc_model(sprc_config(), torch::kDouble);
  const TripletBatch batch = sprc_triplets(4, 5, torch::kDouble);
  sprc_loss_shard(*comm, *model, batch.reference_images, batch.tokens, batch.target_images, 0, 4, {}).total.backward();
  int64_t frozen = 0, trained = 0;
  for (const auto& item : model->named_parameters()) {
    const bool vision = item.key().rfind("blip2.vision_model.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), !vision) << item.key();
    (vision ? frozen : trained) += 1;
    if (vision) EXPECT_FALSE(item.value().grad().defined()) << item.key();
  }
  EXPECT_GT(frozen, 0);
  EXPECT_GT(trained, 0);
  // The prompt tokens learn through rtc (align does not reach them); temp through both.
  const auto named = model->named_parameters();
  EXPECT_GT(named["blip2.prompt_tokens"].grad().abs().sum().item<double>(), 0);
  EXPECT_GT(std::abs(named["blip2.temp"].grad().item<double>()), 0);
  EXPECT_EQ(model->trainable_parameters().size(), static_cast<size_t>(trained));
}

TEST(DistSprcStage1, LossAndEveryGradientEqualOneProcess) {
  Communicator& comm = world();
  const ExperimentConfig config = sprc_config();
  constexpr int64_t kBatch = 5;  // uneven slices on 2 and 3 ranks
  const TripletBatch global = sprc_triplets(kBatch, 7, torch::kDouble);

  auto distributed = sprc_model(config, torch::kDouble);
  Stage1Step distributed_step(comm, distributed, config.stage1);
  const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
  const double loss = distributed_step.compute_gradients(testing::rows(global, mine.begin, mine.end), kBatch);

  auto local_comm = make_local_communicator();
  auto reference = sprc_model(config, torch::kDouble);
  Stage1Step reference_step(*local_comm, reference, config.stage1);
  const double reference_loss = reference_step.compute_gradients(global, kBatch);

  EXPECT_NEAR(loss, reference_loss, 1e-9 * std::abs(reference_loss));
  // The frozen ViT has no gradient on either side.
  testing::expect_same_gradients(*distributed, *reference, 1e-8, /*every_parameter_trains=*/false,
                                 "W=" + std::to_string(comm.size()));
}

TEST(DistSprcStage1, StepsGiveSameLossesAndParametersAsOneRank) {
  Communicator& comm = world();
  const ExperimentConfig config = sprc_config({"stage1.lr=1e-3"});
  constexpr int64_t kBatch = 7, kSteps = 4;
  const TripletBatch data = sprc_triplets(kBatch * kSteps, 11, torch::kFloat);
  auto run = [&](Communicator& c) {
    auto model = sprc_model(config, torch::kFloat);
    return std::make_pair(testing::run_stage1_steps(c, model, config.stage1, data, kBatch, kSteps), model);
  };
  auto [losses, model] = run(comm);
  auto local_comm = make_local_communicator();
  auto [reference_losses, reference_model] = run(*local_comm);
  for (int64_t s = 0; s < kSteps; ++s)
    EXPECT_NEAR(losses[s], reference_losses[s], 1e-5 * std::abs(reference_losses[s])) << "step " << s;
  const auto initial = sprc_model(config, torch::kFloat)->named_parameters();
  const auto reference_named = reference_model->named_parameters();
  double moved = 0;
  for (const auto& item : model->named_parameters()) {
    if (testing::changes_no_output(item.key())) continue;
    EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-5) << item.key();
    moved = std::max(moved, (reference_named[item.key()] - initial[item.key()]).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-5);  // it trained
}

// Evaluation scores each query with its own reference image fused with its caption (the
// gallery's token sets cannot stand for the references), in chunks of eval.batch_size,
// on any number of ranks: embed_split against the model called image by image.
TEST(DistSprcEvaluation, QueriesFuseTheirOwnReferenceImages) {
  Communicator& comm = world();
  const std::filesystem::path dir = testing::shared_temp_dir(comm, "sprc-eval");
  const ExperimentConfig config =
      sprc_config({"data.root=" + (dir / "benchmark").string(), "data.shapes.train_triplets=6",
                   "data.shapes.val_triplets=7", "data.shapes.extra_images=0", "eval.batch_size=3"});
  ensure_shapes_benchmark(comm, config.data.shapes, config.data.root, false);
  const CirrSplit split = load_split(config.data, "val");
  auto model = sprc_model(config);
  const auto tokenizer = make_sprc_tokenizer(config);
  const SplitEmbeddings embedded = embed_split(comm, *model, split, *tokenizer, config, false);

  torch::NoGradGuard no_grad;
  const ImageRows images = all_images_of(split, image_transform_of(config.data));
  const auto image = [&](int64_t row) {
    torch::Tensor pixels = torch::empty({1, 3, kSprcImageSize, kSprcImageSize}, torch::kUInt8);
    images.decode(row, pixels.data_ptr<uint8_t>());
    return normalize_images(pixels);
  };
  ASSERT_EQ(embedded.gallery.sizes(), (std::vector<int64_t>{images.size(), 4, 16}));
  for (int64_t row = 0; row < images.size(); ++row)
    EXPECT_TRUE(torch::allclose(embedded.gallery[row], model->encode_target(image(row))[0], 1e-5, 1e-6)) << row;
  const ShardRange mine = shard_range(static_cast<int64_t>(split.triplets.size()), comm.size(), comm.rank());
  ASSERT_EQ(embedded.local_queries.sizes(), (std::vector<int64_t>{mine.size(), 16}));
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    const CirrTriplet& triplet = split.triplets[i];
    const torch::Tensor expected =
        model->encode_query(image(triplet.reference), tokenizer->encode_batch({triplet.caption}, kTextLength));
    EXPECT_TRUE(torch::allclose(embedded.local_queries[i - mine.begin], expected[0], 1e-5, 1e-6)) << i;
  }
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(Sprc, UnwrittenPartsAndBadModelFilesAreUserErrorsNamingTheKey) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> config_cases = {
      {{"stage1.negatives=[\"query\"]"}, "stage1.negatives: SPRC's stage 1 takes the usual negatives only"},
  };
  for (const auto& [overrides, expected] : config_cases) {
    const std::string error = error_of([&] { sprc_config(overrides); });
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
  const std::vector<std::pair<std::vector<std::string>, std::string>> model_cases = {
      {{"model.blip2_dir=\"\""}, "model.blip2_dir: model.family = \"sprc\" needs a BLIP-2 model directory"},
      {{"model.blip2_dir=/nonexistent/blip2"},
       "model.blip2_dir: /nonexistent/blip2/config.json is missing; download config.json and model.safetensors from "
       "https://huggingface.co/Salesforce/blip2-itm-vit-g"},
      {{"data.image_size=32"}, "data.image_size: 32 px, but"},
      {{"data.max_words=17"}, "data.max_words: text rows of 17 tokens beside 4 prompt tokens"},
  };
  for (const auto& [overrides, expected] : model_cases) {
    const ExperimentConfig config = sprc_config(overrides);
    const std::string error = error_of([&] { make_sprc_model(config, 295); });
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
  EXPECT_NE(error_of([] {
              make_sprc_tokenizer(sprc_config({"model.blip2_dir=/nonexistent/blip2"}));
            }).find("/nonexistent/blip2/config.json is missing; download"),
            std::string::npos);
  // A vocabulary larger than the Q-Former's word table.
  EXPECT_NE(error_of([] { make_sprc_model(sprc_config(), 296); }).find("more than the Q-Former's 295 word embeddings"),
            std::string::npos);
  // The unknown family, through the registry.
  EXPECT_NE(error_of([] {
              make_cir_model(sprc_config({"model.family=blip3"}), 295);
            }).find("model.family: unknown name \"blip3\" (registered: dual_encoder, pic2word, rtd, searle, sprc)"),
            std::string::npos);
}

}  // namespace
}  // namespace spn
