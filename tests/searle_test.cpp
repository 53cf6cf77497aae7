// SEARLE's training of φ (model.family = "searle") on a tiny random CLIP
// (tests/clip_fixture.h): the concept ranking and the phrase rows by their definitions;
// the OTI pre-pass's words on 1-3 ranks equal one process's; φ's loss (NT-Xent over the
// global batch + gpt) against its definition, and its value and every gradient on 1-3
// ranks equal one process (float64, dropout on); AdamW steps move φ and leave every CLIP
// parameter bit for bit; SEARLE-OTI's test-time queries on 1-3 ranks equal one
// process's inversion composed by hand; the exported φ reads back through
// model.mapper_weights; keys that are wrong stop naming the key.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>

#include "clip_fixture.h"
#include "config/config_file.h"
#include "core/error.h"
#include "data/image_rows.h"
#include "data/image_tensor.h"
#include "data/shapes_benchmark.h"
#include "data/splits.h"
#include "dist/sharding.h"
#include "models/pseudo_words.h"
#include "models/safetensors.h"
#include "models/zero_shot_model.h"
#include "models/zero_shot_tokenizer.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"
#include "train/evaluate.h"
#include "train/mapper_export.h"
#include "train/nt_xent_loss.h"
#include "train/phi_loss.h"
#include "train/searle_concepts.h"
#include "train/searle_oti.h"
#include "train/searle_oti_queries.h"
#include "train/searle_stage1.h"
#include "train/stage1_step.h"

