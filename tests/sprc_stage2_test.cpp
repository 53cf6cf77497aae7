// SPN's stage 2 for SPRC on the tiny random BLIP-2 of tests/golden/blip2: the query copy
// (qformer_query, embeddings_query, text_projection_query) starts as the original and is
// all that trains besides temp; the loss is the softmax over a token-set bank with
// max-over-tokens logits; loss and gradients on 1-3 ranks (sharded or replicated bank)
// equal one process in float64; steps leave the frozen side bit-unchanged and match one
// rank; the two banks hold the model's own passes over the images.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <numeric>

#include "bank_fixture.h"
#include "data/image_rows.h"
#include "data/image_tensor.h"
#include "data/shapes_benchmark.h"
#include "data/splits.h"
#include "dist/sharding.h"
#include "models/safetensors.h"
#include "sprc_fixture.h"
#include "test_models.h"
#include "test_world.h"
#include "train/checkpoint.h"
#include "train/reference_bank.h"
#include "train/stage2_step.h"

namespace spn {
namespace {

using testing::bank_for;
using testing::world;

constexpr int64_t kStage2TextLength = 12;

ExperimentConfig stage2_sprc_config(const std::vector<std::string>& overrides = {}) {
  return testing::sprc_config(kStage2TextLength, overrides);
}

bool in_query_copy(const std::string& name) {
  for (const std::string& prefix : Blip2Sprc::query_copy_prefixes())
    if (name.rfind("blip2." + prefix, 0) == 0) return true;
  return false;
}

// What a stage-2 step sees: a token-set bank of the model's own target features, and
// queries' reference rows (the frozen fusion pass) with their tokens and positives.
struct Stage2Inputs {
  torch::Tensor bank, rows, tokens;
  SoftmaxTargets targets;
};

Stage2Inputs stage2_inputs(SprcModel& model, int64_t queries, int64_t bank_rows, uint64_t seed, torch::Dtype dtype) {
  const TripletBatch batch = testing::sprc_triplets(std::max(queries, bank_rows), seed, dtype, kStage2TextLength);
  torch::NoGradGuard no_grad;
  Stage2Inputs inputs;
  inputs.bank = model.encode_target(batch.target_images.narrow(0, 0, bank_rows));
  inputs.tokens = batch.tokens.narrow(0, 0, queries);
  inputs.rows =
      model.encode_reference_row(model.encode_reference(batch.reference_images.narrow(0, 0, queries)), inputs.tokens);
  for (int64_t i = 0; i < queries; ++i) inputs.targets.positives.push_back({(i * 3 + 1) % bank_rows});
  return inputs;
}

TEST(SprcStage2, TheQueryCopyStartsAsTheOriginalAndIsAllThatTrainsWithTemp) {
  const ExperimentConfig config = stage2_sprc_config();
  auto model = testing::sprc_model(config, torch::kDouble);
  const TripletBatch batch = testing::sprc_triplets(4, 2, torch::kDouble, kStage2TextLength);
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = model->encode_query(batch.reference_images, batch.tokens);
  }
  const size_t parameters_before = model->named_parameters().size();
  model->freeze_target_side();
  model->freeze_target_side();  // once only
  EXPECT_GT(model->named_parameters().size(), parameters_before);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model->encode_query(batch.reference_images, batch.tokens), before));
  // A query is its reference row through the copy.
  const torch::Tensor rows = model->encode_reference_row(model->encode_reference(batch.reference_images), batch.tokens);
  EXPECT_EQ(rows.sizes(), (std::vector<int64_t>{4, 4, model->blip2().config().qformer.hidden_size}));
  EXPECT_EQ(model->reference_row_shape(), (std::vector<int64_t>{4, model->blip2().config().qformer.hidden_size}));
  EXPECT_TRUE(torch::equal(model->encode_query_from_reference_row(rows, batch.tokens), before));
  EXPECT_FALSE(model->references_are_targets());

  int64_t trained = 0;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    // The copy's cross-attention and query FFN belong to passes with an image.
    const bool used = in_query_copy(name) && name.find("crossattention") == std::string::npos &&
                      name.find("intermediate_query") == std::string::npos &&
                      name.find("output_query") == std::string::npos;
    EXPECT_EQ(item.value().requires_grad(), used || name == "blip2.temp") << name;
    trained += item.value().requires_grad();
  }
  EXPECT_EQ(model->query_side_parameters().size(), static_cast<size_t>(trained));
}

