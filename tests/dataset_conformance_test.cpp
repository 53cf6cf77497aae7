// FashionIQ and CIRCO: the real annotation files in ../shared/datasets load with the
// published counts (skipped when absent), their protocols match hand-computed cases
// and a straightforward single-process computation on 1, 2 and 3 ranks, evaluation
// runs end to end on placeholder images, and the CIRR and CIRCO submission files have
// the official shape.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include <unistd.h>

#include "annotation_cuts.h"
#include "core/files.h"
#include "data/circo.h"
#include "data/fashioniq.h"
#include "data/image_io.h"
#include "data/split_check.h"
#include "data/vocabulary.h"
#include "dist/sharding.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"
#include "train/circo_metrics.h"
#include "train/evaluate.h"
#include "train/fashioniq_metrics.h"
#include "train/submissions.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

at::Tensor unit_rows(at::Tensor x) { return x / x.norm(2, 1, true); }

TEST(FashionIq, CaptionJoiningFollowsCLIP4CIR) {
  const std::vector<std::string> captions = {" is RED and Shiny. ", "has long sleeves?,"};
  EXPECT_EQ(join_fashioniq_captions(captions, CaptionJoin::Capitalized), "Is red and shiny and has long sleeves");
  EXPECT_EQ(join_fashioniq_captions(captions, CaptionJoin::Plain), "is RED and Shiny and has long sleeves");
  EXPECT_EQ(fashioniq_caption_variant(captions, 1, CaptionJoin::Capitalized), "Has long sleeves and is RED and Shiny");
  EXPECT_EQ(fashioniq_caption_variant(captions, 2, CaptionJoin::Capitalized), "Is red and shiny");
  EXPECT_EQ(fashioniq_caption_variant(captions, 3, CaptionJoin::Plain), "has long sleeves");
  EXPECT_EQ(join_fashioniq_captions({"élan", "x"}, CaptionJoin::Capitalized), "Élan and x");
  // Pic2Word's FashionIQ prompt: "{cap2} and {cap1}", the captions as written.
  EXPECT_EQ(join_fashioniq_captions(captions, CaptionJoin::Pic2Word), "has long sleeves?, and  is RED and Shiny. ");
  EXPECT_EQ(fashioniq_caption_variant(captions, 0, CaptionJoin::Pic2Word), "is RED and Shiny and has long sleeves");
  // SEARLE's and RTD's two orders, each stripped and not capitalised.
  EXPECT_EQ(join_fashioniq_captions(captions, CaptionJoin::BothOrders), "is RED and Shiny and has long sleeves");
  EXPECT_EQ(fashioniq_caption_variant(captions, 1, CaptionJoin::BothOrders), "has long sleeves and is RED and Shiny");
}

