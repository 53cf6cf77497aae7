// Positive scaling's parts: de-duplication, captioning with its journal, block-wise
// pair mining and modification texts. The Dist* tests run on 1, 2 and 3 ranks and
// compare with a single-process run (or a brute-force computation) in the same test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "data/captioning.h"
#include "data/deduplication.h"
#include "data/image_io.h"
#include "data/modification_text.h"
#include "data/pair_mining.h"
#include "data/vocabulary.h"
#include "test_files.h"
#include "test_world.h"
#include "train/positive_scaling.h"
#include "train/triplet_data.h"

namespace spn {
namespace {

std::vector<std::string> split_on(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  for (size_t begin = 0;;) {
    const size_t end = text.find(separator, begin);
    parts.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return parts;
    begin = end + separator.size();
  }
}

namespace fs = std::filesystem;

// A split of `n` PNGs in `dir`: image i shows colour (i % distinct); image 5 is 8x8
// where the others are 4x4, so it differs from its colour twins.
CirrSplit png_split(Communicator& comm, const fs::path& dir, int64_t n, int64_t distinct) {
  CirrSplit split;
  split.name = "train";
  split.root = dir;
  nlohmann::json descriptions;
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = "img" + std::to_string(i);
    split.index_of[name] = i;
    split.images.push_back(name);
    split.relative_paths.push_back(name + ".png");
    descriptions[name] = "a picture of colour " + std::to_string(i % distinct) + " number " + std::to_string(i);
    if (comm.rank() != 0) continue;
    RgbImage image;
    image.width = image.height = i == 5 ? 8 : 4;
    image.pixels.assign(static_cast<size_t>(image.width * image.height * 3), static_cast<uint8_t>(40 * (i % distinct)));
    write_png(dir / split.relative_paths.back(), image);
  }
  if (comm.rank() == 0) write_file_atomic(dir / "descriptions.json", descriptions.dump());
  comm.barrier();
  return split;
}

TEST(DistDeduplication, KeepsTheFirstOfEachPixelIdenticalGroupOnAnyWorldSize) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "dedup");
  const CirrSplit split = png_split(comm, dir, 11, 4);
  const Deduplication dedup = deduplicate_images(comm, split, false);
  // Colours repeat every 4 images; image 5 (colour 1, but 8x8) is unique.
  EXPECT_EQ(dedup.unique, (std::vector<int64_t>{0, 1, 2, 3, 5}));
  EXPECT_EQ(dedup.canonical, (std::vector<int64_t>{0, 1, 2, 3, 0, 5, 2, 3, 0, 1, 2}));
  EXPECT_EQ(dedup.duplicates(), 6);
  auto local = make_local_communicator();
  const Deduplication reference = deduplicate_images(*local, split, false);
  EXPECT_EQ(dedup.canonical, reference.canonical);
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

// Counts the images it captions; throws after `fail_after` of them when set, as a
// killed process would stop.
class CountingCaptioner : public Captioner {
 public:
  CountingCaptioner(std::unique_ptr<Captioner> inner, int64_t fail_after = -1)
      : inner_(std::move(inner)), fail_after_(fail_after) {}
  void caption(const CirrSplit& split, const std::vector<int64_t>& indices, const Done& done) override {
    inner_->caption(split, indices, [&](int64_t index, const std::string& caption) {
      if (calls == fail_after_) throw std::runtime_error("killed");
      ++calls;
      done(index, caption);
    });
  }
  int64_t calls = 0;

 private:
  std::unique_ptr<Captioner> inner_;
  int64_t fail_after_;
};

ExperimentConfig captioning_config(int64_t words) {
  return load_config_text("", "<test>", {"positives.caption_words=" + std::to_string(words)});
}

// Token sets are mined by their normalised mean token; one-vector rows as they are.
TEST(PairMining, TokenSetsEnterAsTheirNormalisedMeanToken) {
  torch::manual_seed(4);
  const torch::Tensor sets = torch::randn({6, 3, 5}, torch::kDouble);
  const torch::Tensor vectors = mining_vectors(sets);
  ASSERT_EQ(vectors.sizes(), (std::vector<int64_t>{6, 5}));
  for (int64_t i = 0; i < 6; ++i) {
    const torch::Tensor mean = (sets[i][0] + sets[i][1] + sets[i][2]) / 3;
    EXPECT_TRUE(torch::allclose(vectors[i], mean / mean.norm(), 1e-12, 1e-14)) << i;
  }
  const torch::Tensor rows = torch::randn({4, 5});
  EXPECT_TRUE(torch::equal(mining_vectors(rows), rows));
}