TEST(SprcStage2, ACheckpointWithTheCopyLoadsIntoAFreshModel) {
  const ExperimentConfig config = stage2_sprc_config();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "spn-sprc-stage2-checkpoint";
  std::filesystem::create_directories(dir);
  auto trained = testing::sprc_model(config);
  trained->freeze_target_side();
  {
    torch::NoGradGuard no_grad;
    for (auto& item : trained->named_parameters())
      if (in_query_copy(item.key())) item.value().add_(0.01);
  }
  save_checkpoint(dir / "stage2.pt", *trained, nullptr, CheckpointProgress());
  auto fresh = testing::sprc_model(config);
  load_checkpoint(dir / "stage2.pt", *fresh, nullptr);
  const TripletBatch batch = testing::sprc_triplets(3, 4, torch::kFloat, kStage2TextLength);
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = trained->encode_query(batch.reference_images, batch.tokens);
  EXPECT_TRUE(torch::equal(fresh->encode_query(batch.reference_images, batch.tokens), expected));
  // And the copy is what made it differ from the original's query.
  auto original = testing::sprc_model(config);
  EXPECT_FALSE(torch::allclose(original->encode_query(batch.reference_images, batch.tokens), expected));
  std::filesystem::remove_all(dir);
}

// A converted SPN checkpoint in model.safetensors (Hugging Face names, the copy under
// qformer_query.*, embeddings_query.*, text_projection_query.*) loads with the copy.
TEST(SprcStage2, ASafetensorsFileWithTheCopyLoadsIt) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "spn-sprc-stage2-safetensors";
  std::filesystem::create_directories(dir);
  for (const char* file : {"config.json", "vocab.txt"})
    std::filesystem::copy_file(testing::blip2_fixture_dir() / file, dir / file,
                               std::filesystem::copy_options::overwrite_existing);
  auto spn = load_blip2_sprc(testing::blip2_fixture_dir());
  spn->add_query_copy();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  {
    torch::NoGradGuard no_grad;
    for (auto& item : spn->named_parameters()) {
      if (item.key().rfind("text_projection_query.", 0) == 0) item.value().add_(0.01);
      tensors.emplace_back(item.key(), item.value().detach().clone());
    }
  }
  write_safetensors(dir / "model.safetensors", tensors);
  auto loaded = load_blip2_sprc(dir);
  EXPECT_TRUE(loaded->has_query_copy());
  EXPECT_FALSE(load_blip2_sprc(testing::blip2_fixture_dir())->has_query_copy());
  const TripletBatch batch = testing::sprc_triplets(3, 6, torch::kFloat, kStage2TextLength);
  torch::NoGradGuard no_grad;
  const torch::Tensor fused = spn->fuse(spn->image_tokens(batch.reference_images), batch.tokens);
  const torch::Tensor expected = spn->composed_query(fused, batch.tokens);
  EXPECT_TRUE(torch::equal(loaded->composed_query(fused, batch.tokens), expected));
  // The file's copy, not the original's projection, made that query.
  EXPECT_FALSE(
      torch::allclose(load_blip2_sprc(testing::blip2_fixture_dir())->composed_query(fused, batch.tokens), expected));
  std::filesystem::remove_all(dir);
}