// caption_join = "both_orders": each query embedding is normalize((normalize(q1) +
// normalize(q2)) / 2) of its two texts' (SEARLE's validate.py), on a random GRU model
// (order-sensitive, so the two orders differ).
TEST(FashionIq, BothOrdersQueryIsTheNormalisedMeanOfTheTwoOrders) {
  auto comm = make_local_communicator();
  const fs::path dir = fs::temp_directory_path() / ("spn-test-both-orders-" + std::to_string(::getpid()));
  CirrSplit split = testing::varied_png_split(*comm, dir, 6);
  split.name = "val";
  split.format = AnnotationFormat::kFashionIq;
  split.categories = {"dress"};
  split.category_images = {{0, 1, 2, 3, 4, 5}};
  const std::vector<std::pair<std::string, std::string>> captions = {
      {"is red", "has long sleeves"}, {"is shorter", "is blue"}, {"has a collar", "is darker"}};
  for (int64_t i = 0; i < 3; ++i) {
    CirrTriplet triplet;
    triplet.pairid = i;
    triplet.category = 0;
    triplet.reference = i;
    triplet.target = i + 3;
    triplet.caption = captions[i].first + " and " + captions[i].second;
    triplet.second_caption = captions[i].second + " and " + captions[i].first;
    split.triplets.push_back(triplet);
  }
  std::vector<std::string> texts;
  for (const auto& t : split.triplets) texts.insert(texts.end(), {t.caption, t.second_caption});
  const Vocabulary vocabulary = Vocabulary::build(texts);
  const ExperimentConfig config = testing::tiny_config();
  torch::manual_seed(0);
  auto model = make_cir_model(config, vocabulary.size());
  const auto queries_of = [&](const CirrSplit& s) {
    return embed_split(*comm, *model, s, vocabulary, config, false).local_queries;
  };
  CirrSplit first = split, second = split;
  for (size_t i = 0; i < split.triplets.size(); ++i) {
    first.triplets[i].second_caption.clear();
    second.triplets[i].caption = split.triplets[i].second_caption;
    second.triplets[i].second_caption.clear();
  }
  const at::Tensor q1 = queries_of(first), q2 = queries_of(second), both = queries_of(split);
  EXPECT_GT((q1 - q2).abs().max().item<double>(), 1e-3);  // the orders differ
  EXPECT_TRUE(torch::allclose(both, unit_rows(unit_rows(q1) + unit_rows(q2)), 1e-5, 1e-6));
  fs::remove_all(dir);
}

TEST(FashionIq, ValLoadsWithThePublishedCounts) {
  const fs::path root = testing::shared_datasets_dir() / "fashioniq";
  if (!fs::exists(root / "captions")) GTEST_SKIP() << "no FashionIQ annotations in ../shared";
  const CirrSplit val = load_fashioniq_split(root, "val", FashionIqOptions{});
  ASSERT_EQ(val.categories, (std::vector<std::string>{"dress", "shirt", "toptee"}));
  const std::vector<size_t> queries = {2017, 2038, 1961}, images = {3817, 6346, 5373};
  std::vector<size_t> counted(3, 0);
  for (const auto& t : val.triplets) ++counted[t.category];
  EXPECT_EQ(counted, queries);
  for (size_t c = 0; c < 3; ++c) EXPECT_EQ(val.category_images[c].size(), images[c]);
  EXPECT_EQ(missing_targets(val), "");
  // The first dress query of cap.dress.val.json, joined as CLIP4CIR's validate.py does.
  EXPECT_EQ(val.triplets[0].caption, "Is shiny and silver with shorter sleeves and fit and flare");
  EXPECT_EQ(val.images[val.triplets[0].reference], "B005X4PL1G");
  EXPECT_EQ(val.relative_paths[val.triplets[0].target], "images/B0084Y8XIU.png");
  FashionIqOptions shirts;
  shirts.categories = {"shirt"};
  shirts.image_extension = "jpg";
  const CirrSplit shirt = load_fashioniq_split(root, "val", shirts);
  EXPECT_EQ(shirt.triplets.size(), 2038u);
  EXPECT_EQ(shirt.relative_paths[0].substr(shirt.relative_paths[0].size() - 4), ".jpg");
}

// Two categories, hand-made scores: the gallery of each is its own.
CirrSplit tiny_fashioniq() {
  CirrSplit split;
  split.format = AnnotationFormat::kFashionIq;
  split.images = {"a0", "a1", "b0", "b1"};
  split.categories = {"dress", "shirt"};
  split.category_images = {{0, 1}, {2, 3}};
  CirrTriplet dress;
  dress.category = 0, dress.reference = 0, dress.target = 1;
  CirrTriplet shirt;
  shirt.category = 1, shirt.reference = 2, shirt.target = 3;
  split.triplets = {dress, shirt};
  return split;
}

