// The SPRC experiments users run, experiments/cirr_sprc.toml and fashioniq_sprc.toml, end
// to end through spn-launch under mpirun on 1, 2 and 3 ranks, in fp32 and bf16: stage 1
// (one epoch of SPRC's losses here; the shipped files only evaluate SPRC's checkpoint),
// the banks, SPN's stage 2, each stage's evaluation and CIRR's test1 submissions. The
// model is the tiny random BLIP-2 of tests/golden/blip2; the data are cuts of the real
// annotation files in ../shared with placeholder images (tests/annotation_cuts.h), so
// the files' formats, names and captions go through the whole pipeline. The fp32 runs
// agree across world sizes; bf16 runs finish with finite losses near fp32's.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "annotation_cuts.h"
#include "launch_fixture.h"
#include "sprc_fixture.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

// The tiny model's sizes (21 px images, 16 text tokens beside its 4 query tokens) and
// batches for a few dozen triplets; everything else is the shipped experiment's.
std::string small_run_overrides(const fs::path& data_root) {
  return " --set data.root=" + data_root.string() + " --set model.blip2_dir=" + testing::blip2_fixture_dir().string() +
         " --set data.image_size=21 --set data.max_words=16 --set threads=1 --set stage1.epochs=1"
         " --set stage1.batch_size=16 --set stage1.log_every=1 --set stage2.epochs=1 --set stage2.batch_size=8"
         " --set stage2.log_every=1 --set stage2.bank_dir=banks";
}

struct ExperimentRuns {
  std::map<std::string, nlohmann::json> results;  // by run id
};

// Runs `experiment` on 1/2/3 ranks in fp32 and bf16; returns results.json by run id
// ("fp32-np1", ...).
ExperimentRuns run_everywhere(const fs::path& dir, const std::string& experiment, const std::string& overrides) {
  ExperimentRuns runs;
  for (const std::string precision : {"fp32", "bf16"})
    for (int ranks : {1, 2, 3}) {
      const std::string id = precision + "-np" + std::to_string(ranks);
      const Outcome run = testing::run_shell("cd '" + dir.string() + "' && " + SPN_MPIRUN + " -np " +
                                             std::to_string(ranks) + " " + SPN_LAUNCH + " " + experiment +
                                             " --run-id " + id + " --set precision=" + precision + overrides);
      EXPECT_EQ(run.status, 0) << id << "\n" << run.output;
      if (run.status != 0) continue;
      const std::string name = fs::path(experiment).stem().string();
      runs.results[id] = nlohmann::json::parse(read_file(dir / "runs" / name / id / "results.json"));
    }
  return runs;
}

// Both stages trained and evaluated; fp32 agrees across world sizes (scores that differ in
// the last float bit may swap two candidates: `one_query` points), bf16 stays near fp32.
void expect_consistent(const ExperimentRuns& runs, double one_query) {
  ASSERT_EQ(runs.results.size(), 6u);
  const nlohmann::json& reference = runs.results.at("fp32-np1");
  for (const char* stage : {"stage1", "stage2"}) {
    ASSERT_TRUE(reference.contains(stage) && reference[stage].contains("val")) << reference.dump();
    const double loss = reference[stage]["train"]["final_loss"].get<double>();
    ASSERT_TRUE(std::isfinite(loss)) << stage;
    for (const auto& [id, result] : runs.results) {
      SCOPED_TRACE(id + " " + stage);
      const double other = result[stage]["train"]["final_loss"].get<double>();
      ASSERT_TRUE(std::isfinite(other));
      const bool fp32 = id.rfind("fp32", 0) == 0;
      EXPECT_NEAR(other, loss, (fp32 ? 1e-4 : 5e-2) * std::abs(loss));
      if (fp32)
        for (const auto& [metric, value] : reference[stage]["val"].items())
          EXPECT_NEAR(result[stage]["val"][metric].get<double>(), value.get<double>(), one_query + 1e-9) << metric;
    }
  }
  EXPECT_TRUE(reference["stage2"].contains("best_epoch")) << reference.dump();
}