TEST(DistSprcStage2, LossAndGradientsEqualOneProcessAndTheDefinition) {
  Communicator& comm = world();
  const ExperimentConfig config = stage2_sprc_config({"stage2.chunk=3"});
  constexpr int64_t kBatch = 5, kBankRows = 7;  // uneven shards on 2 and 3 ranks
  auto source = testing::sprc_model(config, torch::kDouble);
  const Stage2Inputs in = stage2_inputs(*source, kBatch, kBankRows, 13, torch::kDouble);
  const auto make = [&] {
    auto model = testing::sprc_model(config, torch::kDouble);
    model->set_temperature(0.05);  // SPN's restart
    return model;
  };
  for (bool replicated : {false, true}) {
    SCOPED_TRACE(replicated ? "replicated bank" : "sharded bank");
    auto distributed = make();
    Stage2Step step(comm, distributed, config.stage2, bank_for(comm, in.bank, replicated));
    const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
    const double loss = step.compute_gradients(in.rows.narrow(0, mine.begin, mine.size()),
                                               in.tokens.narrow(0, mine.begin, mine.size()), in.targets);

    auto local_comm = make_local_communicator();
    auto reference = make();
    Stage2Step reference_step(*local_comm, reference, config.stage2, bank_for(*local_comm, in.bank, false));
    const double reference_loss = reference_step.compute_gradients(in.rows, in.tokens, in.targets);
    EXPECT_NEAR(loss, reference_loss, 1e-10 * std::abs(reference_loss));

    // The definition: cross entropy over the bank of max_k <q, t_k> / temp.
    torch::NoGradGuard no_grad;
    const torch::Tensor queries = reference->encode_query_from_reference_row(in.rows, in.tokens);
    const torch::Tensor logits = torch::einsum("be,nke->bnk", {queries, in.bank}).amax(2) / 0.05;
    double expected = 0;
    for (int64_t i = 0; i < kBatch; ++i)
      expected += (torch::logsumexp(logits[i], 0) - logits[i][in.targets.positives[i][0]]).item<double>();
    EXPECT_NEAR(reference_loss, expected / kBatch, 1e-10 * std::abs(reference_loss));

    testing::expect_same_gradients(*distributed, *reference, 1e-8, /*every_parameter_trains=*/false,
                                   "W=" + std::to_string(comm.size()));
    // Gradients reach the copy and temp only.
    for (const auto& item : distributed->named_parameters()) {
      const bool has = item.value().grad().defined();
      EXPECT_EQ(has, item.value().requires_grad()) << item.key();
      if (has) EXPECT_TRUE(in_query_copy(item.key()) || item.key() == "blip2.temp") << item.key();
    }
    EXPECT_GT(distributed->named_parameters()["blip2.qformer_query.encoder.layer.0.attention.attention.query.weight"]
                  .grad()
                  .abs()
                  .sum()
                  .item<double>(),
              0);
    EXPECT_GT(std::abs(distributed->named_parameters()["blip2.temp"].grad().item<double>()), 0);
  }
}

TEST(DistSprcStage2, StepsMatchOneRankAndLeaveTheFrozenSideBitUnchanged) {
  Communicator& comm = world();
  const ExperimentConfig config = stage2_sprc_config({"stage2.lr=1e-3", "stage2.chunk=4"});
  constexpr int64_t kBatch = 7, kBankRows = 9, kSteps = 3;
  auto source = testing::sprc_model(config);
  const Stage2Inputs in = stage2_inputs(*source, kBatch, kBankRows, 17, torch::kFloat);
  for (bool replicated : {false, true}) {
    SCOPED_TRACE(replicated ? "replicated bank" : "sharded bank");
    auto run = [&](Communicator& c, bool shard_bank) {
      auto model = testing::sprc_model(config);
      model->set_temperature(0.05);
      std::map<std::string, torch::Tensor> before;
      for (const auto& item : model->named_parameters()) before[item.key()] = item.value().detach().clone();
      Stage2Step step(c, model, config.stage2, bank_for(c, in.bank, !shard_bank));
      const ShardRange mine = shard_range(kBatch, c.size(), c.rank());
      std::vector<double> losses;
      for (int64_t s = 0; s < kSteps; ++s)
        losses.push_back(step.run(in.rows.narrow(0, mine.begin, mine.size()),
                                  in.tokens.narrow(0, mine.begin, mine.size()), in.targets, config.stage2.lr)
                             .loss);
      for (const auto& item : model->named_parameters()) {
        if (in_query_copy(item.key()) || item.key() == "blip2.temp") continue;
        EXPECT_TRUE(torch::equal(item.value(), before.at(item.key()))) << item.key() << " moved";
      }
      return std::make_pair(losses, model);
    };
    auto [losses, model] = run(comm, !replicated);
    auto local_comm = make_local_communicator();
    auto [reference_losses, reference_model] = run(*local_comm, true);
    for (int64_t s = 0; s < kSteps; ++s)
      EXPECT_NEAR(losses[s], reference_losses[s], 1e-5 * std::abs(reference_losses[s])) << "step " << s;
    EXPECT_LT(reference_losses.back(), reference_losses.front());
    const auto reference_named = reference_model->named_parameters();
    for (const auto& item : model->named_parameters())
      if (!testing::changes_no_output(item.key()))
        EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-5) << item.key();
    EXPECT_NE(reference_named["blip2.temp"].item<double>(), 0.05);  // temp learns
  }
}