TEST(FashionIq, RecallIsWithinTheCategory) {
  const CirrSplit split = tiny_fashioniq();
  // Gallery on the x axis at 1, 0.5 (dress) and 0.9, 0.8 (shirt) ... as 2-d rows.
  const at::Tensor gallery = at::tensor({1.0f, 0.0f, 0.5f, 0.0f, 0.9f, 0.0f, 0.8f, 0.0f}).view({4, 2});
  const at::Tensor queries = at::tensor({1.0f, 0.0f, 1.0f, 0.0f}).view({2, 2});
  auto local = make_local_communicator();
  // Both targets rank second in their category (1 above), 51 other images would be
  // needed to miss R@50: all hits. The shirt gallery's images never compete with the dress.
  auto metrics = fashioniq_metrics(*local, split, gallery, queries, false);
  EXPECT_DOUBLE_EQ(metrics.at("dress/R@10"), 100.0);
  EXPECT_DOUBLE_EQ(metrics.at("Avg"), 100.0);
  EXPECT_EQ(metrics.size(), 7u);
}

// The real FashionIQ val, random unit embeddings; a third of the queries are easy. The
// world's metrics equal one process's and a direct per-query computation.
TEST(DistFashionIqConformance, MetricsMatchASingleProcessComputation) {
  const fs::path root = testing::shared_datasets_dir() / "fashioniq";
  if (!fs::exists(root / "captions")) GTEST_SKIP() << "no FashionIQ annotations in ../shared";
  const CirrSplit val = load_fashioniq_split(root, "val", FashionIqOptions{});
  Communicator& comm = testing::world();
  at::manual_seed(3);
  const int64_t n = static_cast<int64_t>(val.triplets.size());
  const at::Tensor gallery = unit_rows(at::randn({static_cast<int64_t>(val.images.size()), 8}));
  at::Tensor queries = unit_rows(at::randn({n, 8}));
  for (int64_t i = 0; i < n; i += 3) queries[i].copy_(gallery[val.triplets[i].target]);
  const ShardRange mine = shard_range(n, comm.size(), comm.rank());
  for (bool remove_reference : {false, true}) {
    const auto metrics =
        fashioniq_metrics(comm, val, gallery, queries.narrow(0, mine.begin, mine.size()), remove_reference);
    // Direct: rank within the category's gallery from a sorted score list.
    std::map<int64_t, std::pair<double, double>> hits;
    std::map<int64_t, double> count;
    const at::Tensor scores = at::matmul(queries, gallery.t()).contiguous();
    const auto score = scores.accessor<float, 2>();
    for (int64_t q = 0; q < n; ++q) {
      const CirrTriplet& t = val.triplets[q];
      int64_t above = 0;
      for (int64_t g : val.category_images[t.category])
        above += g != t.target && !(remove_reference && g == t.reference) && score[q][g] > score[q][t.target];
      hits[t.category].first += above < 10;
      hits[t.category].second += above < 50;
      count[t.category] += 1;
    }
    double mean10 = 0;
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(metrics.at(val.categories[c] + "/R@10"), 100.0 * hits[c].first / count[c], 1e-9);
      EXPECT_NEAR(metrics.at(val.categories[c] + "/R@50"), 100.0 * hits[c].second / count[c], 1e-9);
      mean10 += 100.0 * hits[c].first / count[c] / 3;
    }
    EXPECT_NEAR(metrics.at("R@10"), mean10, 1e-9);
    EXPECT_GE(metrics.at("R@10"), 33.0);  // the easy third
  }
}

// A CIRCO root under `dir`: the real val annotations linked in, and a gallery index
// of every image they name plus `distractors` more.
CirrSplit circo_with_gallery(const fs::path& dir, int64_t distractors) {
  fs::create_directories(dir);
  fs::create_directory_symlink(testing::shared_datasets_dir() / "circo" / "annotations", dir / "annotations");
  const auto items = nlohmann::json::parse(read_file(dir / "annotations" / "val.json"));
  std::set<int64_t> ids;
  for (const auto& item : items) {
    ids.insert(item["reference_img_id"].get<int64_t>());
    for (const auto& id : item["gt_img_ids"]) ids.insert(id.get<int64_t>());
  }
  for (int64_t i = 0; i < distractors; ++i) ids.insert(900000000 + i);
  testing::write_circo_image_index(dir, ids);
  return load_circo_split(dir, "val");
}