TEST(Captioning, AKilledRunResumesWithoutRedoingOrLosingImages) {
  auto comm = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*comm, "captions-resume");
  const CirrSplit split = png_split(*comm, dir, 40, 40);
  const std::vector<int64_t> images = {3, 1, 4, 15, 9, 2, 6, 5, 35, 8, 39, 7, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20};
  const ExperimentConfig config = captioning_config(5);

  CountingCaptioner whole(make_captioner(config, split));
  const auto expected = caption_images(*comm, whole, split, images, dir / "whole", false);
  EXPECT_EQ(expected[0], "a picture of colour 3");  // the description cut to 5 words
  const std::string expected_file = read_file(dir / "whole/captions.json");

  CountingCaptioner killed(make_captioner(config, split), 7);
  EXPECT_THROW(caption_images(*comm, killed, split, images, dir / "resumed", false), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir / "resumed/captions.json"));
  append_line(dir / "resumed/captions.journal-0.jsonl", R"({"image": "img6", "capt)");  // a line cut short
  std::string journal = read_file(dir / "resumed/captions.journal-0.jsonl");
  write_file_atomic(dir / "resumed/captions.journal-0.jsonl", journal.substr(0, journal.size() - 1));

  CountingCaptioner resumed(make_captioner(config, split));
  EXPECT_EQ(caption_images(*comm, resumed, split, images, dir / "resumed", false), expected);
  EXPECT_EQ(resumed.calls, static_cast<int64_t>(images.size()) - 7) << "finished images were captioned again";
  EXPECT_EQ(read_file(dir / "resumed/captions.json"), expected_file);
  fs::remove_all(dir);
}

TEST(DistCaptioning, SameFileForAnyWorldSizeAndAfterResumingAnotherWorldSizesJournal) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "captions");
  const CirrSplit split = png_split(comm, dir, 23, 23);
  std::vector<int64_t> images(23);
  for (int64_t i = 0; i < 23; ++i) images[i] = 22 - i;
  const ExperimentConfig config = captioning_config(4);
  auto local = make_local_communicator();
  std::vector<std::string> expected;
  if (comm.rank() == 0) {
    CountingCaptioner single(make_captioner(config, split));
    expected = caption_images(*local, single, split, images, dir / "single", false);
    // A single-process run that stopped after 9 images, to be finished by this world.
    CountingCaptioner killed(make_captioner(config, split), 9);
    EXPECT_THROW(caption_images(*local, killed, split, images, dir / "mixed", false), std::runtime_error);
  }
  comm.barrier();
  CountingCaptioner sharded(make_captioner(config, split));
  const auto captions = caption_images(comm, sharded, split, images, dir / "world", false);
  CountingCaptioner finishing(make_captioner(config, split));
  const auto mixed = caption_images(comm, finishing, split, images, dir / "mixed", false);
  if (comm.rank() == 0) {
    EXPECT_EQ(captions, expected);
    EXPECT_EQ(mixed, expected);
    EXPECT_EQ(read_file(dir / "world/captions.json"), read_file(dir / "single/captions.json"));
    EXPECT_EQ(read_file(dir / "mixed/captions.json"), read_file(dir / "single/captions.json"));
  }
  torch::Tensor calls = torch::tensor({finishing.calls}, torch::kLong);
  comm.all_reduce(calls, ReduceOp::Sum);
  EXPECT_EQ(calls.item<int64_t>(), 23 - 9);
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

TEST(Captioning, MissingDescriptionsAndImagesAreNamed) {
  auto comm = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*comm, "captions-errors");
  CirrSplit split = png_split(*comm, dir, 3, 3);
  split.images.push_back("stranger");
  split.relative_paths.push_back("stranger.png");
  auto captioner = make_captioner(captioning_config(3), split);
  try {
    caption_images(*comm, *captioner, split, {0, 3}, dir / "out", false);
    FAIL() << "an image without a description was captioned";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("no description of image 'stranger'"), std::string::npos) << error.what();
  }
  fs::remove(dir / "descriptions.json");
  try {
    make_captioner(captioning_config(3), split);
    FAIL() << "the annotations captioner started without descriptions.json";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("positives.captioner: \"annotations\" needs"), std::string::npos)
        << error.what();
  }
  fs::remove_all(dir);
}

// Brute force, as the reference scripts do it: the full similarity row, argsorted.
std::vector<int64_t> ranked_by_brute_force(const torch::Tensor& embeddings, int64_t query) {
  torch::Tensor scores = torch::mv(embeddings.to(torch::kDouble), embeddings[query].to(torch::kDouble));
  scores[query] = -std::numeric_limits<double>::infinity();
  const torch::Tensor order = scores.argsort(0, /*descending=*/true);
  return {order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + order.numel()};
}

