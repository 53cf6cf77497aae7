#pragma once
// Small models and synthetic triplets shared by the training tests.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "config/config_file.h"
#include "data/cirr.h"
#include "data/image_io.h"
#include "data/vocabulary.h"
#include "dist/sharding.h"
#include "models/cir_model.h"
#include "train/evaluate.h"
#include "train/stage1_step.h"

namespace spn::testing {

inline constexpr int64_t kTestVocab = 20;
inline constexpr int64_t kTestWords = 6;

// A tiny model config (32x32 images) that runs in milliseconds.
inline ExperimentConfig tiny_config(const std::string& text_encoder = "gru", const std::string& head = "combiner") {
  return load_config_text("", "<test>",
                          {"data.image_size=32", "data.max_words=" + std::to_string(kTestWords), "model.image_width=4",
                           "model.text_width=8", "model.embed_dim=8", "model.combiner_width=16",
                           "model.text_encoder=" + text_encoder, "model.head=" + head});
}

// `n` synthetic triplets, the same on every rank (seeded), with padded token rows.
inline TripletBatch synthetic_triplets(int64_t n, uint64_t seed, torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(seed);
  TripletBatch batch;
  batch.reference_images = (torch::rand({n, 3, 32, 32}) * 2 - 1).to(dtype);
  batch.target_images = (torch::rand({n, 3, 32, 32}) * 2 - 1).to(dtype);
  batch.tokens = torch::randint(1, kTestVocab, {n, kTestWords}, torch::kLong);
  for (int64_t i = 0; i < n; ++i)  // texts of different lengths, padded at the end
    batch.tokens[i].narrow(0, 1 + i % (kTestWords - 1), kTestWords - 1 - i % (kTestWords - 1)).zero_();
  return batch;
}

// Every parameter gradient of `model` within `tolerance` times the largest of the same
// parameter's in `reference`, or of 1e-6 of the largest gradient of all: a gradient that
// is zero in exact arithmetic (an attention key bias: the softmax over keys ignores it)
// is float noise. A parameter without gradient (frozen) must lack it in both, unless
// `every_parameter_trains`, when that fails too.
inline void expect_same_gradients(const torch::nn::Module& model, const torch::nn::Module& reference, double tolerance,
                                  bool every_parameter_trains, const std::string& context) {
  const auto reference_named = reference.named_parameters();
  double largest = 0;
  for (const auto& item : reference_named)
    if (item.value().grad().defined()) largest = std::max(largest, item.value().grad().abs().max().item<double>());
  for (const auto& item : model.named_parameters()) {
    const torch::Tensor& grad = item.value().grad();
    const torch::Tensor& expected = reference_named[item.key()].grad();
    if (every_parameter_trains) ASSERT_TRUE(grad.defined() && expected.defined()) << item.key();
    ASSERT_EQ(grad.defined(), expected.defined()) << item.key();
    if (!expected.defined()) continue;
    const double scale = std::max(expected.abs().max().item<double>(), 1e-6 * largest) + 1e-12;
    EXPECT_LE((grad - expected).abs().max().item<double>(), tolerance * scale) << item.key() << " (" << context << ")";
  }
}

inline TripletBatch rows(const TripletBatch& batch, int64_t begin, int64_t end) {
  return {batch.reference_images.narrow(0, begin, end - begin), batch.tokens.narrow(0, begin, end - begin),
          batch.target_images.narrow(0, begin, end - begin)};
}

// `steps` stage-1 steps (Stage1Step::run at config.lr) of global batches of `batch`
// consecutive rows of `data`, this rank on its slice of each, the model's step seed set
// per step as the training loop sets it; the losses.
inline std::vector<double> run_stage1_steps(Communicator& comm, const std::shared_ptr<CirModel>& model,
                                            const Stage1Config& config, const TripletBatch& data, int64_t batch,
                                            int64_t steps) {
  Stage1Step step(comm, model, config);
  std::vector<double> losses;
  for (int64_t s = 0; s < steps; ++s) {
    model->set_step_seed(static_cast<uint64_t>(100 + s));
    const ShardRange mine = shard_range(batch, comm.size(), comm.rank());
    losses.push_back(step.run(rows(data, s * batch + mine.begin, s * batch + mine.end), batch, config.lr).loss);
  }
  return losses;
}

// An 8x8 placeholder PNG, different per image, at every image path of `split`.
inline void write_placeholder_images(const CirrSplit& split) {
  for (size_t i = 0; i < split.images.size(); ++i) {
    RgbImage image;
    image.width = image.height = 8;
    for (int p = 0; p < 8 * 8 * 3; ++p) image.pixels.push_back(static_cast<uint8_t>((i * 37 + p * (i % 7 + 1)) % 256));
    const auto path = split.image_path(static_cast<int64_t>(i));
    std::filesystem::create_directories(path.parent_path());
    write_png(path, image);
  }
}

// A split named "train" of `n` PNGs in `dir`, of different sizes (10-13 x 7-9) and
// contents, written by rank 0 of `comm`.
inline CirrSplit varied_png_split(Communicator& comm, const std::filesystem::path& dir, int64_t n) {
  CirrSplit split;
  split.name = "train";
  split.root = dir;
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = "img" + std::to_string(i);
    split.index_of[name] = i;
    split.images.push_back(name);
    split.relative_paths.push_back(name + ".png");
    if (comm.rank() != 0) continue;
    RgbImage image;
    image.width = 10 + static_cast<int>(i % 4);
    image.height = 7 + static_cast<int>(i % 3);
    for (int p = 0; p < image.width * image.height * 3; ++p)
      image.pixels.push_back(static_cast<uint8_t>((i * 53 + p * 7) % 256));
    std::filesystem::create_directories(dir);
    write_png(dir / split.relative_paths.back(), image);
  }
  comm.barrier();
  return split;
}

// `split` evaluated by a seeded random tiny model (vocabulary from its captions) on
// `comm`, and by the same model in one process: {world's metrics, one process's}.
inline std::pair<std::map<std::string, double>, std::map<std::string, double>> random_model_metrics(
    Communicator& comm, const CirrSplit& split) {
  std::vector<std::string> captions;
  for (const auto& t : split.triplets) captions.push_back(t.caption);
  const Vocabulary vocabulary = Vocabulary::build(captions);
  const ExperimentConfig config = tiny_config();
  torch::manual_seed(0);
  auto model = make_cir_model(config, vocabulary.size());
  auto world = evaluate_split(comm, *model, split, vocabulary, config, false);
  auto local = make_local_communicator();
  return {world, evaluate_split(*local, *model, split, vocabulary, config, false)};
}

}  // namespace spn::testing