TEST(Circo, AveragePrecisionDividesByTheGroundTruthUpToK) {
  // Gallery 0..59 scored 60 - g, so the ranking is 0, 1, 2, ...; the reference is 0.
  CirrSplit split;
  split.format = AnnotationFormat::kCirco;
  for (int g = 0; g < 60; ++g) split.images.push_back(std::to_string(g));
  CirrTriplet query;
  query.reference = 0, query.target = 2, query.equally_good_targets = {4, 30};
  split.triplets = {query};
  at::Tensor gallery = at::zeros({60, 60});
  for (int g = 0; g < 60; ++g) gallery[g][g] = 1;
  at::Tensor queries = (60 - at::arange(60, at::kFloat)).view({1, 60});
  auto local = make_local_communicator();
  const auto kept = circo_metrics(*local, split, gallery, queries, false);
  // Ground truth at positions 3, 5, 31: precisions 1/3, 2/5, 3/31.
  EXPECT_NEAR(kept.at("mAP@5"), 100.0 * (1.0 / 3 + 2.0 / 5) / 3, 1e-9);
  EXPECT_NEAR(kept.at("mAP@25"), 100.0 * (1.0 / 3 + 2.0 / 5) / 3, 1e-9);
  EXPECT_NEAR(kept.at("mAP@50"), 100.0 * (1.0 / 3 + 2.0 / 5 + 3.0 / 31) / 3, 1e-9);
  EXPECT_DOUBLE_EQ(kept.at("R@5"), 100.0);
  const auto removed = circo_metrics(*local, split, gallery, queries, true);
  // Without the reference: positions 2, 4, 30.
  EXPECT_NEAR(removed.at("mAP@5"), 100.0 * (1.0 / 2 + 2.0 / 4) / 3, 1e-9);
  EXPECT_NEAR(removed.at("mAP@50"), 100.0 * (1.0 / 2 + 2.0 / 4 + 3.0 / 30) / 3, 1e-9);
  query.equally_good_targets = {};
  split.triplets = {query};
  // One ground-truth image: min(|GT|, K) = 1.
  EXPECT_NEAR(circo_metrics(*local, split, gallery, queries, true).at("mAP@10"), 100.0 / 2, 1e-9);
}

TEST(DistCircoConformance, ValLoadsEvaluatesAndWritesASubmission) {
  if (!fs::exists(testing::shared_datasets_dir() / "circo" / "annotations"))
    GTEST_SKIP() << "no CIRCO annotations in ../shared";
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "circo");
  if (comm.rank() == 0) circo_with_gallery(dir, 300);
  comm.barrier();
  const CirrSplit val = load_circo_split(dir, "val");
  ASSERT_EQ(val.triplets.size(), 220u);
  size_t ground_truth = 0;
  for (const auto& t : val.triplets) ground_truth += 1 + t.equally_good_targets.size();
  EXPECT_GT(ground_truth, 220u);
  EXPECT_EQ(val.triplets[0].caption, "shows two people and has a more colorful background");
  EXPECT_EQ(val.images[val.triplets[0].target], "355099");

  at::manual_seed(5);
  const int64_t n = 220;
  const at::Tensor gallery = unit_rows(at::randn({static_cast<int64_t>(val.images.size()), 8}));
  at::Tensor queries = unit_rows(at::randn({n, 8}));
  for (int64_t i = 0; i < n; i += 2) queries[i].copy_(gallery[val.triplets[i].target]);
  const ShardRange mine = shard_range(n, comm.size(), comm.rank());
  const auto metrics = circo_metrics(comm, val, gallery, queries.narrow(0, mine.begin, mine.size()), false);
  auto local = make_local_communicator();
  const auto reference = circo_metrics(*local, val, gallery, queries, false);
  ASSERT_EQ(metrics.size(), 8u);
  for (const auto& [name, value] : reference) EXPECT_NEAR(metrics.at(name), value, 1e-9) << name;
  EXPECT_GE(metrics.at("R@5"), 50.0);  // the easy half
  EXPECT_LE(metrics.at("R@5"), metrics.at("R@50"));

  const nlohmann::json submission = circo_submission(val, gallery, queries, false);
  ASSERT_EQ(submission.size(), 220u);
  for (const auto& t : val.triplets) {
    const auto& ids = submission.at(std::to_string(t.pairid));
    ASSERT_EQ(ids.size(), 50u);
    EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 50u);
  }
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