// prepare_candidate_bank and prepare_reference_bank on the built-in benchmark: every
// row, read back through bank_rows on any number of ranks, is the model's pass on its
// image (and, for a reference row, its text).
TEST(DistSprcStage2, BanksHoldTheModelsPassesOverTheImages) {
  Communicator& comm = world();
  const std::filesystem::path dir = testing::shared_temp_dir(comm, "sprc-banks");
  const ExperimentConfig config =
      stage2_sprc_config({"data.root=" + (dir / "benchmark").string(), "data.shapes.train_triplets=6",
                          "data.shapes.val_triplets=2", "data.shapes.extra_images=0", "eval.batch_size=2",
                          "stage2.bank_dtype=float32", "stage2.bank_dir=" + (dir / "banks").string()});
  ensure_shapes_benchmark(comm, config.data.shapes, config.data.root, false);
  const CirrSplit split = load_split(config.data, "train");
  auto model = testing::sprc_model(config);
  const auto tokenizer = make_sprc_tokenizer(config);
  TripletData images;
  images.images = all_images_of(split, image_transform_of(config.data));
  const TripletData data = with_triplets(images, split.triplets, *tokenizer, kStage2TextLength, 1);

  const CandidateBank targets = prepare_candidate_bank(comm, *model, data, split, config, false);
  const CandidateBank references = prepare_reference_bank(comm, *model, data, split, config, false);
  ASSERT_EQ(references.rows, data.text_row_count());

  torch::NoGradGuard no_grad;
  const auto image = [&](int64_t row) {
    torch::Tensor pixels = torch::empty({1, 3, testing::kSprcImageSize, testing::kSprcImageSize}, torch::kUInt8);
    data.images.decode(row, pixels.data_ptr<uint8_t>());
    return normalize_images(pixels);
  };
  std::vector<int64_t> all_images(static_cast<size_t>(data.images.size()));
  std::iota(all_images.begin(), all_images.end(), 0);
  const torch::Tensor target_rows = bank_rows(comm, targets, all_images);
  for (int64_t row = 0; row < data.images.size(); ++row)
    EXPECT_TRUE(torch::allclose(target_rows[row], model->encode_target(image(row))[0], 1e-5, 1e-6)) << row;

  std::vector<int64_t> all_texts(static_cast<size_t>(references.rows));
  std::iota(all_texts.begin(), all_texts.end(), 0);
  const torch::Tensor reference_rows = bank_rows(comm, references, all_texts);
  for (int64_t row = 0; row < references.rows; ++row) {
    const torch::Tensor expected = model->encode_reference_row(
        model->encode_reference(image(data.reference_of_text_row(row))), data.tokens.narrow(0, row, 1));
    EXPECT_TRUE(torch::allclose(reference_rows[row], expected[0], 1e-5, 1e-5)) << row;
  }
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spn
