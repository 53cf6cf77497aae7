// CIRCO from spn-launch: a tiny model trains on the built-in benchmark and is evaluated
// on its CIRCO-style split besides [data]; the mAP@K and R@K it records equal a
// recomputation here from its submission file (the ranked top 50 of each query) and the
// split's annotations; 2 and 3 ranks record what 1 does; a run without training
// evaluates the same weights to the same numbers; bad evaluation keys exit 2 naming them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "config/protocol.h"
#include "core/files.h"
#include "data/circo.h"
#include "data/fashioniq.h"
#include "launch_fixture.h"
#include "test_files.h"
#include "test_models.h"

namespace spn {
namespace {

using testing::kTinyExperiment;
using testing::Launch;
using testing::Outcome;

constexpr int64_t kLaunchQueries = 40;

std::string circo_experiment() {
  return std::string(kTinyExperiment) +
         "[eval]\n"
         "datasets = [\"data\", \"circo\"]\n"
         "[eval.circo]\n"
         "source = \"shapes\"\n"
         "root = \"circo\"\n"
         "queries = " +
         std::to_string(kLaunchQueries) +
         "\n"
         "submission_split = \"val\"\n";
}

nlohmann::json circo_results_of(const fs::path& run) { return nlohmann::json::parse(read_file(run / "results.json")); }

// CIRCO's official evaluation over the ranked lists of a submission file: per query,
// AP@K sums precision at each ground-truth position within K and divides by
// min(|GT|, K); R@K is whether the annotated target is within K. In percent.
std::map<std::string, double> metrics_from_submission(const nlohmann::json& submission,
                                                      const nlohmann::json& annotations) {
  std::map<std::string, double> sums;
  for (const auto& item : annotations) {
    const auto& ranked = submission.at(std::to_string(item["id"].get<int64_t>()));
    std::set<int64_t> ground_truth;
    for (const auto& id : item["gt_img_ids"]) ground_truth.insert(id.get<int64_t>());
    const int64_t target = item["target_img_id"].get<int64_t>();
    for (int64_t k : kCircoAt) {
      double precision_sum = 0;
      int64_t hits = 0;
      bool target_found = false;
      for (int64_t i = 0; i < k && i < static_cast<int64_t>(ranked.size()); ++i) {
        const int64_t id = ranked[i].get<int64_t>();
        target_found |= id == target;
        if (ground_truth.count(id)) precision_sum += static_cast<double>(++hits) / static_cast<double>(i + 1);
      }
      sums[map_metric(k)] +=
          precision_sum / static_cast<double>(std::min<int64_t>(k, static_cast<int64_t>(ground_truth.size())));
      sums[recall_metric(k)] += target_found;
    }
  }
  for (auto& [name, sum] : sums) sum *= 100.0 / static_cast<double>(annotations.size());
  return sums;
}

TEST_F(Launch, CircoStyleSplitIsEvaluatedAndMatchesItsSubmissionOnEveryWorldSize) {
  write("circo.toml", circo_experiment());
  const Outcome one = launch("circo.toml --run-id np1");
  ASSERT_EQ(one.status, 0) << one.output;
  EXPECT_NE(one.output.find("Results on split 'val' (CIRR protocol, %):"), std::string::npos) << one.output;
  EXPECT_NE(one.output.find("Results on split 'circo/val' (CIRCO protocol, %):"), std::string::npos) << one.output;
  EXPECT_NE(one.output.find("mAP@50"), std::string::npos) << one.output;

  const fs::path run = dir_ / "runs/tiny/np1";
  const nlohmann::json results = circo_results_of(run);
  ASSERT_TRUE(results["stage1"].contains("val")) << "[data] is still evaluated: " << results.dump();
  ASSERT_TRUE(results["stage1"].contains("circo/val")) << results.dump();
  const nlohmann::json& recorded = results["stage1"]["circo/val"];
  ASSERT_EQ(recorded.size(), 8u) << recorded.dump();

  const fs::path submission_file = run / "submissions/stage1-circo-val.json";
  ASSERT_TRUE(fs::exists(submission_file));
  EXPECT_FALSE(fs::exists(submission_file.string() + ".tmp"));
  const auto submission = nlohmann::json::parse(read_file(submission_file));
  const auto annotations = nlohmann::json::parse(read_file(dir_ / "circo/annotations/val.json"));
  const auto gallery = nlohmann::json::parse(
      read_file(dir_ / "circo/COCO2017_unlabeled/annotations/image_info_unlabeled2017.json"))["images"];
  std::set<int64_t> gallery_ids;
  for (const auto& image : gallery) gallery_ids.insert(image["id"].get<int64_t>());
  ASSERT_EQ(submission.size(), static_cast<size_t>(kLaunchQueries));
  for (const auto& [id, ranked] : submission.items()) {
    ASSERT_EQ(ranked.size(), 50u) << id;
    const std::set<int64_t> unique(ranked.begin(), ranked.end());
    EXPECT_EQ(unique.size(), 50u) << id;
    for (int64_t image : unique) EXPECT_TRUE(gallery_ids.count(image)) << image;
  }
  const auto recomputed = metrics_from_submission(submission, annotations);
  for (const auto& [name, value] : recomputed) {
    ASSERT_TRUE(recorded.contains(name)) << name;
    EXPECT_NEAR(recorded[name].get<double>(), value, 1e-9) << name;
    EXPECT_GE(value, 0.0) << name;
    EXPECT_LE(value, 100.0) << name;
  }
  // A trained model's ranking, not chance: a random top 50 holds the target with
  // probability 50 / gallery size.
  const double chance = 100.0 * 50.0 / static_cast<double>(gallery_ids.size());
  EXPECT_GT(recorded["R@50"].get<double>(), 2 * chance) << recorded.dump();
  EXPECT_GT(recorded["mAP@50"].get<double>(), 0.0) << recorded.dump();

  // 2 and 3 ranks train the same model (up to float reduction order) and shard the
  // generation and the evaluation: the same metrics.
  for (int ranks : {2, 3}) {
    const std::string id = "np" + std::to_string(ranks);
    const Outcome many = testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np " +
                                            std::to_string(ranks) + " " + SPN_LAUNCH + " circo.toml --run-id " + id);
    ASSERT_EQ(many.status, 0) << many.output;
    const nlohmann::json other = circo_results_of(dir_ / "runs/tiny" / id)["stage1"]["circo/val"];
    for (const auto& [name, value] : recorded.items())
      EXPECT_NEAR(other[name].get<double>(), value.get<double>(), 1e-6) << id << " " << name;
  }

