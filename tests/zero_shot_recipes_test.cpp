// The zero-shot ViT-L/14 recipes users run on CIRR, FashionIQ and CIRCO
// (experiments/cirr_pic2word.toml, cirr_searle.toml, cirr_searle_oti.toml, cirr_rtd.toml,
// cirr_spn_zeroshot.toml, whose captions come from tests/http_test_server.h) end to end
// through spn-launch under mpirun on 2 ranks, on cuts of the real annotation files in
// ../shared with placeholder images (tests/annotation_cuts.h) and a random CLIP at
// ViT-L/14's widths (tests/clip_fixture.h). Every key of each recipe is as shipped
// (embed_dim 768, φ 768 -> 3072 -> 3072 -> 768, truncation, preprocessing; for the four
// pseudo-word recipes the three evaluation datasets and the CIRR test1 and CIRCO test
// submissions, for SPN's CIRR val after both stages) except the paths, the image size of
// the one-layer CLIP, and the steps and batches of a few dozen images. No GPU, OpenAI
// weights or real images are needed to catch a recipe whose shapes or keys do not fit
// together before a user has downloaded the data.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "annotation_cuts.h"
#include "clip_fixture.h"
#include "data/deduplication.h"
#include "http_test_server.h"
#include "launch_fixture.h"
#include "models/safetensors.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

class ZeroShotRecipes : public Launch {
 protected:
  void SetUp() override {
    Launch::SetUp();
    const fs::path shared = testing::shared_datasets_dir();
    for (const char* dataset : {"cirr/captions", "fashioniq/captions", "circo/annotations"})
      if (!fs::exists(shared / dataset)) GTEST_SKIP() << "no " << dataset << " in ../shared";
    testing::write_vit_l14_widths_clip(dir_ / "clip");
    // CIRR's shipped files hold val and test1: val's first 32 queries train (Pic2Word's
    // and SEARLE's unlabeled images are their images), the next 20 are val.
    testing::write_cirr_cut(shared / "cirr", dir_ / "cirr",
                            {{"val", "train", 0, 32}, {"val", "val", 32, 20}, {"test1", "test1", 0, 12}});
    testing::write_fashioniq_cut(shared / "fashioniq", dir_ / "fashioniq", {"dress", "shirt", "toptee"},
                                 {{"val", "val", 0, 6}});
    testing::write_circo_cut(shared / "circo", dir_ / "circo", {{"val", "val", 0, 12}, {"val", "test", 12, 6}});
    std::string concepts;
    for (const char* concept : {"dog", "cat", "car", "dress", "shirt", "sky", "tree", "table", "person", "ball",
                                "chair", "road", "flower", "bird", "boat", "horse", "house", "cup"})
      concepts += std::string(concept) + "\n";
    write("concepts.txt", concepts);
    nlohmann::json triplets = nlohmann::json::array();
    for (int i = 0; i < 24; ++i)
      triplets.push_back({{"reference_caption", "a dog number " + std::to_string(i) + " on the grass"},
                          {"conditioning_caption", "make it a cat"},
                          {"target_caption", "a cat number " + std::to_string(i) + " on the grass"}});
    write("triplets.json", triplets.dump());
  }

  // `recipe` from experiments/ on 2 ranks, run id "e2e", with the paths of this test's
  // files and `overrides`; returns its results.json.
  nlohmann::json run_recipe(const std::string& recipe, const std::string& overrides) {
    const Outcome run =
        testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np 2 " + SPN_LAUNCH + " " +
                           SPN_SOURCE_DIR + "/experiments/" + recipe +
                           ".toml --run-id e2e --set threads=1 --set model.clip_dir=clip"
                           " --set data.root=cirr --set data.image_size=28 --set eval.fashioniq.root=fashioniq"
                           " --set eval.circo.root=circo" +
                           overrides);
    EXPECT_EQ(run.status, 0) << recipe << "\n" << run.output;
    const fs::path results = dir_ / "runs" / recipe / "e2e" / "results.json";
    return fs::exists(results) ? nlohmann::json::parse(read_file(results)) : nlohmann::json::object();
  }

  // Every evaluation dataset of the recipes reported, and both test servers' files written.
  void expect_evaluated(const std::string& recipe, const nlohmann::json& results) {
    SCOPED_TRACE(recipe);
    const nlohmann::json& stage = results.value("stage1", nlohmann::json::object());
    for (const auto& [split, metric] : {std::pair<const char*, const char*>{"val", "Rsubset@1"},
                                        {"fashioniq/val", "toptee/R@10"},
                                        {"circo/val", "mAP@5"}}) {
      ASSERT_TRUE(stage.contains(split) && stage[split].contains(metric)) << split << " " << results.dump();
      for (const auto& [name, value] : stage[split].items()) {
        EXPECT_GE(value.get<double>(), 0.0) << split << " " << name;
        EXPECT_LE(value.get<double>(), 100.0) << split << " " << name;
      }
    }
    const fs::path submissions = dir_ / "runs" / recipe / "e2e" / "submissions";
    // Every image but the reference, up to 50; 3 of the set's 5 others.
    const size_t test1_images = load_cirr_split(dir_ / "cirr", "test1").images.size();
    for (const auto& [file, ranked] :
         {std::pair<const char*, size_t>{"recall", std::min<size_t>(50, test1_images - 1)}, {"recall_subset", 3}}) {
      const auto cirr = nlohmann::json::parse(read_file(submissions / ("stage1-test1-" + std::string(file) + ".json")));
      EXPECT_EQ(cirr.size(), 14u) << file;  // 12 pairids, version, metric
      for (const auto& [key, value] : cirr.items())
        if (key != "version" && key != "metric") EXPECT_EQ(value.size(), ranked) << file << " " << key;
    }
    const auto circo = nlohmann::json::parse(read_file(submissions / "stage1-circo-test.json"));
    EXPECT_EQ(circo.size(), 6u);
    for (const auto& [query, ranked] : circo.items()) EXPECT_EQ(ranked.size(), 50u) << query;
  }
};

