#include <gtest/gtest.h>

#include "core/error.h"
#include "core/files.h"
#include "data/cirr.h"
#include "test_files.h"
#include "test_world.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

class CirrLoader : public ::testing::Test {
 protected:
  void SetUp() override {
    auto local = make_local_communicator();
    root_ = testing::shared_temp_dir(*local, "cirr");
    write_file_atomic(root_ / "image_splits/split.rc2.val.json",
                      R"({"a": "./dev/a.png", "b": "./dev/b.png", "c": "./dev/c.png"})");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string error_for(const std::string& captions) {
    write_file_atomic(root_ / "captions/cap.rc2.val.json", captions);
    try {
      load_cirr_split(root_, "val");
    } catch (const UserError& error) {
      return error.what();
    }
    return "";
  }
  fs::path root_;
};

TEST_F(CirrLoader, LoadsValidFile) {
  EXPECT_EQ(error_for(R"([{"pairid": 4, "reference": "a", "target_hard": "b", "caption": "x",
                          "img_set": {"members": ["a", "b", "c"]}}])"),
            "");
  const CirrSplit split = load_cirr_split(root_, "val");
  ASSERT_EQ(split.triplets.size(), 1u);
  EXPECT_EQ(split.triplets[0].target, 1);
  EXPECT_EQ(split.image_path(2), root_ / "./dev/c.png");
  EXPECT_TRUE(split.triplets[0].equally_good_targets.empty());
}

TEST_F(CirrLoader, KeepsOnlyFullScoreSoftTargetsOtherThanTheHardOne) {
  EXPECT_EQ(error_for(R"([{"pairid": 4, "reference": "a", "target_hard": "b", "caption": "x",
                          "target_soft": {"b": 1.0, "c": 1.0, "a": 0.5},
                          "img_set": {"members": ["a", "b", "c"]}}])"),
            "");
  EXPECT_EQ(load_cirr_split(root_, "val").triplets[0].equally_good_targets, std::vector<int64_t>{2});

  const std::string unknown = error_for(R"([{"pairid": 4, "reference": "a", "target_hard": "b", "caption": "x",
      "target_soft": {"zz": 1.0}, "img_set": {"members": []}}])");
  EXPECT_NE(unknown.find("item 0 (pairid 4): target_soft image 'zz' is not an image of split 'val'"), std::string::npos)
      << unknown;
  const std::string score = error_for(R"([{"pairid": 4, "reference": "a", "target_hard": "b", "caption": "x",
      "target_soft": {"c": "yes"}, "img_set": {"members": []}}])");
  EXPECT_NE(score.find("item 0 (pairid 4): target_soft['c'] must be a number"), std::string::npos) << score;
}

// SPN4CIR's generated files hold a list of texts per triplet (one per template).
TEST_F(CirrLoader, ACaptionListIsTrainingTextsWithTheFirstForEvaluation) {
  EXPECT_EQ(error_for(R"([{"pairid": 4, "reference": "a", "target_hard": "b", "caption": ["x", "y", "x"],
                          "img_set": {"members": []}},
                         {"pairid": 5, "reference": "a", "target_hard": "c", "caption": ["z"],
                          "img_set": {"members": []}}])"),
            "");
  const CirrSplit split = load_cirr_split(root_, "val");
  EXPECT_EQ(split.triplets[0].caption, "x");
  EXPECT_EQ(split.triplets[0].captions, (std::vector<std::string>{"x", "y", "x"}));
  EXPECT_EQ(split.triplets[1].caption, "z");
  EXPECT_TRUE(split.triplets[1].captions.empty()) << "one text is a plain caption";

  for (const char* bad : {"[]", "[\"x\", 3]", "3"}) {
    const std::string error = error_for(std::string(R"([{"pairid": 4, "reference": "a", "target_hard": "b",
        "caption": )") + bad + R"(, "img_set": {"members": []}}])");
    EXPECT_NE(error.find("item 0 (pairid 4): field 'caption' must be "), std::string::npos) << bad << ": " << error;
  }
}

TEST_F(CirrLoader, ErrorsNameFileAndItem) {
  const std::string missing = error_for(R"([{"pairid": 4, "reference": "a", "target_hard": "b", "caption": "x",
      "img_set": {"members": []}}, {"pairid": 5, "reference": "a", "target_hard": "b", "img_set": {"members": []}}])");
  EXPECT_NE(missing.find("cap.rc2.val.json: item 1 (pairid 5): missing field 'caption'"), std::string::npos) << missing;

  const std::string unknown = error_for(R"([{"pairid": 4, "reference": "zz", "target_hard": "b", "caption": "x",
      "img_set": {"members": []}}])");
  EXPECT_NE(unknown.find("item 0 (pairid 4): reference 'zz' is not an image of split 'val'"), std::string::npos)
      << unknown;

  const std::string duplicate = error_for(R"([
      {"pairid": 4, "reference": "a", "target_hard": "b", "caption": "x", "img_set": {"members": []}},
      {"pairid": 4, "reference": "a", "target_hard": "c", "caption": "y", "img_set": {"members": []}}])");
  EXPECT_NE(duplicate.find("item 1 (pairid 4): duplicate pairid, first used by item 0"), std::string::npos)
      << duplicate;

  const std::string syntax = error_for("[\n{\"pairid\": 4,\n\"reference\": }\n]");
  EXPECT_NE(syntax.find("cap.rc2.val.json:3: invalid JSON"), std::string::npos) << syntax;

  const std::string overflow = error_for("[{\"pairid\": 1e400}]");
  EXPECT_NE(overflow.find("cap.rc2.val.json: invalid JSON ([json.exception.out_of_range.406] number overflow"),
            std::string::npos)
      << overflow;

  const std::string member = error_for(R"([{"pairid": 4, "reference": "a", "target_hard": "b", "caption": "x",
      "img_set": {"members": ["a", "q"]}}])");
  EXPECT_NE(member.find("img_set member 'q'"), std::string::npos) << member;
}

}  // namespace
}  // namespace spn