  // Without training (stage 1 with 0 epochs starting from the trained weights) only
  // CIRCO is evaluated: the same numbers, and no [data] results.
  const Outcome untrained = launch(
      "circo.toml --run-id eval-only --set stage1.epochs=0 --set 'eval.datasets=[\"circo\"]' "
      "--set eval.circo.submission_split='\"\"' --set stage1.init_checkpoint=runs/tiny/np1/checkpoints/"
      "stage1-final.pt");
  ASSERT_EQ(untrained.status, 0) << untrained.output;
  EXPECT_EQ(untrained.output.find("Results on split 'val'"), std::string::npos) << untrained.output;
  const nlohmann::json only = circo_results_of(dir_ / "runs/tiny/eval-only")["stage1"];
  EXPECT_FALSE(only.contains("val")) << only.dump();
  for (const auto& [name, value] : recorded.items())
    EXPECT_NEAR(only["circo/val"][name].get<double>(), value.get<double>(), 1e-9) << name;
}

// [eval.cirr] pointed at the run's own benchmark (CIRR's format) evaluates the same
// files as [data]: the same numbers, under "cirr/val", and its own submission files.
TEST_F(Launch, CirrEvaluationDatasetMatchesDataOnTheSameFiles) {
  write("cirr.toml", std::string(kTinyExperiment) +
                         "[eval]\ndatasets = [\"data\", \"cirr\"]\n[eval.cirr]\nroot = \"data\"\n"
                         "submission_split = \"val\"\n");
  const Outcome run = launch("cirr.toml --run-id cirr");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("Results on split 'cirr/val' (CIRR protocol, %):"), std::string::npos) << run.output;
  const nlohmann::json stage1 = circo_results_of(dir_ / "runs/tiny/cirr")["stage1"];
  ASSERT_EQ(stage1["val"].size(), 8u) << stage1.dump();
  EXPECT_EQ(stage1["cirr/val"], stage1["val"]);
  for (const char* file : {"stage1-cirr-val-recall.json", "stage1-cirr-val-recall_subset.json"})
    EXPECT_TRUE(fs::exists(dir_ / "runs/tiny/cirr/submissions" / file)) << file;
}

// [eval.fashioniq] from spn-launch on the real val annotations (../shared, skipped when
// absent) with placeholder images: a run on the built-in benchmark also reports
// FashionIQ's metrics for the categories of [data.fashioniq].
TEST_F(Launch, FashionIqEvaluationDatasetFromSpnLaunch) {
  const fs::path shared = testing::shared_datasets_dir() / "fashioniq";
  if (!fs::exists(shared / "captions")) GTEST_SKIP() << "no FashionIQ annotations in ../shared";
  const fs::path root = dir_ / "fashioniq";
  fs::create_directories(root);
  fs::create_directory_symlink(shared / "captions", root / "captions");
  fs::create_directory_symlink(shared / "image_splits", root / "image_splits");
  FashionIqOptions dresses;
  dresses.categories = {"dress"};
  testing::write_placeholder_images(load_fashioniq_split(root, "val", dresses));

  write("fiq.toml", std::string(kTinyExperiment) +
                        "[data.fashioniq]\ncategories = [\"dress\"]\n"
                        "[eval]\ndatasets = [\"data\", \"fashioniq\"]\n[eval.fashioniq]\nroot = \"fashioniq\"\n");
  const Outcome run = launch("fiq.toml --run-id fiq --set stage1.epochs=1");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("Results on split 'fashioniq/val' (FashionIQ protocol, %):"), std::string::npos)
      << run.output;
  const nlohmann::json metrics = circo_results_of(dir_ / "runs/tiny/fiq")["stage1"]["fashioniq/val"];
  ASSERT_EQ(metrics.size(), 5u) << metrics.dump();  // dress/R@10, dress/R@50, R@10, R@50, Avg
  EXPECT_EQ(metrics["R@10"], metrics["dress/R@10"]);
  for (const auto& [name, value] : metrics.items()) {
    EXPECT_GE(value.get<double>(), 0.0) << name;
    EXPECT_LE(value.get<double>(), 100.0) << name;
  }
}