TEST_F(ZeroShotRecipes, RunEndToEndAtViTL14Widths) {
  expect_evaluated("cirr_pic2word", run_recipe("cirr_pic2word", " --set stage1.epochs=1 --set stage1.batch_size=16"));

  // SEARLE trains φ (OTI pre-pass, then distillation) and exports it for RTD.
  const std::string searle =
      " --set searle.concepts=concepts.txt --set searle.oti_steps=2 --set searle.oti_batch_size=8";
  expect_evaluated("cirr_searle",
                   run_recipe("cirr_searle", searle + " --set stage1.epochs=1 --set stage1.batch_size=16"));
  const fs::path phi = dir_ / "runs" / "cirr_searle" / "phi.safetensors";
  ASSERT_TRUE(fs::exists(phi));
  std::vector<std::vector<int64_t>> weights;
  const SafetensorsFile exported(phi);
  for (const SafetensorsEntry& entry : exported.entries())  // sorted by name: layer order
    if (entry.shape.size() == 2) weights.push_back(entry.shape);
  EXPECT_EQ(weights, (std::vector<std::vector<int64_t>>{{3072, 768}, {3072, 3072}, {768, 3072}})) << phi;

  // SEARLE-OTI inverts the distinct reference images of every split it evaluates or ranks.
  const nlohmann::json oti = run_recipe("cirr_searle_oti", searle);
  expect_evaluated("cirr_searle_oti", oti);
  EXPECT_EQ(oti["stage1"]["train"].value("steps", -1.0), 0.0) << oti.dump();  // nothing trains
  for (const char* split : {"val", "test1", "fashioniq-val", "circo-val", "circo-test"})
    EXPECT_TRUE(
        fs::exists(dir_ / "runs" / "cirr_searle_oti" / "e2e" / ("oti_queries-" + std::string(split) + ".safetensors")))
        << split;

  // RTD trains the text tower's copy on text triplets with the exported φ frozen.
  expect_evaluated("cirr_rtd", run_recipe("cirr_rtd",
                                          " --set model.mapper_weights=runs/cirr_searle/phi.safetensors"
                                          " --set rtd.text_triplets=triplets.json"
                                          " --set stage1.batch_size=8"));

  // SPN's zero-shot recipe: every training image captioned once by an OpenAI-compatible
  // server, CLIP fine-tuned on the generated triplets, then stage 2 on the bank. It
  // evaluates CIRR val only and writes no submission.
  testing::HttpTestServer captioner(testing::HttpTestServer::Mode::Captions);
  const nlohmann::json spn = run_recipe("cirr_spn_zeroshot", " --set 'positives.openai.urls=[\"" + captioner.url() +
                                                                 "\"]' --set stage1.epochs=1 --set stage1.batch_size=16"
                                                                 " --set stage2.epochs=1 --set stage2.batch_size=16");
  // Once per distinct image: the cuts' placeholders repeat where an image is in two splits.
  auto local = make_local_communicator();
  EXPECT_EQ(captioner.requests(),
            static_cast<int>(deduplicate_images(*local, load_cirr_split(dir_ / "cirr", "train"), false).unique.size()));
  for (const char* stage : {"stage1", "stage2"})
    EXPECT_TRUE(spn.contains(stage) && spn[stage].contains("val") && spn[stage]["val"].contains("Rsubset@1"))
        << stage << " " << spn.dump();
}

}  // namespace
}  // namespace spn