TEST_F(Launch, SprcCirrExperimentRunsEndToEndOnACutOfTheRealAnnotations) {
  const fs::path shared = testing::shared_datasets_dir() / "cirr";
  if (!fs::exists(shared / "captions")) GTEST_SKIP() << "no CIRR annotations in ../shared";
  const fs::path root = dir_ / "cirr-cut";
  testing::write_cirr_cut(shared, root, {{"val", "train", 0, 40}, {"val", "val", 40, 24}, {"test1", "test1", 0, 12}});
  const std::string experiment = (fs::path(SPN_SOURCE_DIR) / "experiments" / "cirr_sprc.toml").string();
  const ExperimentRuns runs = run_everywhere(dir_, experiment, small_run_overrides(root));
  expect_consistent(runs, 100.0 / 24);
  // CIRR's test-server files after each stage, for the 12 test1 queries.
  for (const char* stage : {"stage1", "stage2"}) {
    const fs::path file = dir_ / "runs/cirr_sprc/fp32-np3/submissions" / (std::string(stage) + "-test1-recall.json");
    ASSERT_TRUE(fs::exists(file)) << file;
    const nlohmann::json recall = nlohmann::json::parse(read_file(file));
    EXPECT_EQ(recall.size(), 12u + 2u) << "12 queries plus version and metric";
    EXPECT_EQ(recall["metric"], "recall");
  }
}

TEST_F(Launch, SprcFashionIqExperimentRunsEndToEndOnACutOfTheRealAnnotations) {
  const fs::path shared = testing::shared_datasets_dir() / "fashioniq";
  if (!fs::exists(shared / "captions")) GTEST_SKIP() << "no FashionIQ annotations in ../shared";
  const fs::path root = dir_ / "fashioniq-cut";
  testing::write_fashioniq_cut(shared, root, {"dress", "shirt", "toptee"},
                               {{"val", "train", 0, 16}, {"val", "val", 16, 8}});
  const std::string experiment = (fs::path(SPN_SOURCE_DIR) / "experiments" / "fashioniq_sprc.toml").string();
  const ExperimentRuns runs = run_everywhere(dir_, experiment, small_run_overrides(root));
  // A category's metrics move by one of its 8 queries; their means by a third of that.
  expect_consistent(runs, 100.0 / 8);
}

// Without the datasets, and then without the model files, the shipped experiments stop
// before any work with exit 2, naming the key and what to download.
TEST_F(Launch, SprcExperimentsWithoutTheirFilesExitTwo) {
  const fs::path shared = testing::shared_datasets_dir();
  if (!fs::exists(shared / "cirr/captions") || !fs::exists(shared / "fashioniq/captions"))
    GTEST_SKIP() << "no CIRR / FashionIQ annotations in ../shared";
  testing::write_cirr_cut(shared / "cirr", dir_ / "cirr-cut",
                          {{"val", "train", 0, 8}, {"val", "val", 8, 4}, {"test1", "test1", 0, 4}});
  testing::write_fashioniq_cut(shared / "fashioniq", dir_ / "fashioniq-cut", {"dress", "shirt", "toptee"},
                               {{"val", "train", 0, 4}, {"val", "val", 4, 4}});
  for (const std::string dataset : {"cirr", "fashioniq"}) {
    const std::string experiment = (fs::path(SPN_SOURCE_DIR) / "experiments" / (dataset + "_sprc.toml")).string();
    const Outcome no_data = launch(experiment);
    EXPECT_EQ(no_data.status, 2) << no_data.output;
    EXPECT_NE(no_data.output.find("data.root: datasets/" + dataset + " is not a"), std::string::npos) << no_data.output;
    const Outcome no_model = launch(experiment + " --set data.root=" + (dir_ / (dataset + "-cut")).string());
    EXPECT_EQ(no_model.status, 2) << no_model.output;
    EXPECT_NE(no_model.output.find("model.blip2_dir: models/sprc-" + dataset + "/config.json is missing"),
              std::string::npos)
        << no_model.output;
    EXPECT_NE(no_model.output.find("scripts/convert-blip2-checkpoint.py"), std::string::npos) << no_model.output;
    if (fs::exists(dir_ / "runs"))  // no run directory that looks complete
      for (const auto& entry : fs::recursive_directory_iterator(dir_ / "runs"))
        EXPECT_NE(entry.path().filename(), "results.json") << entry.path();
  }
}

}  // namespace
}  // namespace spn