TEST(DistPairMining, BlocksOnAnyWorldSizeEqualTheBruteForceRanking) {
  Communicator& comm = testing::world();
  torch::manual_seed(5);
  torch::Tensor embeddings = torch::randn({61, 6});
  embeddings = embeddings / embeddings.norm(2, 1, true);
  std::vector<int64_t> queries;
  for (int64_t i = 0; i < 61; i += 2) queries.push_back(i);
  MiningWindow window;
  window.lo = 10;
  window.hi = 25;
  window.partners = 3;
  window.block_rows = 4;  // 31 queries: 8 blocks, the last one short
  window.seed = 99;
  const torch::Tensor partners = mine_partners(comm, embeddings, queries, window, false);
  ASSERT_EQ(partners.sizes(), (std::vector<int64_t>{31, 3}));
  auto local = make_local_communicator();
  EXPECT_TRUE(torch::equal(partners, mine_partners(*local, embeddings, queries, window, false)));

  for (size_t q = 0; q < queries.size(); ++q) {
    const std::vector<int64_t> ranked = ranked_by_brute_force(embeddings, queries[q]);
    std::set<int64_t> distinct;
    for (int64_t p = 0; p < 3; ++p) {
      const int64_t partner = partners[q][p].item<int64_t>();
      const int64_t rank = std::find(ranked.begin(), ranked.end(), partner) - ranked.begin();
      EXPECT_GE(rank, window.lo) << "query " << queries[q];
      EXPECT_LT(rank, window.hi) << "query " << queries[q];
      EXPECT_NE(partner, queries[q]);
      distinct.insert(partner);
    }
    EXPECT_EQ(distinct.size(), 3u);
  }
  // The seed decides the draw within the window.
  MiningWindow reseeded = window;
  reseeded.seed = 100;
  EXPECT_FALSE(torch::equal(partners, mine_partners(*local, embeddings, queries, reseeded, false)));
  EXPECT_TRUE(torch::equal(partners, mine_partners(*local, embeddings, queries, window, false)));
  // The window [0, 1) is the nearest neighbour.
  MiningWindow nearest = window;
  nearest.lo = 0;
  nearest.hi = 1;
  nearest.partners = 1;
  const torch::Tensor nearest_partners = mine_partners(comm, embeddings, queries, nearest, false);
  for (size_t q = 0; q < queries.size(); ++q)
    EXPECT_EQ(nearest_partners[q][0].item<int64_t>(), ranked_by_brute_force(embeddings, queries[q])[0]);
}

