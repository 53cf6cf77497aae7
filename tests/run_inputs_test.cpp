// inputs.json: the fingerprints of the files a run's config names (track/run_inputs.h),
// and a later command on the run refused when one of them changed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/files.h"
#include "launch_fixture.h"
#include "track/run_inputs.h"

namespace spn {
namespace {

using testing::Launch;
using testing::Outcome;

TEST(RunInputs, ChangesNameTheKeyAndTheFile) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "inputs");
  write_file_atomic(dir / "clip/model.safetensors", "weights");
  write_file_atomic(dir / "clip/config.json", "{}");
  write_file_atomic(dir / "clip/pytorch_model.bin", "not read by spn");
  write_file_atomic(dir / "clip/open_clip_model.safetensors", "not read by spn either");
  write_file_atomic(dir / "phi.safetensors", "phi");
  ExperimentConfig config;
  config.model.clip_dir = (dir / "clip").string();
  config.model.mapper_weights = (dir / "phi.safetensors").string();
  config.stage1.init_checkpoint = (dir / "absent.pt").string();
  const nlohmann::json before = fingerprint_inputs(config);
  EXPECT_EQ(before["model.clip_dir"]["files"].size(), 2u) << before.dump();
  EXPECT_EQ(before["model.clip_dir"]["files"]["model.safetensors"], "7 " + hex64(fnv1a("weights")));
  EXPECT_EQ(before["model.mapper_weights"]["files"][""], "3 " + hex64(fnv1a("phi")));
  EXPECT_FALSE(before.contains("stage1.init_checkpoint")) << "a path that does not exist is left out";
  EXPECT_FALSE(before.contains("model.blip2_dir")) << "an empty key is left out";
  EXPECT_EQ(describe_input_change(before, fingerprint_inputs(config)), "");

  write_file_atomic(dir / "clip/pytorch_model.bin", "another file spn does not read");
  write_file_atomic(dir / "clip/open_clip_model.safetensors", "changed too");
  EXPECT_EQ(describe_input_change(before, fingerprint_inputs(config)), "");

  write_file_atomic(dir / "clip/model.safetensors", "weightz");  // same length, other bytes
  EXPECT_EQ(describe_input_change(before, fingerprint_inputs(config)),
            "model.clip_dir: " + (dir / "clip/model.safetensors").string() + " changed since the run started (then 7 " +
                hex64(fnv1a("weights")) + ", now 7 " + hex64(fnv1a("weightz")) + ")");
  write_file_atomic(dir / "clip/model.safetensors", "weights");
  fs::remove(dir / "phi.safetensors");
  EXPECT_EQ(describe_input_change(before, fingerprint_inputs(config)),
            "model.mapper_weights: " + (dir / "phi.safetensors").string() + " is missing now; the run started with it");
  write_file_atomic(dir / "phi.safetensors", "phi");
  write_file_atomic(dir / "absent.pt", "a checkpoint");
  EXPECT_EQ(describe_input_change(before, fingerprint_inputs(config)),
            "stage1.init_checkpoint: " + (dir / "absent.pt").string() + " appeared since the run started without it");
  fs::remove(dir / "absent.pt");
  write_file_atomic(dir / "clip/merges.txt", "a tokenizer file");
  EXPECT_EQ(describe_input_change(before, fingerprint_inputs(config)),
            "model.clip_dir: " + (dir / "clip/merges.txt").string() + " appeared since the run started without it");
  fs::remove_all(dir);
}

// A finished run whose starting checkpoint was replaced: rerunning its command (here on
// 2 ranks) stops with exit 2 instead of printing results that checkpoint never produced,
// and leaves the run's record as it was.
TEST_F(Launch, ARunWhoseInputFileChangedIsRefused) {
  write("tiny.toml", testing::kTinyExperiment);
  ASSERT_EQ(launch("tiny.toml --run-id first --set stage1.epochs=1").status, 0);
  fs::copy_file(dir_ / "runs/tiny/first/checkpoints/stage1-final.pt", dir_ / "init.pt");
  const std::string second =
      "tiny.toml --run-id second --set stage1.epochs=1 --set stage1.init_checkpoint='\"init.pt\"'";
  const Outcome trained = launch(second);
  ASSERT_EQ(trained.status, 0) << trained.output;
  const nlohmann::json inputs = nlohmann::json::parse(read_file(dir_ / "runs/tiny/second/inputs.json"));
  EXPECT_EQ(inputs["stage1.init_checkpoint"]["path"], "init.pt") << inputs.dump();
  const Outcome again = launch(second);
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("already finished"), std::string::npos) << again.output;

  append_line(dir_ / "init.pt", "more bytes");
  // On 2 ranks: rank 0 hashes, both stop with the same error.
  const Outcome changed =
      testing::run_shell("cd '" + dir_.string() + "' && " + SPN_MPIRUN + " -np 2 " + SPN_LAUNCH + " " + second);
  EXPECT_EQ(changed.status, 2) << changed.output;
  EXPECT_NE(changed.output.find("runs/tiny/second: stage1.init_checkpoint: init.pt changed since the run started"),
            std::string::npos)
      << changed.output;
  EXPECT_NE(changed.output.find("choose another --run-id, or restore the file"), std::string::npos) << changed.output;
  const nlohmann::json status = nlohmann::json::parse(read_file(dir_ / "runs/tiny/second/status.json"));
  EXPECT_EQ(status["state"], "finished") << "the run's own record is untouched";
}

}  // namespace
}  // namespace spn
