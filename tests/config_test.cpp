#include <gtest/gtest.h>

#include <fstream>

#include "config/config_file.h"
#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

std::string error_of(const std::string& toml, const std::vector<std::string>& overrides = {}) {
  try {
    load_config_text(toml, "exp.toml", overrides);
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

TEST(Config, DefaultsAndValues) {
  const ExperimentConfig config = load_config_text("name = \"x\"\n[stage1]\nlr = 0.5\nepochs = 3\n", "exp.toml", {});
  EXPECT_EQ(config.name, "x");
  EXPECT_DOUBLE_EQ(config.stage1.lr, 0.5);
  EXPECT_EQ(config.stage1.epochs, 3);
  EXPECT_EQ(config.stage1.batch_size, Stage1Config{}.batch_size);
}

TEST(Config, UnknownKeyNamesPathAndLine) {
  const std::string error = error_of("name = \"x\"\n\n[stage1]\nlr = 0.1\nlearning_rate = 0.1\n");
  EXPECT_NE(error.find("exp.toml:5"), std::string::npos) << error;
  EXPECT_NE(error.find("stage1.learning_rate"), std::string::npos) << error;
  EXPECT_NE(error.find("unknown key"), std::string::npos) << error;
}

TEST(Config, WrongTypeNamesPathAndLine) {
  const std::string error = error_of("[data]\n[data.shapes]\nseed = \"one\"\n");
  EXPECT_NE(error.find("exp.toml:3: data.shapes.seed: expected an integer"), std::string::npos) << error;
}

TEST(Config, OutOfRange) {
  const std::string error = error_of("[stage1]\nbatch_size = 0\n");
  EXPECT_NE(error.find("exp.toml:2: stage1.batch_size: must be in [1,"), std::string::npos) << error;
}

TEST(Config, BadChoiceListsOptions) {
  const std::string error = error_of("[data]\nkind = \"coco\"\n");
  EXPECT_NE(error.find("data.kind: must be one of \"shapes\", \"cirr\""), std::string::npos) << error;
}

TEST(Config, SyntaxErrorNamesLine) {
  const std::string error = error_of("name = \"x\"\n[stage1\n");
  EXPECT_NE(error.find("exp.toml:2"), std::string::npos) << error;
}

TEST(Config, OverridesAreValidatedAndNamed) {
  const ExperimentConfig config = load_config_text("", "exp.toml", {"stage1.lr=3e-4", "data.kind=cirr", "name=abc"});
  EXPECT_DOUBLE_EQ(config.stage1.lr, 3e-4);
  EXPECT_EQ(config.data.kind, DataKind::Cirr);
  EXPECT_EQ(config.name, "abc");
  EXPECT_NE(error_of("", {"stage1.lr=-1"}).find("--set stage1.lr=-1: stage1.lr: must be in"), std::string::npos);
  EXPECT_NE(error_of("", {"stage1.typo=1"}).find("--set stage1.typo=1: stage1.typo: unknown key"), std::string::npos);
  EXPECT_NE(error_of("", {"stage1"}).find("expected KEY.PATH=VALUE"), std::string::npos);
  EXPECT_EQ(config.where("stage1.lr"), "--set stage1.lr=3e-4: stage1.lr");
}

TEST(Config, StringListsAreCheckedItemByItem) {
  const ExperimentConfig config = load_config_text("[positives]\ntemplates = [\"p2\", \"{tgt}!\"]\n", "exp.toml", {});
  EXPECT_EQ(config.positives.templates, (std::vector<std::string>{"p2", "{tgt}!"}));
  EXPECT_NE(error_of("[positives]\ntemplates = \"p0\"\n").find("exp.toml:2: positives.templates: expected an array"),
            std::string::npos);
  EXPECT_NE(error_of("[positives]\ntemplates = [\"p0\", 3]\n").find("positives.templates: item 1 must be a non-empty"),
            std::string::npos);
  EXPECT_NE(error_of("[positives]\ntemplates = []\n").find("positives.templates: must not be empty"),
            std::string::npos);
  const std::string negative = error_of("[stage1]\nnegatives = [\"target\", \"image\"]\n");
  EXPECT_NE(negative.find("exp.toml:2: stage1.negatives: item 1 must be one of \"target\", \"query\", \"reference\", "
                          "\"text\", got \"image\""),
            std::string::npos)
      << negative;
}

TEST(Config, ResolvedConfigRoundTrips) {
  const ExperimentConfig config =
      load_config_text("[model]\nhead = \"sum\"\n[positives]\ntemplates = [\"p1\"]\n", "exp.toml", {"stage1.epochs=2"});
  const std::string text = config_to_toml(config);
  const ExperimentConfig again = load_config_text(text, "resolved.toml", {});
  EXPECT_EQ(config_to_toml(again), text);
  EXPECT_EQ(again.model.head, "sum");
  EXPECT_EQ(again.stage1.epochs, 2);
  EXPECT_EQ(again.positives.templates, std::vector<std::string>{"p1"});
}

// Whatever a string holds, the resolved config reads back the same (toml++ printed one
// that starts with a line break as a multi-line string, which drops it on reading, and
// one with a line break and a run of single quotes as a multi-line literal string the
// quotes end; both found by fuzz/config_fuzzer.cpp).
TEST(Config, ResolvedStringsRoundTripWhateverTheirCharacters) {
  for (const std::string name : {"\nleading newline", "inner\nnewline", "\r\nx", "a\x7f", "quote \" and \\ 'x'",
                                 "line\nbreak and quotes '''''=", "a\n'''"}) {
    const ExperimentConfig config = load_config_text("", "exp.toml", {"name=" + name});
    ASSERT_EQ(config.name, name);
    const std::string text = config_to_toml(config);
    EXPECT_EQ(load_config_text(text, "resolved.toml", {}).name, name) << text;
  }
}

TEST(Config, OverrideThatIsNotUtf8IsRefused) {
  EXPECT_NE(error_of("", {"name=x\xff"}).find("a --set argument: not valid UTF-8 at byte offset 6"), std::string::npos);
}

TEST(Config, MissingFile) { EXPECT_THROW(load_config("/nonexistent/exp.toml", {}), UserError); }

// Rules across keys fail when the config is read, naming the key and where it was set.
TEST(Config, CrossKeyRulesAreCheckedAtLoad) {
  const auto error_of = [](const std::vector<std::string>& overrides) -> std::string {
    try {
      load_config_text("", "exp.toml", overrides);
    } catch (const UserError& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_NE(error_of({"data.kind=fashioniq", "stage2.select_metric=Rsubset@1"})
                .find("--set stage2.select_metric=Rsubset@1: stage2.select_metric: \"Rsubset@1\" is not a FashionIQ "
                      "metric (data.kind = \"fashioniq\"): one of dress/R@10, dress/R@50, shirt/R@10"),
            std::string::npos)
      << error_of({"data.kind=fashioniq", "stage2.select_metric=Rsubset@1"});
  EXPECT_EQ(error_of({"data.kind=fashioniq", "stage2.select_metric=dress/R@50"}), "");
  EXPECT_NE(error_of({"stage2.select_metric=R@20"}).find("is not a CIRR metric"), std::string::npos);
  EXPECT_EQ(load_config_text("", "exp.toml", {"data.kind=cirr", "stage2.select_metric=Rsubset@2"}).stage2.select_metric,
            "Rsubset@2");
  EXPECT_NE(
      error_of({"positives.enabled=true"}).find("positives.enabled: the generated triplets would never be trained on"),
      std::string::npos);
  EXPECT_EQ(error_of({"positives.enabled=true", "stage2.enabled=true"}), "");
  EXPECT_NE(error_of({"positives.warmup_encoder=true", "positives.encoder_checkpoint='x.pt'"})
                .find("positives.warmup_encoder: positives.encoder_checkpoint, positives.warmup_encoder and "
                      "positives.initial_encoder each name the mining encoder"),
            std::string::npos);
  EXPECT_NE(error_of({"positives.annotated_repeats=0", "positives.enabled=true", "stage2.enabled=true"})
                .find("positives.annotated_repeats: 0 trains on the generated triplets alone"),
            std::string::npos);
  EXPECT_EQ(error_of({"positives.annotated_repeats=0", "positives.enabled=true", "positives.initial_encoder=true"}),
            "");
  EXPECT_NE(error_of({"positives.rank_lo=20", "positives.rank_hi=20"}).find("positives.rank_lo: the window [20, 20)"),
            std::string::npos);
  EXPECT_NE(error_of({"data.kind=fashioniq", "eval.submission_split=test"})
                .find("eval.submission_split: FashionIQ has no test server"),
            std::string::npos);
  EXPECT_EQ(error_of({"data.shapes.preset=cirr"}), "");
  EXPECT_EQ(load_config_text("", "exp.toml", {"data.shapes.preset=cirr"}).data.shapes.preset, ShapesPreset::Cirr);
  EXPECT_NE(error_of({"data.shapes.preset=cirr", "data.shapes.extra_images=5"})
                .find("--set data.shapes.extra_images=5: data.shapes.extra_images: data.shapes.preset = \"cirr\" fixes "
                      "the benchmark's sizes; "
                      "remove data.shapes.extra_images"),
            std::string::npos)
      << error_of({"data.shapes.preset=cirr", "data.shapes.extra_images=5"});
  EXPECT_NE(error_of({"data.shapes.preset=cirr", "data.shapes.set_size=4"}).find("remove data.shapes.set_size"),
            std::string::npos);
  EXPECT_EQ(error_of({"data.shapes.preset=cirr", "data.shapes.seed=4"}), "");  // the seed still chooses the scenes
}

// eval.datasets: each once; a submission split of a dataset not evaluated, and stage 2
// (which selects on [data]'s split) without "data", are refused naming the key.
TEST(Config, EvaluationDatasetRules) {
  const ExperimentConfig defaults = load_config_text("", "exp.toml", {});
  EXPECT_EQ(defaults.eval.datasets, std::vector<EvalDataset>{EvalDataset::Data});
  EXPECT_EQ(error_of("", {"eval.datasets=['circo', 'data', 'cirr', 'fashioniq']"}), "");
  EXPECT_NE(error_of("", {"eval.datasets=['data', 'circo', 'data']"})
                .find("--set eval.datasets=['data', 'circo', 'data']: eval.datasets: \"data\" is listed twice"),
            std::string::npos);
  EXPECT_NE(error_of("", {"eval.circo.submission_split=test"})
                .find("eval.circo.submission_split: \"circo\" is not in eval.datasets"),
            std::string::npos);
  EXPECT_EQ(error_of("", {"eval.datasets=['circo']", "eval.circo.submission_split=test"}), "");
  EXPECT_NE(error_of("", {"eval.datasets=['circo']", "eval.submission_split=test1"})
                .find("eval.submission_split: \"data\" is not in eval.datasets"),
            std::string::npos);
  EXPECT_NE(error_of("", {"eval.datasets=['circo']", "stage2.enabled=true"})
                .find("eval.datasets: stage 2 evaluates [data]'s eval.split after each epoch"),
            std::string::npos);
  EXPECT_EQ(error_of("", {"eval.datasets=['circo']", "stage2.enabled=true", "stage2.eval_every_epoch=false"}), "");
  EXPECT_NE(error_of("", {"eval.circo.source=coco"}).find("eval.circo.source"), std::string::npos);
}

// Choices are enums once read, and written back by the names they were read with.
TEST(Config, ChoicesRoundTripThroughTheirNames) {
  const ExperimentConfig config =
      load_config_text("", "exp.toml",
                       {"stage2.bank_mode=replicated", "stage2.negatives=sample", "stage1.negatives=['text', 'query']",
                        "data.preprocess=targetpad", "eval.remove_reference=yes"});
  EXPECT_EQ(config.stage2.bank_mode, BankMode::Replicated);
  EXPECT_EQ(config.stage2.negatives, Stage2Negatives::Sample);
  EXPECT_EQ(config.stage1.negatives, (std::vector<NegativeType>{NegativeType::Text, NegativeType::Query}));
  EXPECT_EQ(config.data.preprocess, Preprocess::TargetPad);
  EXPECT_EQ(config.eval.remove_reference, RemoveReference::Yes);
  const std::string toml = config_to_toml(config);
  EXPECT_NE(toml.find("bank_mode = 'replicated'"), std::string::npos) << toml;
  EXPECT_NE(toml.find("negatives = [ 'text', 'query' ]"), std::string::npos) << toml;
  const ExperimentConfig again = load_config_text(toml, "resolved.toml", {});
  EXPECT_EQ(config_to_toml(again), toml);
}

TEST(Config, ReferenceListsEveryKey) {
  const std::string reference = config_reference_markdown();
  for (const char* key : {"`seed`", "`data.shapes.extra_images`", "`model.head`", "`stage1.lr`", "`eval.split`"})
    EXPECT_NE(reference.find(key), std::string::npos) << key;
}

TEST(Config, ReadmeShowsTheCurrentReference) {
  const std::string readme = read_file(std::string(SPN_SOURCE_DIR) + "/README.md");
  EXPECT_NE(readme.find(config_reference_markdown()), std::string::npos)
      << "README.md's config reference is stale: paste the output of spn-launch --config-reference";
}

}  // namespace
}  // namespace spn