namespace spn {
namespace {

using testing::world;

constexpr int64_t kSearleWords = 16;  // token rows of the prompts and phrases

const std::filesystem::path& searle_clip_dir() {
  static const std::filesystem::path dir = [] {
    const auto path = std::filesystem::temp_directory_path() / ("spn-test-searle-clip-" + std::to_string(::getpid()));
    testing::write_tiny_clip(path);
    return path;
  }();
  return dir;
}

ExperimentConfig searle_config(const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> all = {"model.family=searle", "model.clip_dir=" + searle_clip_dir().string(),
                                  "model.embed_dim=24", "data.image_size=32",
                                  "data.max_words=" + std::to_string(kSearleWords)};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config_text("", "<test>", all);
}

ClipTokenizer searle_tokenizer() { return ClipTokenizer::from_directory(searle_clip_dir()); }

std::shared_ptr<ZeroShotModel> searle_model(const ExperimentConfig& config, torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(0);  // φ's initial weights
  auto model = make_zero_shot_model(config, ComposedPromptTokenizer(searle_tokenizer(), ZeroShotMethod::kSearle).size(),
                                    ZeroShotMethod::kSearle);
  model->to(dtype);
  return model;
}

// `n` images' CLIP features (the same on every rank).
torch::Tensor image_features_of(ZeroShotModel& model, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor images =
      (torch::rand({n, 3, 32, 32}) * 2 - 1).to(model.mapper().parameters().front().scalar_type());
  return model.encode_reference(images);
}

TEST(SearleConcepts, RankingIsTheCosineOrderWithTiesToTheLowerIndex) {
  const std::vector<std::string> shapes = shapes_concepts();
  ASSERT_EQ(shapes.size(), 24u);  // 8 colours x 3 shapes
  EXPECT_EQ(shapes[6], "blue square");
  torch::manual_seed(3);
  const torch::Tensor images = torch::randn({5, 4}, torch::kDouble);
  torch::Tensor concepts = torch::randn({6, 4}, torch::kDouble);
  concepts[4] = concepts[1];  // an exact tie: 1 first
  const torch::Tensor top = top_concepts(images, concepts, 3);
  ASSERT_EQ(top.sizes(), (std::vector<int64_t>{5, 3}));
  for (int64_t i = 0; i < 5; ++i) {
    std::vector<std::pair<double, int64_t>> by_hand;
    for (int64_t v = 0; v < 6; ++v) {
      const double cos = torch::cosine_similarity(images[i], concepts[v], 0).item<double>();
      by_hand.emplace_back(-std::round(cos * 1e12), v);  // equal up to rounding: ties
    }
    std::sort(by_hand.begin(), by_hand.end());
    for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(top[i][k].item<int64_t>(), by_hand[k].second) << i << " " << k;
  }
  EXPECT_EQ(top_concepts(images, concepts, 100).size(1), 6);  // K above the vocabulary: all
}

TEST(SearleConcepts, VocabularyFileAndItsErrorsNameTheKey) {
  const auto dir = std::filesystem::temp_directory_path() / ("spn-test-searle-vocab-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_file_atomic(dir / "concepts.txt", "  red fox\n\ndog\r\nred fox\n");
  EXPECT_EQ(searle_concepts(searle_config({"searle.concepts=" + (dir / "concepts.txt").string()})),
            (std::vector<std::string>{"red fox", "dog"}));
  EXPECT_EQ(searle_concepts(searle_config()), shapes_concepts());
  write_file_atomic(dir / "empty.txt", "\n \n");
  for (const auto& [file, expected] : std::vector<std::pair<std::string, std::string>>{
           {(dir / "absent.txt").string(), "not found"}, {(dir / "empty.txt").string(), "holds no concept"}}) {
    try {
      searle_concepts(searle_config({"searle.concepts=" + file}));
      ADD_FAILURE() << file;
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find("searle.concepts: " + file + " "), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(SearleConcepts, PhraseRowsHoldThePlaceholderWhereTheConceptWas) {
  const ClipTokenizer tokenizer = searle_tokenizer();
  const std::vector<std::string> concepts = {"blue square", "red circle"};
  const PhraseRows rows = searle_phrase_rows(tokenizer, concepts, kSearleWords);
  const int64_t t = static_cast<int64_t>(searle_phrase_templates().size());
  ASSERT_EQ(rows.with_word.size(0), 2 * t);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t k = 0; k < t; ++k) {
      const int64_t row = c * t + k;
      EXPECT_TRUE(torch::equal(rows.written[row], tokenizer.tokenize({searle_phrase(concepts[c], k)}, kSearleWords,
                                                                     TruncationPolicy::kTruncate)[0]));
      EXPECT_EQ((rows.with_word[row] == kDollarToken).sum().item<int64_t>(), 1) << row;
    }
}

TEST(PhiLoss, NtXentPlusGptAndItsGradientsAreItsDefinition) {
  auto local = make_local_communicator();
  const ExperimentConfig config = searle_config();
  auto model = searle_model(config, torch::kDouble);
  model->eval();  // no dropout: φ is its layers
  constexpr int64_t kBatch = 5;
  const torch::Tensor features = image_features_of(*model, kBatch, 4);
  torch::manual_seed(5);
  const torch::Tensor oti = torch::randn({kBatch, 32}, torch::kDouble) * 0.02;
  const PhraseRows phrases = searle_phrase_rows(searle_tokenizer(), shapes_concepts(), kSearleWords);
  const torch::Tensor pick = torch::tensor({0, 7, 30, 61, 119}, torch::kLong);
  const PhiLossWeights weights{0.25, 1.0, 0.75};
  const PhiLossShares shares = phi_loss_shard(*local, *model, features, oti, phrases.with_word.index_select(0, pick),
                                              phrases.written.index_select(0, pick), 0, kBatch, weights);
  shares.total.backward();
  std::map<std::string, torch::Tensor> gradients;
  for (const auto& item : model->mapper().named_parameters()) {
    gradients[item.key()] = item.value().grad().clone();
    item.value().mutable_grad().reset();
  }
  // By hand: φ's words, the reference's NT-Xent (train/nt_xent_loss.h), 1 - cos of the
  // phrases row by row; its gradients by autograd.
  const torch::Tensor words = model->pseudo_words(features, 0);
  const torch::Tensor distil = nt_xent_loss(oti, words, 0.25);
  const torch::Tensor with_word = encode_with_pseudo_words(model->text_tower(), phrases.with_word.index_select(0, pick),
                                                           words, PseudoWordInjection::kReplaceFirst, kDollarToken);
  const torch::Tensor written = model->text_tower().forward(phrases.written.index_select(0, pick));
  torch::Tensor gpt = torch::zeros({}, torch::kDouble);
  for (int64_t i = 0; i < kBatch; ++i)
    gpt = gpt + 1 - with_word[i].dot(written[i]) / (with_word[i].norm() * written[i].norm());
  gpt = gpt / kBatch;
  const torch::Tensor total = distil + 0.75 * gpt;
  EXPECT_NEAR(shares.distil.item<double>(), distil.item<double>(), 1e-12);
  EXPECT_NEAR(shares.gpt.item<double>(), gpt.item<double>(), 1e-12);
  EXPECT_NEAR(shares.total.item<double>(), total.item<double>(), 1e-12);
  EXPECT_GT(gpt.item<double>(), 0);
  EXPECT_GT(distil.item<double>(), 0);
  total.backward();
  for (const auto& item : model->mapper().named_parameters()) {
    const torch::Tensor& expected = item.value().grad();
    EXPECT_GT(expected.abs().max().item<double>(), 0) << item.key();
    EXPECT_LE((gradients[item.key()] - expected).abs().max().item<double>(),
              1e-10 * expected.abs().max().item<double>())
        << item.key();
  }
}

// The global batch of φ's training as tensors a test slices by rows.
struct PhiBatch {
  torch::Tensor images, oti, with_word, written;
};

PhiBatch phi_batch(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  PhiBatch batch;
  batch.images = (torch::rand({n, 3, 32, 32}) * 2 - 1).to(torch::kDouble);
  batch.oti = torch::randn({n, 32}, torch::kDouble) * 0.02;
  const PhraseRows phrases = searle_phrase_rows(searle_tokenizer(), shapes_concepts(), kSearleWords);
  const torch::Tensor pick = torch::randint(phrases.with_word.size(0), {n}, torch::kLong);
  batch.with_word = phrases.with_word.index_select(0, pick);
  batch.written = phrases.written.index_select(0, pick);
  return batch;
}

// Stage1Step with φ's loss over rows [offset + first_row, ...) of `data`.
Stage1Step phi_step(Communicator& comm, const std::shared_ptr<ZeroShotModel>& model, const ExperimentConfig& config,
                    const PhiBatch& data, const int64_t& offset) {
  const PhiLossWeights weights{config.searle.temperature, config.searle.distil_weight, config.searle.gpt_weight};
  return Stage1Step(
      comm, model, config.stage1, Precision::Fp32,
      [&comm, model, &data, &offset, weights](const TripletBatch& batch, int64_t first_row, int64_t global_batch) {
        const int64_t n = batch.reference_images.size(0), at = offset + first_row;
        const PhiLossShares shares = phi_loss_shard(comm, *model, model->encode_reference(batch.reference_images),
                                                    data.oti.narrow(0, at, n), data.with_word.narrow(0, at, n),
                                                    data.written.narrow(0, at, n), first_row, global_batch, weights);
        return Stage1Step::LossShares{shares.total, {{"distil", shares.distil}, {"gpt", shares.gpt}}};
      });
}

TEST(DistSearlePhi, LossAndEveryGradientEqualOneProcess) {
  Communicator& comm = world();
  const ExperimentConfig config = searle_config();
  constexpr int64_t kBatch = 7;  // uneven slices on 2 and 3 ranks
  const PhiBatch data = phi_batch(kBatch, 9);
  const int64_t offset = 0;
  auto distributed = searle_model(config, torch::kDouble);
  distributed->set_step_seed(5);  // dropout on (training mode), masks by global row
  Stage1Step distributed_step = phi_step(comm, distributed, config, data, offset);
  const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
  TripletBatch slice;
  slice.reference_images = data.images.narrow(0, mine.begin, mine.size());
  const double loss = distributed_step.compute_gradients(slice, kBatch);
  const auto terms = distributed_step.loss_terms();

  auto local_comm = make_local_communicator();
  auto reference = searle_model(config, torch::kDouble);
  reference->set_step_seed(5);
  Stage1Step reference_step = phi_step(*local_comm, reference, config, data, offset);
  TripletBatch whole;
  whole.reference_images = data.images;
  const double reference_loss = reference_step.compute_gradients(whole, kBatch);

  EXPECT_NEAR(loss, reference_loss, 1e-10 * std::abs(reference_loss));
  EXPECT_NEAR(terms.at("distil"), reference_step.loss_terms().at("distil"), 1e-10);
  EXPECT_NEAR(terms.at("gpt"), reference_step.loss_terms().at("gpt"), 1e-10);
  EXPECT_NEAR(reference_loss, terms.at("distil") + 0.75 * terms.at("gpt"), 1e-10);
  testing::expect_same_gradients(*distributed, *reference, 1e-9, /*every_parameter_trains=*/false,
                                 "W=" + std::to_string(comm.size()));
  for (const auto& item : reference->mapper().named_parameters())
    EXPECT_TRUE(item.value().grad().defined() && item.value().grad().abs().max().item<double>() > 0) << item.key();
  reference->set_step_seed(6);  // dropout was live: another seed, another loss
  EXPECT_NE(reference_step.compute_gradients(whole, kBatch), reference_loss);
}

TEST(DistSearlePhi, AdamWStepsMovePhiAloneTheSameOnAnyNumberOfRanks) {
  Communicator& comm = world();
  const ExperimentConfig config = searle_config({"stage1.lr=1e-3"});
  constexpr int64_t kBatch = 7, kSteps = 3;
  const PhiBatch data = phi_batch(kBatch * kSteps, 13);
  auto run = [&](Communicator& c) {
    auto model = searle_model(config, torch::kDouble);
    int64_t offset = 0;
    Stage1Step step = phi_step(c, model, config, data, offset);
    std::vector<double> losses;
    for (int64_t s = 0; s < kSteps; ++s) {
      model->set_step_seed(static_cast<uint64_t>(100 + s));
      offset = s * kBatch;
      const ShardRange mine = shard_range(kBatch, c.size(), c.rank());
      TripletBatch slice;
      slice.reference_images = data.images.narrow(0, offset + mine.begin, mine.size());
      losses.push_back(step.run(slice, kBatch, config.stage1.lr).loss);
    }
    return std::make_pair(losses, model);
  };
  auto [losses, model] = run(comm);
  auto local_comm = make_local_communicator();
  auto [reference_losses, reference] = run(*local_comm);
  const auto initial = searle_model(config, torch::kDouble);
  const auto initial_named = initial->named_parameters();
  const auto reference_named = reference->named_parameters();
  for (int64_t s = 0; s < kSteps; ++s) EXPECT_NEAR(losses[s], reference_losses[s], 1e-10 * reference_losses[s]);
  double phi_moved = 0;
  for (const auto& item : model->named_parameters()) {
    EXPECT_LE((item.value() - reference_named[item.key()]).abs().max().item<double>(), 1e-9) << item.key();
    const bool is_phi = item.key().rfind("mapper.", 0) == 0;
    if (is_phi) {
      phi_moved = std::max(phi_moved, (item.value() - initial_named[item.key()]).abs().max().item<double>());
    } else {
      EXPECT_TRUE(torch::equal(item.value(), initial_named[item.key()])) << item.key() << " (CLIP moved)";
      EXPECT_FALSE(item.value().requires_grad()) << item.key();
    }
  }
  EXPECT_GT(phi_moved, 1e-4);
  for (const auto& item : model->named_buffers())
    EXPECT_TRUE(torch::equal(item.value(), initial->named_buffers()[item.key()])) << item.key();
}

TEST(DistSearleOti, WordsOnAnyNumberOfRanksEqualOneProcess) {
  Communicator& comm = world();
  // 7 images in OTI batches of 2: four batches, uneven over 2 and 3 ranks.
  const ExperimentConfig config = searle_config(
      {"searle.oti_steps=4", "searle.oti_batch_size=2", "searle.top_k_concepts=3", "searle.phi_top_k_concepts=4"});
  auto model = searle_model(config);
  torch::Tensor features;
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(21);
    features = model->encode_reference(torch::rand({7, 3, 32, 32}) * 2 - 1);
  }
  const ClipTokenizer tokenizer = searle_tokenizer();
  const std::vector<std::string> concepts = shapes_concepts();
  const torch::Tensor concept_feats = concept_features(model->text_tower(), tokenizer, concepts, kSearleWords);
  const SearleWords one = invert_rows(model->text_tower(), tokenizer, config, concepts, concept_feats, features, 0,
                                      /*show_progress=*/false);
  const ShardRange rows = oti_rows(7, 2, comm.size(), comm.rank());
  EXPECT_EQ(rows.begin % 2, 0);
  const SearleWords gathered =
      gather_words(comm, invert_rows(model->text_tower(), tokenizer, config, concepts, concept_feats,
                                     features.narrow(0, rows.begin, rows.size()), rows.begin, /*show_progress=*/false));
  ASSERT_EQ(gathered.ema_tokens.sizes(), (std::vector<int64_t>{7, 32}));
  EXPECT_TRUE(torch::equal(gathered.top_concepts, one.top_concepts));
  EXPECT_LE((gathered.ema_tokens - one.ema_tokens).abs().max().item<double>(), 1e-6);
  // The words moved from their N(0, 0.02²) start, and each batch drew its own.
  EXPECT_GT(one.ema_tokens.abs().max().item<double>(), 0);
  EXPECT_FALSE(torch::allclose(one.ema_tokens[0], one.ema_tokens[2]));
  // The concepts are each image's top 4 (the deeper of OTI's 3 and phi's 4) by definition.
  EXPECT_TRUE(torch::equal(one.top_concepts, top_concepts(features, concept_feats, 4)));
}

// SEARLE-OTI (searle.query_words = "oti"): evaluation's queries on 1-3 ranks are what
// one process gets by inverting the split's distinct reference images (in order of
// first use) from their own features and composing each word with its caption by hand;
// the words are kept in the file, which a second evaluation of the same images reads
// (and one of other images does not).
TEST(DistSearleOtiQueries, EqualOneProcessesInversionComposedByHand) {
  Communicator& comm = world();
  const std::filesystem::path dir = testing::shared_temp_dir(comm, "searle-oti-queries");
  // 11 queries in chunks of 4 over uneven shards; OTI batches of 2 of the references.
  const ExperimentConfig config = searle_config(
      {"data.root=" + (dir / "benchmark").string(), "data.shapes.train_triplets=6", "data.shapes.val_triplets=11",
       "data.shapes.extra_images=0", "eval.batch_size=4", "stage1.epochs=0", "searle.query_words=oti",
       "searle.oti_steps=3", "searle.oti_batch_size=2", "searle.top_k_concepts=3", "searle.phi_top_k_concepts=4"});
  ensure_shapes_benchmark(comm, config.data.shapes, config.data.root, false);
  const CirrSplit split = load_split(config.data, "val");
  auto model = searle_model(config);
  model->eval();
  const ClipTokenizer clip = searle_tokenizer();
  const ComposedPromptTokenizer tokenizer(clip, ZeroShotMethod::kSearle);
  const std::filesystem::path file = dir / "oti_queries-val.safetensors";
  const SplitEmbeddings embedded =
      embed_split(comm, *model, split, tokenizer, config, false,
                  searle_oti_queries(comm, config, *model, split, clip, file, /*show_progress=*/false));

  const std::vector<int64_t> references = distinct_references(split);
  std::vector<int64_t> expected_references;
  for (const CirrTriplet& triplet : split.triplets)
    if (std::find(expected_references.begin(), expected_references.end(), triplet.reference) ==
        expected_references.end())
      expected_references.push_back(triplet.reference);
  ASSERT_EQ(references, expected_references);
  ASSERT_GT(references.size(), 2u);

  torch::NoGradGuard no_grad;
  const ImageRows images = all_images_of(split, image_transform_of(config.data));
  std::vector<torch::Tensor> features;
  for (const int64_t reference : references) {
    torch::Tensor pixels = torch::empty({1, 3, 32, 32}, torch::kUInt8);
    images.decode(reference, pixels.data_ptr<uint8_t>());
    features.push_back(model->encode_reference(normalize_images(pixels)));
  }
  const std::vector<std::string> concepts = shapes_concepts();
  const torch::Tensor concept_feats = concept_features(model->text_tower(), clip, concepts, kSearleWords);
  const SearleWords one = invert_rows(model->text_tower(), clip, config, concepts, concept_feats, torch::cat(features),
                                      0, /*show_progress=*/false);
  EXPECT_LE((SafetensorsFile(file).read("ema_tokens") - one.ema_tokens).abs().max().item<double>(), 1e-5);

  const ShardRange mine = shard_range(static_cast<int64_t>(split.triplets.size()), comm.size(), comm.rank());
  ASSERT_EQ(embedded.local_queries.sizes(), (std::vector<int64_t>{mine.size(), 24}));
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    const CirrTriplet& triplet = split.triplets[i];
    const int64_t row = std::find(references.begin(), references.end(), triplet.reference) - references.begin();
    const torch::Tensor composed =
        encode_with_pseudo_words(model->text_tower(), tokenizer.encode_batch({triplet.caption}, kSearleWords),
                                 one.ema_tokens.narrow(0, row, 1), PseudoWordInjection::kReplaceFirst, kDollarToken);
    const torch::Tensor expected = composed[0] / composed[0].norm();
    EXPECT_LE((embedded.local_queries[i - mine.begin] - expected).abs().max().item<double>(), 2e-5) << i;
  }
  // Not phi's queries: the words are the inversion's.
  const SplitEmbeddings by_phi = embed_split(comm, *model, split, tokenizer, config, false);
  // The tiny random CLIP's text tower moves little with the word (measured: 9.9e-4 at
  // most), still far above the tolerance of the comparison by hand.
  EXPECT_GT((by_phi.local_queries - embedded.local_queries).abs().max().item<double>(), 3e-4);

  // A second evaluation reads the kept words instead of inverting again: words put in
  // the file by hand (zeros, its fingerprint kept) are the ones its queries carry.
  comm.barrier();
  if (comm.rank() == 0) {
    const SafetensorsFile kept(file);
    const std::map<std::string, std::string> fingerprint = kept.metadata();
    const torch::Tensor top = kept.read("top_concepts");
    write_safetensors(file, {{"ema_tokens", torch::zeros_like(one.ema_tokens)}, {"top_concepts", top}}, fingerprint);
  }
  comm.barrier();
  const SplitEmbeddings again =
      embed_split(comm, *model, split, tokenizer, config, false,
                  searle_oti_queries(comm, config, *model, split, clip, file, /*show_progress=*/false));
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    const torch::Tensor composed = encode_with_pseudo_words(
        model->text_tower(), tokenizer.encode_batch({split.triplets[i].caption}, kSearleWords),
        torch::zeros({1, one.ema_tokens.size(1)}), PseudoWordInjection::kReplaceFirst, kDollarToken);
    EXPECT_LE((again.local_queries[i - mine.begin] - composed[0] / composed[0].norm()).abs().max().item<double>(), 2e-5)
        << i;
  }
  // The same number of images in another order is not what the file was made from:
  // inverted again, not read.
  ImageRows reordered = all_images_of(split, image_transform_of(config.data));
  reordered.split_index.assign(references.rbegin(), references.rend());
  const SearleWords fresh = prepare_searle_words(comm, config, *model, reordered, clip, file, false);
  EXPECT_GT(fresh.ema_tokens.abs().max().item<double>(), 0);
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}

TEST(SearlePhi, ExportedMappersReadBackThroughMapperWeights) {
  const ExperimentConfig config = searle_config();
  auto model = searle_model(config);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->mapper().parameters()) p.add_(torch::randn_like(p));  // not the initial weights
  }
  const auto file = std::filesystem::temp_directory_path() / ("spn-test-searle-phi-" + std::to_string(::getpid())) /
                    "phi.safetensors";
  export_mapper_weights(model->mapper(), file);
  const SafetensorsFile written(file);
  std::vector<std::string> names;
  for (const auto& entry : written.entries()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"layers.0.bias", "layers.0.weight", "layers.3.bias", "layers.3.weight",
                                             "layers.6.bias", "layers.6.weight"}));
  const auto reloaded = searle_model(searle_config({"model.mapper_weights=" + file.string()}));
  const auto named = reloaded->mapper().named_parameters();
  for (const auto& item : model->mapper().named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), named[item.key()])) << item.key();
  // Pic2Word's IM2TEXT the same way, under its reference names.
  const ComposedPromptTokenizer tokens(searle_tokenizer(), ZeroShotMethod::kPic2Word);
  torch::manual_seed(1);
  auto im2text =
      make_zero_shot_model(searle_config({"model.family=pic2word"}), tokens.size(), ZeroShotMethod::kPic2Word);
  export_mapper_weights(im2text->mapper(), file);
  std::vector<std::string> im2text_names;
  const SafetensorsFile im2text_file(file);
  for (const auto& entry : im2text_file.entries()) im2text_names.push_back(entry.name);
  EXPECT_EQ(im2text_names, (std::vector<std::string>{"fc_out.bias", "fc_out.weight", "layers.0.0.bias",
                                                     "layers.0.0.weight", "layers.1.0.bias", "layers.1.0.weight"}));
  torch::manual_seed(2);
  const auto im2text_again =
      make_zero_shot_model(searle_config({"model.family=pic2word", "model.mapper_weights=" + file.string()}),
                           tokens.size(), ZeroShotMethod::kPic2Word);
  const auto im2text_named = im2text_again->mapper().named_parameters();
  for (const auto& item : im2text->mapper().named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), im2text_named[item.key()])) << item.key();
  std::filesystem::remove_all(file.parent_path());
}

