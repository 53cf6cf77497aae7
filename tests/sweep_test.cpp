// Sweep files: expansion of grids, explicit variants and seeded random samples, and the
// errors that name the file, line and key.
#include <gtest/gtest.h>

#include <map>

#include "config/config_file.h"
#include "core/error.h"
#include "core/files.h"
#include "launcher/sweep.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

class SweepFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    auto comm = make_local_communicator();
    dir_ = testing::shared_temp_dir(*comm, "sweep");
  }
  void TearDown() override { fs::remove_all(dir_); }

  SweepDefinition load(const std::string& text) {
    write_file_atomic(dir_ / "s.toml", text);
    return load_sweep((dir_ / "s.toml").string());
  }
  std::string error_of(const std::string& text) {
    try {
      load(text);
    } catch (const UserError& error) {
      return error.what();
    }
    return "";
  }
  std::vector<std::string> labels(const SweepDefinition& sweep) {
    std::vector<std::string> out;
    for (const auto& variant : sweep.variants) out.push_back(variant.label);
    return out;
  }
  fs::path dir_;
};

TEST_F(SweepFiles, GridThenExplicitThenRandomVariants) {
  const SweepDefinition sweep = load(R"([sweep]
name = "s"
base = "exp/base.toml"
on_failure = "stop"
[sweep.fixed]
"stage1.epochs" = 2
[sweep.grid]
seed = [0, 1]
"model.head" = ["sum", "combiner"]
[[sweep.variants]]
"stage1.lr" = 0.5
[sweep.random]
samples = 3
seed = 9
space = { "stage1.lr" = { min = 1e-4, max = 1e-2, log = true }, "model.embed_dim" = [16, 32] }
)");
  EXPECT_EQ(sweep.name, "s");
  EXPECT_EQ(sweep.base, (dir_ / "exp/base.toml").string());
  EXPECT_EQ(sweep.on_failure, "stop");
  EXPECT_EQ(sweep.fixed, std::vector<std::string>{"stage1.epochs=2"});
  ASSERT_EQ(sweep.variants.size(), 4u + 1 + 3);
  const std::vector<std::string> all = labels(sweep);
  EXPECT_EQ(
      std::vector<std::string>(all.begin(), all.begin() + 5),
      (std::vector<std::string>{"model.head='sum', seed=0", "model.head='sum', seed=1", "model.head='combiner', seed=0",
                                "model.head='combiner', seed=1", "stage1.lr=0.5"}));
  EXPECT_EQ(sweep.variants[0].overrides, (std::vector<std::string>{"model.head='sum'", "seed=0"}));
  for (size_t i = 5; i < 8; ++i) {
    const auto& overrides = sweep.variants[i].overrides;
    ASSERT_EQ(overrides.size(), 2u);
    EXPECT_TRUE(overrides[0] == "model.embed_dim=16" || overrides[0] == "model.embed_dim=32") << overrides[0];
    const double lr = std::stod(overrides[1].substr(overrides[1].find('=') + 1));
    EXPECT_GE(lr, 1e-4);
    EXPECT_LE(lr, 1e-2);
  }
  // The same seed draws the same samples; another seed others.
  EXPECT_EQ(labels(load(read_file(dir_ / "s.toml"))), labels(sweep));
  std::string reseeded = read_file(dir_ / "s.toml");
  reseeded.replace(reseeded.find("seed = 9"), 8, "seed = 10");
  EXPECT_NE(labels(load(reseeded)), labels(sweep));
}

TEST_F(SweepFiles, SeedsRepeatEveryVariant) {
  const SweepDefinition sweep = load(R"([sweep]
name = "s"
base = "b.toml"
seeds = [3, 4]
[[sweep.variants]]
"stage2.negatives" = "batch"
[[sweep.variants]]
"stage2.negatives" = "sample"
"stage2.negative_samples" = 10
)");
  EXPECT_EQ(labels(sweep),
            (std::vector<std::string>{"stage2.negatives='batch', seed=3", "stage2.negatives='batch', seed=4",
                                      "stage2.negative_samples=10, stage2.negatives='sample', seed=3",
                                      "stage2.negative_samples=10, stage2.negatives='sample', seed=4"}));
  EXPECT_EQ(sweep.variants[3].overrides,
            (std::vector<std::string>{"stage2.negative_samples=10", "stage2.negatives='sample'", "seed=4"}));
  EXPECT_NE(error_of("[sweep]\nname = \"s\"\nbase = \"b.toml\"\nseeds = [\"a\"]\n")
                .find("s.toml:4: sweep.seeds: expected a non-empty array of integers"),
            std::string::npos);
}

// Every shipped sweep expands, with at least 3 seeds per variant, and each of its
// variants resolves to a valid experiment; so does every shipped experiment.
TEST(ShippedFiles, SweepsAndExperimentsLoad) {
  const fs::path root = SPN_SOURCE_DIR;
  int sweeps = 0;
  for (const auto& entry : fs::directory_iterator(root / "sweeps")) {
    const SweepDefinition sweep = load_sweep(entry.path().string());
    ++sweeps;
    std::map<std::string, int> seeds_per_variant;
    for (const SweepVariant& variant : sweep.variants) {
      std::vector<std::string> overrides = sweep.fixed;
      std::string without_seed;
      for (const std::string& assignment : variant.overrides) {
        overrides.push_back(assignment);
        if (assignment.rfind("seed=", 0) != 0) without_seed += assignment + ";";
      }
      ++seeds_per_variant[without_seed];
      EXPECT_NO_THROW(load_config(sweep.base, overrides)) << entry.path() << ": " << variant.label;
    }
    for (const auto& [variant, seeds] : seeds_per_variant) EXPECT_GE(seeds, 3) << entry.path() << ": " << variant;
  }
  EXPECT_GE(sweeps, 3);
  for (const auto& entry : fs::directory_iterator(root / "experiments"))
    EXPECT_NO_THROW(load_config(entry.path().string(), {})) << entry.path();
}

TEST_F(SweepFiles, ErrorsNameTheFileLineAndKey) {
  EXPECT_NE(
      error_of("[sweep]\nname = \"s\"\nbase = \"b.toml\"\ngrids = {}\n").find("s.toml:4: sweep.grids: unknown key"),
      std::string::npos);
  EXPECT_NE(error_of("[sweep]\nname = \"s\"\nbase = \"b.toml\"\non_failure = \"retry\"\n")
                .find("s.toml:4: sweep.on_failure: must be \"continue\" or \"stop\""),
            std::string::npos);
  EXPECT_NE(error_of("[sweep]\nname = \"s\"\nbase = \"b.toml\"\n[sweep.grid]\nseed = []\n")
                .find("s.toml:5: sweep.grid.seed: expected a non-empty array"),
            std::string::npos);
  EXPECT_NE(error_of("[sweep]\nbase = \"b.toml\"\n").find("sweep.name: missing"), std::string::npos);
  EXPECT_NE(error_of("[sweep]\nname = \"s\"\nbase = \"b.toml\"\n[sweep.grid]\nseed = [1, 1]\n")
                .find("variant 'seed=1' appears twice"),
            std::string::npos);
  EXPECT_NE(error_of("[sweep]\nname = \"s\"\nbase = \"b.toml\"\n[sweep.random]\nsamples = 2\nseed = 1\n"
                     "space = { lr = { min = 1, max = 0 } }\n")
                .find("sweep.random.space.lr: needs min < max"),
            std::string::npos);
}

}  // namespace
}  // namespace spn