TEST(CirrSubmission, Test1FilesHaveTheOfficialShape) {
  const fs::path root = testing::shared_datasets_dir() / "cirr";
  if (!fs::exists(root / "captions")) GTEST_SKIP() << "no CIRR annotations in ../shared";
  const CirrSplit test1 = load_cirr_split(root, "test1");
  at::manual_seed(7);
  const at::Tensor gallery = unit_rows(at::randn({static_cast<int64_t>(test1.images.size()), 8}));
  const at::Tensor queries = unit_rows(at::randn({static_cast<int64_t>(test1.triplets.size()), 8}));
  for (bool subset : {false, true}) {
    const nlohmann::json file = cirr_submission(test1, gallery, queries, subset);
    EXPECT_EQ(file.at("version"), "rc2");
    EXPECT_EQ(file.at("metric"), subset ? "recall_subset" : "recall");
    ASSERT_EQ(file.size(), test1.triplets.size() + 2);
    for (const auto& t : test1.triplets) {
      const auto& names = file.at(std::to_string(t.pairid));
      ASSERT_EQ(names.size(), subset ? 3u : 50u) << t.pairid;
      const std::set<std::string> unique(names.begin(), names.end());
      EXPECT_EQ(unique.size(), names.size());
      EXPECT_EQ(unique.count(test1.images[t.reference]), 0u) << "the reference is listed for pairid " << t.pairid;
      for (const auto& name : unique) {
        EXPECT_TRUE(test1.index_of.count(name)) << name;
        EXPECT_EQ(name.find('.'), std::string::npos) << "a name with an extension: " << name;
      }
    }
  }
}

// FashionIQ val end to end: a placeholder PNG per image at images/<name>.png, a random
// small model, the sharded evaluation through evaluate_split; the world's metrics
// equal one process's.
TEST(DistFashionIqConformance, EvaluationRunsEndToEndOnPlaceholderImages) {
  const fs::path shared = testing::shared_datasets_dir() / "fashioniq";
  if (!fs::exists(shared / "captions")) GTEST_SKIP() << "no FashionIQ annotations in ../shared";
  Communicator& comm = testing::world();
  const fs::path root = testing::shared_temp_dir(comm, "fashioniq-placeholders");
  FashionIqOptions dresses;
  dresses.categories = {"dress"};
  if (comm.rank() == 0) {
    fs::create_directory_symlink(shared / "captions", root / "captions");
    fs::create_directory_symlink(shared / "image_splits", root / "image_splits");
    testing::write_placeholder_images(load_fashioniq_split(root, "val", dresses));
  }
  comm.barrier();
  const CirrSplit val = load_fashioniq_split(root, "val", dresses);
  const auto [metrics, reference] = testing::random_model_metrics(comm, val);
  ASSERT_EQ(metrics.size(), 5u);  // dress/R@10, dress/R@50, R@10, R@50, Avg
  for (const auto& [name, value] : reference) EXPECT_NEAR(metrics.at(name), value, 0.1) << name;
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(root);
}

}  // namespace
}  // namespace spn