TEST(SearleConfig, WrongKeysStopNamingTheKey) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"searle.top_k_concepts=0"}, "searle.top_k_concepts"},
      {{"searle.temperature=0"}, "searle.temperature"},
      {{"searle.oti_ema_decay=1.5"}, "searle.oti_ema_decay"},
      {{"searle.oti_batch_size=0"}, "searle.oti_batch_size"},
      {{"model.family=dual_encoder", "stage1.export_mapper_weights=phi.safetensors"},
       "stage1.export_mapper_weights: model.family = \"dual_encoder\" has no mapping network"},
      {{"stage1.epochs=0", "stage1.export_mapper_weights=phi.safetensors"},
       "stage1.export_mapper_weights: stage1.epochs = 0 trains nothing"},
      {{"searle.query_words=oti"},
       "searle.query_words: \"oti\" inverts the query images at test time and does not "
       "use phi, so phi's training (stage1.epochs = "},
      {{"searle.query_words=oti", "stage1.epochs=0", "model.family=pic2word"},
       "searle.query_words: \"oti\" composes SEARLE's queries; model.family = \"pic2word\" has its own"},
      {{"searle.query_words=oti", "stage1.epochs=0", "data.kind=cirr"},
       "searle.concepts: with model.family = \"searle\" OTI ranks a concept vocabulary per image"},
      {{"searle.query_words=phi_and_oti"}, "searle.query_words"},
  };
  for (const auto& [overrides, expected] : cases) {
    try {
      searle_config(overrides);
      ADD_FAILURE() << expected;
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace spn
