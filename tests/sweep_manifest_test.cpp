// A sweep survives an upgrade of spn: a manifest written by a version that lacked a key
// still matches while that key is at its default; a changed value, variant or shared
// override is refused with the change named.
#include <gtest/gtest.h>

#include "config/config_file.h"
#include "launcher/sweep_manifest.h"

namespace spn {
namespace {

using nlohmann::json;

json manifest_for(const std::vector<std::string>& overrides, const std::vector<std::string>& variants) {
  const ExperimentConfig base = load_config_text("name = \"study\"\n[stage1]\nepochs = 2\n", "base.toml", overrides);
  return make_sweep_manifest("sweep.toml", "base.toml", overrides, variants, base);
}

TEST(SweepManifest, AKeyUnknownToTheWriterIsNoChangeAtItsDefault) {
  const json now = manifest_for({}, {"seed=1", "seed=2"});
  EXPECT_EQ(sweep_manifest_change(now, now), "");

  // As an older spn wrote it: no stage2.negative_samples (at its default here), and so
  // another hash of the resolved config.
  json older = now;
  older["resolved"].erase("stage2.negative_samples");
  older["base_config_fingerprint"] = "0000000000000000";
  older["fingerprint"] = "0000000000000000";
  EXPECT_EQ(sweep_manifest_change(older, now), "");
  // A key the manifest has and this version no longer knows is ignored too.
  older["resolved"]["stage1.retired_key"] = "3";
  EXPECT_EQ(sweep_manifest_change(older, now), "");

  // The same missing key, now set away from its default, is a change.
  const json set = manifest_for({"stage2.negative_samples=7"}, {"seed=1", "seed=2"});
  json older_set = set;
  older_set["resolved"].erase("stage2.negative_samples");
  older_set["overrides"] = set["overrides"];
  older_set["fingerprint"] = "0000000000000000";
  EXPECT_NE(sweep_manifest_change(older_set, set).find("stage2.negative_samples = 7 (the manifest predates this key"),
            std::string::npos)
      << sweep_manifest_change(older_set, set);
}

TEST(SweepManifest, ChangesAreNamed) {
  const json before = manifest_for({"stage1.lr=0.001"}, {"seed=1", "seed=2"});
  const json lr = manifest_for({"stage1.lr=0.002"}, {"seed=1", "seed=2"});
  const std::string change = sweep_manifest_change(before, lr);
  EXPECT_NE(change.find("stage1.lr: 0.001 in the manifest, now 0.002"), std::string::npos) << change;
  EXPECT_NE(change.find("[sweep.fixed] / --set were"), std::string::npos) << change;

  const std::string variants = sweep_manifest_change(before, manifest_for({"stage1.lr=0.001"}, {"seed=1", "seed=3"}));
  EXPECT_NE(variants.find("added variant 'seed=3'"), std::string::npos) << variants;
  EXPECT_NE(variants.find("removed variant 'seed=2'"), std::string::npos) << variants;
  EXPECT_EQ(sweep_manifest_change(before, manifest_for({"stage1.lr=0.001"}, {"seed=2", "seed=1"})),
            "the variants are in another order");
}

}  // namespace
}  // namespace spn
