// Checkpoints carry a checksum of their bytes, written after them: a resumed run skips a
// corrupt or truncated newest checkpoint (falling back to the one before it, with a
// warning), loading a corrupt one is refused naming the file, and checkpoints written
// before checksums existed still load.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/files.h"
#include "test_files.h"
#include "test_models.h"
#include "train/checkpoint.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

void flip_bytes_in_the_middle(const fs::path& path) {
  std::string bytes = read_file(path);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(CheckpointIntegrity, CorruptOrTruncatedNewestIsSkippedAndRefused) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "checkpoints");
  auto model = make_cir_model(testing::tiny_config(), testing::kTestVocab);
  const fs::path older = step_checkpoint_path(dir, "stage1", 4), newer = step_checkpoint_path(dir, "stage1", 8);
  save_checkpoint(older, *model, nullptr, {4, 0.25});
  save_checkpoint(newer, *model, nullptr, {8});
  EXPECT_EQ(latest_checkpoint(dir, "stage1"), newer);
  EXPECT_EQ(checkpoint_damage(newer), "");

  flip_bytes_in_the_middle(newer);
  EXPECT_NE(checkpoint_damage(newer).find("does not match"), std::string::npos) << checkpoint_damage(newer);
  EXPECT_EQ(latest_checkpoint(dir, "stage1"), older);
  try {
    load_checkpoint(newer, *model, nullptr);
    ADD_FAILURE() << "a corrupt checkpoint was loaded";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find(newer.string() + ": corrupt checkpoint"), std::string::npos)
        << error.what();
  }

  save_checkpoint(newer, *model, nullptr, {8});
  fs::resize_file(newer, fs::file_size(newer) / 2);
  EXPECT_EQ(latest_checkpoint(dir, "stage1"), older);
  const CheckpointProgress progress = load_checkpoint(older, *model, nullptr);
  EXPECT_EQ(progress.steps_done, 4);
  EXPECT_EQ(progress.last_loss, 0.25);  // a stage resumed at its end reports it as its final loss

  // One from before checksums: nothing to check it against, so it is taken as it is.
  fs::remove(older.string() + ".sum");
  EXPECT_EQ(checkpoint_damage(older), "");
  EXPECT_EQ(load_checkpoint(older, *model, nullptr).steps_done, 4);

  prune_checkpoints(dir, "stage1", 1);
  EXPECT_FALSE(fs::exists(older));
  EXPECT_TRUE(fs::exists(newer.string() + ".sum"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
