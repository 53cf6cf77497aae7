#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "core/error.h"
#include "data/cirr.h"
#include "data/image_io.h"
#include "data/split_check.h"
#include "data/vocabulary.h"
#include "dist/sharding.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"
#include "train/cirr_metrics.h"
#include "train/evaluate.h"
#include "train/query_scores.h"

namespace spn {
namespace {

CirrTriplet triplet(int64_t reference, int64_t target, std::vector<int64_t> members) {
  CirrTriplet t;
  t.reference = reference;
  t.target = target;
  t.members = std::move(members);
  return t;
}

TEST(CirrMetrics, ReferenceIsRemovedAndSubsetUsesMembers) {
  // Gallery of 60 images. Query 0: reference 0 scores highest and must not count; the
  // target (1) is then first. Query 1: target 5 has 3 gallery images above it (10, 11,
  // 12) of which one (10) is a subset member; the reference 2 also scores above.
  std::vector<CirrTriplet> triplets = {triplet(0, 1, {0, 1, 3, 4}), triplet(2, 5, {2, 5, 10, 20, 30, 40})};
  at::Tensor scores = at::zeros({2, 60});
  scores[0][0] = 10;
  scores[0][1] = 5;
  scores[0][3] = 4;
  scores[1][2] = 9;
  scores[1][10] = scores[1][11] = scores[1][12] = 3;
  scores[1][5] = 2;
  CirrHitCounts counts;
  count_cirr_hits(scores, triplets, 0, counts);
  EXPECT_EQ(counts.queries, 2);
  EXPECT_EQ(counts.recall[0], 1);  // R@1: query 0 only
  EXPECT_EQ(counts.recall[1], 2);  // R@5: both (query 1 has rank 3)
  EXPECT_EQ(counts.subset[0], 1);  // Rsubset@1: query 0 only (query 1 has member 10 above)
  EXPECT_EQ(counts.subset[1], 2);  // Rsubset@2: both
}

// Every protocol scores through for_each_score_row: a gallery of token sets (SPRC's
// [N, T, D]) scores each image by its best token, a plain one by its vector; the rows
// come in query order across blocks of queries.
TEST(QueryScores, TokenSetGalleriesScoreByTheBestToken) {
  torch::manual_seed(2);
  const at::Tensor queries = torch::randn({300, 8});
  for (const at::Tensor& gallery : {torch::randn({30, 4, 8}), torch::randn({30, 8})}) {
    const at::Tensor expected =
        gallery.dim() == 3 ? std::get<0>((queries.unsqueeze(1).unsqueeze(1) * gallery.unsqueeze(0)).sum(-1).max(2))
                           : torch::matmul(queries, gallery.t());
    at::Tensor scores = torch::full({300, 30}, std::numeric_limits<float>::quiet_NaN());
    std::vector<int64_t> order;
    for_each_score_row(queries, gallery, 10, [&](int64_t query, const float* row) {
      order.push_back(query);
      scores[query - 10].copy_(torch::from_blob(const_cast<float*>(row), {30}));
    });
    ASSERT_EQ(order.size(), 300u);
    for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], static_cast<int64_t>(i) + 10);
    EXPECT_LE((scores - expected).abs().max().item<double>(), 1e-5) << gallery.dim() << "-dimensional gallery";
  }
}

// A diverged model's NaN scores are never hits: a NaN target ranks last, a NaN
// candidate ranks below every number.
TEST(CirrMetrics, NanScoresRankLast) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<CirrTriplet> triplets = {triplet(0, 1, {0, 1, 3, 4}), triplet(0, 3, {0, 1, 3, 4})};
  at::Tensor scores = at::zeros({2, 60});
  scores[0].fill_(nan);  // every score NaN, the target's too: the old count called it rank 0
  scores[1].fill_(nan);
  scores[1][3] = 1;  // only the target is a number: rank 0 in the gallery and the subset
  CirrHitCounts counts;
  count_cirr_hits(scores, triplets, 0, counts);
  EXPECT_EQ(counts.recall[3], 1);  // R@50: query 1 only
  EXPECT_EQ(counts.subset[0], 1);  // Rsubset@1: query 1 only

  std::vector<float> row = {0.5f, nan, 2.0f, nan, -1.0f};
  EXPECT_EQ(top_indices(row.data(), 5, 5, {}), (std::vector<int64_t>{2, 0, 4, 1, 3}));
}