TEST_F(Launch, EvaluationDatasetErrorsExitTwoNamingTheKey) {
  write("circo.toml", circo_experiment());
  const auto expect_error = [&](const std::string& args, const std::string& message) {
    const Outcome outcome = launch("circo.toml " + args);
    EXPECT_EQ(outcome.status, 2) << args << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find(message), std::string::npos) << args << "\n" << outcome.output;
  };
  expect_error("--set 'eval.datasets=[\"circo\", \"circo\"]'", "eval.datasets: \"circo\" is listed twice");
  expect_error("--set 'eval.datasets=[\"coco\"]'", "eval.datasets: item 0 must be one of");
  expect_error("--set eval.circo.typo=1", "eval.circo.typo: unknown key");
  expect_error("--set eval.circo.source='\"files\"' --set eval.circo.root='\"no-circo\"'",
               "eval.circo.root: no-circo is not a CIRCO dataset");
  expect_error("--set eval.circo.source='\"files\"' --set eval.circo.root='\"no-circo\"'",
               "github.com/miccunifi/CIRCO");
  expect_error("--set eval.circo.split='\"test\"' --set eval.circo.submission_split='\"\"'", "eval.circo.split: ");
  expect_error("--set 'eval.datasets=[\"data\"]'", "eval.circo.submission_split: \"circo\" is not in eval.datasets");
  expect_error("--set 'eval.datasets=[\"circo\"]' --set stage2.enabled=true", "eval.datasets: stage 2 evaluates");
  expect_error("--set 'eval.datasets=[\"cirr\", \"circo\"]' --set eval.cirr.root='\"no-cirr\"'",
               "eval.cirr.root: no-cirr is not a CIRR-format dataset");
}

// Real CIRCO val annotations (../shared, skipped when absent) evaluated from spn-launch:
// a gallery index of every image they name, placeholder PNGs for the images.
TEST_F(Launch, RealCircoValAnnotationsEvaluateFromSpnLaunch) {
  const fs::path shared = testing::shared_datasets_dir() / "circo" / "annotations";
  if (!fs::exists(shared / "val.json")) GTEST_SKIP() << "no CIRCO annotations in ../shared";
  const fs::path root = dir_ / "real-circo";
  fs::create_directories(root / "COCO2017_unlabeled" / "annotations");
  fs::create_directory_symlink(shared, root / "annotations");
  std::set<int64_t> ids;
  for (const auto& item : nlohmann::json::parse(read_file(shared / "val.json"))) {
    ids.insert(item["reference_img_id"].get<int64_t>());
    for (const auto& id : item["gt_img_ids"]) ids.insert(id.get<int64_t>());
  }
  nlohmann::json info = {{"images", nlohmann::json::array()}};
  for (int64_t id : ids) info["images"].push_back({{"id", id}, {"file_name", std::to_string(id) + ".png"}});
  write_file_atomic(root / "COCO2017_unlabeled/annotations/image_info_unlabeled2017.json", info.dump());
  testing::write_placeholder_images(load_circo_split(root, "val"));

  write("circo.toml", std::string(kTinyExperiment) +
                          "[eval]\ndatasets = [\"circo\", \"data\"]\n[eval.circo]\nroot = \"real-circo\"\n");
  const Outcome run = launch("circo.toml --run-id real --set stage1.epochs=1");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("Results on split 'circo/val' (CIRCO protocol, %):"), std::string::npos) << run.output;
  const nlohmann::json results = circo_results_of(dir_ / "runs/tiny/real");
  const nlohmann::json& metrics = results["stage1"]["circo/val"];
  ASSERT_EQ(metrics.size(), 8u) << results.dump();
  for (const auto& [name, value] : metrics.items()) {
    EXPECT_GE(value.get<double>(), 0.0) << name;
    EXPECT_LE(value.get<double>(), 100.0) << name;
  }
  EXPECT_TRUE(results["stage1"].contains("val")) << results.dump();
}

}  // namespace
}  // namespace spn
