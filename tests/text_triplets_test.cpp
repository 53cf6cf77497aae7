// RTD's text triplets (data/text_triplets.h): RTD's own file format read as a JSON list
// and as JSON Lines, its errors naming the file and the record, and the built-in
// benchmark's triplets turned into its images' descriptions around the modification.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "data/shapes_benchmark.h"
#include "data/splits.h"
#include "data/text_triplets.h"
#include "test_files.h"
#include "test_world.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

fs::path triplet_scratch_file(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("spn-test-text-triplets-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write_file_atomic(dir / name, text);
  return dir / name;
}

std::string triplet_error_of(const fs::path& file) {
  try {
    read_text_triplets(file);
  } catch (const UserError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(TextTriplets, ReadsRtdsFormatAsAListAndAsJsonLines) {
  const std::string first =
      R"({"reference_caption": "a dog", "conditioning_caption": "make it a cat", "target_caption": "a cat", "x": 1})";
  const std::string second =
      R"({"reference_caption": "two cups", "conditioning_caption": "one more", "target_caption": "three cups"})";
  for (const fs::path& file : {triplet_scratch_file("list.json", "[" + first + ",\n" + second + "]"),
                               triplet_scratch_file("lines.jsonl", first + "\n\n" + second + "\n")}) {
    const std::vector<TextTriplet> triplets = read_text_triplets(file);
    ASSERT_EQ(triplets.size(), 2u) << file;
    EXPECT_EQ(triplets[0].reference, "a dog");
    EXPECT_EQ(triplets[0].condition, "make it a cat");
    EXPECT_EQ(triplets[0].target, "a cat");
    EXPECT_EQ(triplets[1].reference, "two cups");
    EXPECT_EQ(triplets[1].condition, "one more");
    EXPECT_EQ(triplets[1].target, "three cups");
  }
}

TEST(TextTriplets, ErrorsNameTheFileAndTheRecord) {
  const std::string good = R"({"reference_caption": "a", "conditioning_caption": "b", "target_caption": "c"})";
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {triplet_scratch_file("broken.json", "[" + good + ","), "broken.json: not valid JSON"},
      {triplet_scratch_file("number.json", "[" + good + ", 3]"), "number.json: item 1: expected an object"},
      {triplet_scratch_file("missing.json", R"([{"reference_caption": "a", "target_caption": "c"}])"),
       "missing.json: item 0: no \"conditioning_caption\""},
      {triplet_scratch_file("typed.json",
                            R"([{"reference_caption": 1, "conditioning_caption": "b", "target_caption": "c"}])"),
       "typed.json: item 0: \"reference_caption\" must be a string"},
      {triplet_scratch_file("lines.jsonl", good + "\n" + good + "\n{oops\n"), "lines.jsonl:3: not valid JSON"},
      {triplet_scratch_file("empty.json", "[]"), "empty.json: holds no text triplets"},
      {fs::path("/nonexistent/triplets.json"), "/nonexistent/triplets.json: not found"},
  };
  for (const auto& [file, expected] : cases) {
    const std::string error = triplet_error_of(file);
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

TEST(TextTriplets, ShapesTripletsAreTheImagesDescriptionsAroundTheModification) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "rtd-shapes");
  ShapesConfig shapes;
  shapes.train_triplets = 25;
  shapes.extra_images = 5;
  shapes.val_triplets = 5;
  shapes.image_size = 32;
  ASSERT_TRUE(ensure_shapes_benchmark(*local, shapes, dir / "benchmark", false));
  DataConfig data;
  data.root = (dir / "benchmark").string();
  const CirrSplit split = load_split(data, "train");
  const fs::path file = split.root / "descriptions.json";
  const nlohmann::json descriptions = nlohmann::json::parse(read_file(file));
  const std::vector<TextTriplet> triplets = text_triplets_from_descriptions(split, file);
  ASSERT_EQ(triplets.size(), split.triplets.size());
  ASSERT_EQ(triplets.size(), 25u);
  for (size_t i = 0; i < triplets.size(); ++i) {
    const CirrTriplet& item = split.triplets[i];
    EXPECT_EQ(triplets[i].reference, descriptions[split.images[item.reference]].get<std::string>());
    EXPECT_EQ(triplets[i].condition, item.caption);
    EXPECT_EQ(triplets[i].target, descriptions[split.images[item.target]].get<std::string>());
    EXPECT_NE(triplets[i].reference, triplets[i].target);
  }
  // An image without a description is named.
  nlohmann::json fewer = descriptions;
  fewer.erase(split.images[split.triplets[0].reference]);
  write_file_atomic(dir / "fewer.json", fewer.dump());
  try {
    text_triplets_from_descriptions(split, dir / "fewer.json");
    ADD_FAILURE() << "no error";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what())
                  .find("no description (a string) of image '" + split.images[split.triplets[0].reference] + "'"),
              std::string::npos)
        << error.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