// Tied scores go by gallery index, as the reference code's argsort orders them: a
// collapsed model whose scores all tie must not score every target first.
TEST(CirrMetrics, TiesGoByGalleryIndexSoACollapsedModelScoresNoBetterThanChance) {
  std::vector<CirrTriplet> triplets = {triplet(0, 2, {0, 1, 2, 3}), triplet(0, 40, {0, 1, 40, 41})};
  const at::Tensor scores = at::full({2, 60}, 0.5);  // every score the same
  CirrHitCounts counts;
  count_cirr_hits(scores, triplets, 0, counts);
  // Query 0: only image 1 (index below target 2, reference 0 left out) ties above it;
  // query 1: images 1..39 do.
  EXPECT_EQ(counts.recall[0], 0);  // R@1
  EXPECT_EQ(counts.recall[1], 1);  // R@5: query 0 (rank 1)
  EXPECT_EQ(counts.recall[2], 1);  // R@10: query 0 only
  EXPECT_EQ(counts.recall[3], 2);  // R@50: both (query 1 has 39 above)
  EXPECT_EQ(counts.subset[0], 0);  // Rsubset@1: member 1 ties above both targets
  EXPECT_EQ(counts.subset[1], 2);  // Rsubset@2
}

TEST(CirrMetrics, RankFiftyBoundary) {
  // Exactly 49 images above the target: inside R@50; 50 above: outside.
  std::vector<CirrTriplet> triplets = {triplet(0, 1, {0, 1}), triplet(0, 1, {0, 1})};
  at::Tensor scores = at::zeros({2, 200});
  scores[0][1] = scores[1][1] = 1;
  scores[0].narrow(0, 2, 49).fill_(2);
  scores[1].narrow(0, 2, 50).fill_(2);
  CirrHitCounts counts;
  count_cirr_hits(scores, triplets, 0, counts);
  EXPECT_EQ(counts.recall[2], 0);  // R@10
  EXPECT_EQ(counts.recall[3], 1);  // R@50
  EXPECT_EQ(counts.subset[0], 2);  // the only other member is the reference
}

// The real CIRR val annotations, random embeddings: every rank evaluates its shard of
// the queries and the totals equal a single-process evaluation.
TEST(DistCirrConformance, ValAndTest1LoadAndEvaluate) {
  const std::filesystem::path root = std::string(SPN_SHARED_DIR) + "/datasets/cirr";
  if (!std::filesystem::exists(root / "captions")) GTEST_SKIP() << "no CIRR annotations in ../shared";
  const CirrSplit val = load_cirr_split(root, "val");
  EXPECT_EQ(val.triplets.size(), 4181u);
  EXPECT_EQ(val.images.size(), 2297u);
  EXPECT_EQ(missing_targets(val), "");
  size_t equally_good = 0, queries_with_several_targets = 0;
  for (const auto& t : val.triplets) {
    EXPECT_EQ(t.members.size(), 6u);
    equally_good += t.equally_good_targets.size();
    queries_with_several_targets += t.equally_good_targets.empty() ? 0 : 1;
  }
  // target_soft entries scored 1.0 other than target_hard, counted with Python's json.
  EXPECT_EQ(equally_good, 77u);
  EXPECT_EQ(queries_with_several_targets, 37u);
  const CirrSplit test1 = load_cirr_split(root, "test1");
  EXPECT_EQ(test1.triplets.size(), 4148u);
  EXPECT_EQ(test1.images.size(), 2315u);
  EXPECT_EQ(missing_targets(test1), "split 'test1' item 0 (pairid " + std::to_string(test1.triplets[0].pairid) +
                                        ") has no target (target_hard)");

  Communicator& comm = testing::world();
  at::manual_seed(1);
  at::Tensor gallery = at::randn({2297, 16});
  gallery = gallery / gallery.norm(2, 1, true);  // unit rows, as the encoders give
  at::Tensor queries = at::randn({4181, 16});
  // Make a known share of queries easy: query = its target's embedding.
  for (int64_t i = 0; i < 4181; i += 4) queries[i].copy_(gallery[val.triplets[i].target]);
  const ShardRange mine = shard_range(4181, comm.size(), comm.rank());
  const auto metrics = cirr_metrics(comm, val.triplets, gallery, queries.narrow(0, mine.begin, mine.size()));
  auto local = make_local_communicator();
  const auto reference = cirr_metrics(*local, val.triplets, gallery, queries);
  EXPECT_EQ(metrics, reference);
  EXPECT_GE(metrics.at("R@1"), 25.0);  // at least the easy quarter
  EXPECT_LE(metrics.at("R@1"), metrics.at("R@5"));
  EXPECT_DOUBLE_EQ(metrics.at("Avg"), (metrics.at("R@5") + metrics.at("Rsubset@1")) / 2);
  EXPECT_LE(metrics.at("R@10"), metrics.at("R@50"));
  EXPECT_LE(metrics.at("Rsubset@1"), metrics.at("Rsubset@2"));
  EXPECT_LE(metrics.at("Rsubset@2"), metrics.at("Rsubset@3"));
}

}  // namespace
}  // namespace spn