TEST(ModificationTexts, EachTemplateFillsAndFallsBack) {
  const auto tokens = [](const std::string& text) { return static_cast<int64_t>(split_words(text).size()); };
  const std::string ref = "a red circle", tgt = "two blue squares";
  std::mt19937_64 rng(1);
  EXPECT_EQ(ModificationTemplates({"p0", "p1", "p2", "make it {tgt}, not {ref}"}, "k")
                .compose_each(ref, tgt, rng, tokens, 24),
            (std::vector<std::string>{"two blue squares instead of a red circle",
                                      "Unlike a red circle, I want two blue squares", "two blue squares",
                                      "make it two blue squares, not a red circle"}));
  // p1 has 10 words here: over a context of 8 it falls back to p2; p0 (7 words) fits.
  EXPECT_EQ(ModificationTemplates({"p0", "p1"}, "k").compose_each(ref, tgt, rng, tokens, 8),
            (std::vector<std::string>{"two blue squares instead of a red circle", "two blue squares"}));
  EXPECT_EQ(ModificationTemplates({"p0", "p1"}, "k").fixed_texts(),
            (std::vector<std::string>{" instead of ", "Unlike , I want "}));

  const auto error_of = [](const std::vector<std::string>& templates) {
    try {
      ModificationTemplates(templates, "exp.toml:3: positives.templates");
    } catch (const UserError& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of({"p0", "{tgt} not {reference}"})
                .find("exp.toml:3: positives.templates: template \"{tgt} not "
                      "{reference}\" has {reference}"),
            std::string::npos);
  EXPECT_NE(error_of({"p3"}).find("uses none of {ref}, {tgt}, {ref_part}, {tgt_part}"), std::string::npos);
  EXPECT_EQ(error_of({"{tgt_part}", "a photo of {ref_part}"}), "");
}

// Training draws one of a triplet's own texts per step, uniformly, whatever the other
// triplets hold (annotated ones one text, FashionIQ's four joins, generated ones one per
// template): a triplet with three texts beside one with four draws each a third of the
// time, though its fourth token row repeats its first.
TEST(TrainingTexts, EachStepDrawsUniformlyAmongTheTripletsOwnTexts) {
  const std::vector<std::vector<std::string>> texts = {{"one"}, {"a b", "c d", "e f"}, {"w", "x", "y", "z"}};
  std::vector<CirrTriplet> triplets;
  std::vector<std::string> all;
  for (size_t t = 0; t < texts.size(); ++t) {
    CirrTriplet triplet;
    triplet.reference = static_cast<int64_t>(t);
    triplet.target = static_cast<int64_t>((t + 1) % texts.size());
    triplet.caption = texts[t][0];
    if (texts[t].size() > 1) triplet.captions = texts[t];
    triplets.push_back(triplet);
    all.insert(all.end(), texts[t].begin(), texts[t].end());
  }
  const Vocabulary vocabulary = Vocabulary::build(all);
  TripletData images;
  images.images.split_index = {0, 1, 2};
  const TripletData data = with_triplets(images, triplets, vocabulary, 4, /*text_seed=*/7);
  ASSERT_EQ(data.text_row_count(), 8) << "each triplet's own texts, no padding";
  for (int64_t row = 0; row < 8; ++row) EXPECT_EQ(data.reference_of_text_row(row), row == 0 ? 0 : row < 4 ? 1 : 2);

  constexpr int kSteps = 3000;
  std::vector<std::map<std::string, int>> drawn(texts.size());
  for (int step = 0; step < kSteps; ++step) {
    const std::vector<int64_t> rows = {0, 1, 2};
    const torch::Tensor tokens = data.tokens_at(rows, step);
    for (int64_t row : rows)
      for (size_t v = 0; v < texts[row].size(); ++v)
        if (torch::equal(tokens[row], vocabulary.encode_batch({texts[row][v]}, 4)[0])) ++drawn[row][texts[row][v]];
    EXPECT_TRUE(torch::equal(tokens, data.tokens_at(rows, step))) << "the draw is a function of the step";
  }
  for (size_t t = 0; t < texts.size(); ++t) {
    ASSERT_EQ(drawn[t].size(), texts[t].size()) << "triplet " << t << " drew each of its texts";
    int total = 0;
    for (const auto& [text, count] : drawn[t]) total += count;
    EXPECT_EQ(total, kSteps) << "triplet " << t << " drew a text of its own every step";
    for (const auto& [text, count] : drawn[t]) {
      const double expected = static_cast<double>(kSteps) / static_cast<double>(texts[t].size());
      EXPECT_NEAR(count, expected, 0.1 * expected) << "triplet " << t << ", '" << text << "'";
    }
  }
}

TEST(ModificationTexts, PartsAreSeededNonEmptySubsetsOfTheClauses) {
  const std::string caption = "a red circle at the top left, a small blue square in the center, a large green triangle";
  const std::set<std::string> clauses = {"a red circle at the top left", "a small blue square in the center",
                                         "a large green triangle"};
  std::set<std::string> seen;
  std::set<size_t> sizes;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    std::mt19937_64 a(seed), b(seed);
    const std::string part = some_clauses(caption, a);
    EXPECT_EQ(part, some_clauses(caption, b));
    std::set<std::string> kept;
    for (const std::string& clause : split_on(part, ", ")) {
      EXPECT_EQ(clauses.count(clause), 1u) << part;
      kept.insert(clause);
    }
    EXPECT_EQ(kept.size(), split_on(part, ", ").size()) << "a clause twice: " << part;
    sizes.insert(kept.size());
    seen.insert(part);
  }
  // Every size from one clause to all three, in several orders (3 + 6 + 6 = 15 texts).
  EXPECT_EQ(sizes, (std::set<size_t>{1, 2, 3}));
  EXPECT_EQ(seen.size(), 15u);
  std::mt19937_64 rng(3);
  EXPECT_EQ(some_clauses("one clause only", rng), "one clause only");

  // In a template: a part of its own caption.
  const auto tokens = [](const std::string& text) { return static_cast<int64_t>(split_words(text).size()); };
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 a(seed);
    const std::string text =
        ModificationTemplates({"a photo of {tgt_part}"}, "k").compose_each("a dog", caption, a, tokens, 77).at(0);
    ASSERT_EQ(text.rfind("a photo of ", 0), 0u) << text;
    for (const std::string& clause : split_on(text.substr(11), ", ")) EXPECT_EQ(clauses.count(clause), 1u) << text;
  }
  EXPECT_EQ(ModificationTemplates({"{ref_part} / {tgt_part}"}, "k").fixed_texts(), (std::vector<std::string>{" / "}));
}

}  // namespace
}  // namespace spn