namespace spn {
namespace {

// A scratch dataset root with the real CIRR annotations and a placeholder PNG per val
// image; rank 0 makes it, every rank returns once it exists.
std::filesystem::path placeholder_cirr_root(Communicator& comm, const std::filesystem::path& shared,
                                            const std::string& label) {
  const std::filesystem::path root = testing::shared_temp_dir(comm, label);
  if (comm.rank() == 0) {
    std::filesystem::create_directory_symlink(shared / "captions", root / "captions");
    std::filesystem::create_directory_symlink(shared / "image_splits", root / "image_splits");
    testing::write_placeholder_images(load_cirr_split(root, "val"));
  }
  comm.barrier();
  return root;
}

// End to end on the real CIRR val annotations: a placeholder PNG per image name at the
// path the split file gives, a randomly initialised model, the sharded evaluation. The
// world's metrics equal one process's.
TEST(DistCirrConformance, EvaluationRunsEndToEndOnPlaceholderImages) {
  const std::filesystem::path shared = std::string(SPN_SHARED_DIR) + "/datasets/cirr";
  if (!std::filesystem::exists(shared / "captions")) GTEST_SKIP() << "no CIRR annotations in ../shared";
  Communicator& comm = testing::world();
  const std::filesystem::path root = placeholder_cirr_root(comm, shared, "cirr-placeholders");
  const CirrSplit val = load_cirr_split(root, "val");
  const auto [metrics, reference] = testing::random_model_metrics(comm, val);
  ASSERT_EQ(metrics.size(), 8u);
  for (const auto& [name, value] : reference) {
    EXPECT_NEAR(metrics.at(name), value, 0.1) << name;  // float order may move a tie
    EXPECT_GE(value, 0.0);
    EXPECT_LE(value, 100.0);
  }
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(root);
}

// Evaluation refuses a diverged model's embeddings instead of ranking them, on every
// rank at once.
TEST(DistCirrConformance, DivergedModelIsRefusedNotRanked) {
  const std::filesystem::path shared = std::string(SPN_SHARED_DIR) + "/datasets/cirr";
  if (!std::filesystem::exists(shared / "captions")) GTEST_SKIP() << "no CIRR annotations in ../shared";
  Communicator& comm = testing::world();
  const std::filesystem::path root = placeholder_cirr_root(comm, shared, "cirr-diverged");
  const CirrSplit val = load_cirr_split(root, "val");
  std::vector<std::string> captions;
  for (const auto& t : val.triplets) captions.push_back(t.caption);
  const Vocabulary vocabulary = Vocabulary::build(captions);
  const ExperimentConfig config = testing::tiny_config();
  auto model = make_cir_model(config, vocabulary.size());
  {
    torch::NoGradGuard no_grad;
    for (auto& parameter : model->parameters()) parameter.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  try {
    evaluate_split(comm, *model, val, vocabulary, config, false);
    ADD_FAILURE() << "a model with NaN weights was evaluated";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("embedding values are not finite: the model has diverged"),
              std::string::npos)
        << error.what();
  }
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace spn
