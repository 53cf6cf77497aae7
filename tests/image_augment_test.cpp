// Training augmentation (data/image_augment.h, data.augment): RandomResizedCrop's boxes
// keep to the image and to the configured area and ratio ranges, fall back as
// torchvision does, land where they were drawn, resample as torchvision + PIL do, and
// are a function of their seed; bad
// keys are refused naming the key; evaluation never sees the crops; a run applies them
// in both stages. (That every rank crops what one process crops, with and without the
// decoded-image cache: tests/image_loader_test.cpp.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "config/config_file.h"
#include "core/error.h"
#include "core/files.h"
#include "data/image_augment.h"
#include "data/image_io.h"
#include "data/image_transform.h"
#include "launch_fixture.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using testing::Launch;
using testing::Outcome;

ImageAugment crop_between(double scale_min, double scale_max) {
  ImageAugment augment;
  augment.kind = ImageAugmentKind::RandomResizedCrop;
  augment.scale_min = scale_min;
  augment.scale_max = scale_max;
  return augment;
}

TEST(ImageAugment, CropBoxesKeepToTheImageAndToTheAreaAndRatioRanges) {
  for (const auto& [height, width] : {std::pair<int64_t, int64_t>{288, 288}, {375, 500}, {64, 64}})
    for (const auto& [lo, hi] : {std::pair<double, double>{0.9, 1.0}, {0.08, 1.0}, {0.25, 0.5}}) {
      const ImageAugment augment = crop_between(lo, hi);
      std::set<std::tuple<int64_t, int64_t, int64_t, int64_t>> distinct;
      int drawn = 0;  // boxes that are not the fallback (the whole image)
      double shares = 0;
      for (uint64_t seed = 0; seed < 400; ++seed) {
        const CropBox box = random_resized_crop_box(height, width, augment, seed);
        const std::string where = std::to_string(height) + "x" + std::to_string(width) + " scale [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "] seed " + std::to_string(seed);
        ASSERT_GE(box.top, 0) << where;
        ASSERT_GE(box.left, 0) << where;
        ASSERT_GT(box.height, 0) << where;
        ASSERT_GT(box.width, 0) << where;
        ASSERT_LE(box.top + box.height, height) << where;
        ASSERT_LE(box.left + box.width, width) << where;
        distinct.insert({box.top, box.left, box.height, box.width});
        if (box.height == height && box.width == width && hi < 1) ADD_FAILURE() << "fallback at " << where;
        if (box.height == height && box.width == width) continue;  // torchvision's fallback: the whole image
        ++drawn;
        // Width and height are rounded from the drawn area: allow half a pixel on each side.
        const double area = static_cast<double>(box.height * box.width);
        const double slack = 0.5 * static_cast<double>(box.height + box.width) + 0.25;
        const double image_area = static_cast<double>(height * width);
        EXPECT_GE(area + slack, lo * image_area) << where;
        EXPECT_LE(area - slack, hi * image_area) << where;
        const double ratio = static_cast<double>(box.width) / static_cast<double>(box.height);
        EXPECT_GE(ratio, 0.75 * (1 - 2.0 / static_cast<double>(box.height))) << where;
        EXPECT_LE(ratio, 4.0 / 3.0 * (1 + 2.0 / static_cast<double>(box.height))) << where;
        shares += area / image_area;
      }
      EXPECT_GT(drawn, 100) << height << "x" << width << " scale " << lo << ".." << hi;
      EXPECT_GT(distinct.size(), 50u) << height << "x" << width << " scale " << lo << ".." << hi;
      // Drawn uniformly in the area range (large boxes fit less often, so the boxes kept
      // lean small): the mean share lies near the middle, not at an end.
      EXPECT_NEAR(shares / drawn, (lo + hi) / 2, 0.15 * (hi - lo) + 0.01) << height << "x" << width;
    }
}

// When no draw fits, torchvision takes the centre of the image cut to the nearest
// allowed aspect ratio (its integer arithmetic).
TEST(ImageAugment, FallsBackToTheCentreCutToTheRatioRange) {
  const ImageAugment augment = crop_between(0.9, 1.0);
  const CropBox tall = random_resized_crop_box(1000, 10, augment, 3);  // 10 / 0.75 = 13.3 rows
  EXPECT_EQ(std::make_tuple(tall.top, tall.left, tall.height, tall.width), std::make_tuple(493, 0, 13, 10));
  const CropBox wide = random_resized_crop_box(10, 1000, augment, 3);  // 10 * 4/3 = 13.3 columns
  EXPECT_EQ(std::make_tuple(wide.top, wide.left, wide.height, wide.width), std::make_tuple(0, 493, 10, 13));
}

// Channel 0 counts columns and channel 1 rows, so the resized crop shows where its box
// was cut: its first and last columns read the box's first and last columns (bicubic
// resampling moves them by a fraction of a source pixel).
TEST(ImageAugment, TheCropIsTheDrawnBoxResizedBackToTheImageSize) {
  const int64_t size = 64;
  const torch::Tensor ramp = torch::arange(size, torch::kByte);
  torch::Tensor image =
      torch::stack({ramp.view({1, size}).expand({size, size}), ramp.view({size, 1}).expand({size, size}),
                    torch::full({size, size}, 7, torch::kByte)})
          .contiguous();
  const ImageAugment augment = crop_between(0.25, 0.5);
  int changed = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    torch::Tensor pixels = image.clone();
    augment_image(pixels.data_ptr<uint8_t>(), size, augment, seed);
    const CropBox box = random_resized_crop_box(size, size, augment, seed);
    EXPECT_TRUE(torch::equal(
        pixels, resize_bicubic(image.narrow(1, box.top, box.height).narrow(2, box.left, box.width), size, size)))
        << "seed " << seed;
    const auto near = [&](int64_t channel, int64_t row, int64_t column, double expected) {
      EXPECT_NEAR(pixels[channel][row][column].item<int>(), expected, 1.0)
          << "seed " << seed << " channel " << channel << " at " << row << "," << column;
    };
    // Output pixel 0's centre lies (w / size - 1) / 2 source pixels into the box.
    const double in_x = (static_cast<double>(box.width) / size - 1) / 2;
    const double in_y = (static_cast<double>(box.height) / size - 1) / 2;
    near(0, size / 2, 0, static_cast<double>(box.left) + in_x);
    near(0, size / 2, size - 1, static_cast<double>(box.left + box.width - 1) - in_x);
    near(1, 0, size / 2, static_cast<double>(box.top) + in_y);
    near(1, size - 1, size / 2, static_cast<double>(box.top + box.height - 1) - in_y);
    EXPECT_TRUE(pixels[2].eq(7).all().item<bool>()) << "seed " << seed;
    changed += torch::equal(pixels, image) ? 0 : 1;
  }
  EXPECT_EQ(changed, 20);
}

// The crop's resampling against torchvision's F.resized_crop on a PIL image (bicubic) for
// fixed boxes, shrunk and enlarged (tests/golden/augment, scripts/make-augment-golden.py);
// as in tests/image_transform_test.cpp, PIL's fixed-point weights may move a pixel by one
// level, a wrong box or kernel would move most of them.
TEST(ImageAugment, TheCropsResamplingMatchesTorchvision) {
  const fs::path dir = testing::golden_dir() / "augment";
  const nlohmann::json golden = nlohmann::json::parse(read_file(dir / "boxes.json"));
  const int64_t size = golden["size"].get<int64_t>();
  const auto pixels_of = [&](const std::string& name) {  // uint8 [3, size, size]
    return transform_image(read_image(dir / name), ImageTransform{size, Preprocess::Resize, 1.25});
  };
  const torch::Tensor image = pixels_of("image.png");
  for (size_t k = 0; k < golden["boxes"].size(); ++k) {
    const auto box = golden["boxes"][k].get<std::vector<int64_t>>();  // top, left, height, width
    const torch::Tensor ours = resize_bicubic(image.narrow(1, box[0], box[2]).narrow(2, box[1], box[3]), size, size);
    const torch::Tensor difference =
        (ours.to(torch::kInt) - pixels_of("crop" + std::to_string(k) + ".png").to(torch::kInt)).abs();
    const int max_difference = difference.max().item<int>();
    const double mean_difference = difference.to(torch::kDouble).mean().item<double>();
    std::printf("crop %zu (%lldx%lld at %lld,%lld): max |ours - torchvision| %d, mean %.4f levels\n", k,
                static_cast<long long>(box[2]), static_cast<long long>(box[3]), static_cast<long long>(box[0]),
                static_cast<long long>(box[1]), max_difference, mean_difference);
    EXPECT_LE(max_difference, 1) << "box " << k;
    EXPECT_LT(mean_difference, 0.01) << "box " << k;
  }
}

TEST(ImageAugment, ACropIsAFunctionOfItsSeed) {
  torch::manual_seed(5);
  const torch::Tensor image = torch::randint(0, 256, {3, 48, 48}, torch::kByte);
  const ImageAugment augment = crop_between(0.08, 1.0);
  const auto augmented = [&](uint64_t seed) {
    torch::Tensor pixels = image.clone();
    augment_image(pixels.data_ptr<uint8_t>(), 48, augment, seed);
    return pixels;
  };
  std::vector<torch::Tensor> crops;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    crops.push_back(augmented(seed));
    EXPECT_TRUE(torch::equal(crops.back(), augmented(seed))) << "seed " << seed << " drew two crops";
  }
  int equal_pairs = 0;
  for (size_t i = 0; i < crops.size(); ++i)
    for (size_t j = i + 1; j < crops.size(); ++j) equal_pairs += torch::equal(crops[i], crops[j]) ? 1 : 0;
  EXPECT_EQ(equal_pairs, 0);
  torch::Tensor untouched = image.clone();
  augment_image(untouched.data_ptr<uint8_t>(), 48, ImageAugment{}, 1);  // kind none
  EXPECT_TRUE(torch::equal(untouched, image));
}

std::string config_error(const std::vector<std::string>& overrides) {
  try {
    load_config_text("", "exp.toml", overrides);
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

TEST(ImageAugment, BadKeysAreRefusedNamingTheKey) {
  EXPECT_EQ(config_error({"data.augment=random_resized_crop", "data.crop_scale_min=0.9"}), "");
  const ExperimentConfig config =
      load_config_text("[data]\naugment = \"random_resized_crop\"\ncrop_scale_min = 0.9\n", "exp.toml", {});
  const ImageAugment augment = image_augment_of(config.data);
  EXPECT_EQ(augment.kind, ImageAugmentKind::RandomResizedCrop);
  EXPECT_DOUBLE_EQ(augment.scale_min, 0.9);
  EXPECT_DOUBLE_EQ(augment.scale_max, 1.0);
  EXPECT_FALSE(image_augment_of(load_config_text("", "exp.toml", {}).data).enabled());  // the default

  std::string error = config_error({"data.augment=random_crop"});
  EXPECT_NE(error.find("data.augment: must be one of \"none\", \"random_resized_crop\""), std::string::npos) << error;
  error = config_error({"data.crop_scale_min=0"});
  EXPECT_NE(error.find("--set data.crop_scale_min=0: data.crop_scale_min: must be in [0.01, 1]"), std::string::npos)
      << error;
  error = config_error({"data.crop_scale_max=1.5"});
  EXPECT_NE(error.find("data.crop_scale_max: must be in [0.01, 1]"), std::string::npos) << error;
  error = config_error({"data.crop_scale_min='big'"});
  EXPECT_NE(error.find("data.crop_scale_min: expected a number"), std::string::npos) << error;
  try {
    load_config_text("[data]\naugment = \"random_resized_crop\"\ncrop_scale_min = 0.95\ncrop_scale_max = 0.9\n",
                     "exp.toml", {});
    ADD_FAILURE() << "an empty area range was accepted";
  } catch (const UserError& caught) {
    EXPECT_NE(
        std::string(caught.what()).find("exp.toml:3: data.crop_scale_min: 0.95 is above data.crop_scale_max = 0.9"),
        std::string::npos)
        << caught.what();
  }
}

// Evaluation encodes its gallery and queries without augmentation, whatever data.augment says.
TEST(DistAugmentedStepImages, EvaluationIgnoresTheAugmentation) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "augment-eval");
  CirrSplit split = testing::varied_png_split(comm, dir, 9);
  split.name = "val";
  for (int64_t q = 0; q < 5; ++q) {
    CirrTriplet triplet;
    triplet.pairid = q;
    triplet.reference = q;
    triplet.target = (q * 2 + 1) % 9;
    triplet.caption = "make it brighter";
    split.triplets.push_back(triplet);
  }
  ExperimentConfig plain = testing::tiny_config();
  ExperimentConfig augmented = plain;
  augmented.data.augment = ImageAugmentKind::RandomResizedCrop;
  augmented.data.crop_scale_min = 0.1;
  const Vocabulary vocabulary = Vocabulary::build({"make it brighter"});
  torch::manual_seed(0);
  auto model = make_cir_model(plain, vocabulary.size());
  const SplitEmbeddings expected = embed_split(comm, *model, split, vocabulary, plain, false);
  const SplitEmbeddings got = embed_split(comm, *model, split, vocabulary, augmented, false);
  EXPECT_TRUE(torch::equal(got.gallery, expected.gallery));
  EXPECT_TRUE(torch::equal(got.local_queries, expected.local_queries));
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

// From the config to the loaders: stage 1 crops its images, and so does stage 2 when it
// encodes its references itself; the run trains and evaluates both stages.
TEST_F(Launch, AnAugmentedRunCropsStageOneImagesAndStageTwoReferences) {
  write("tiny.toml", testing::kTinyExperiment);
  const Outcome run = launch(
      "tiny.toml --run-id crops --set data.augment=random_resized_crop --set data.crop_scale_min=0.5"
      " --set stage1.epochs=1 --set stage2.enabled=true --set stage2.epochs=1 --set stage2.reference_features=encoder");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("stage1: training images augmented by random_resized_crop (area 0.5..1 of the image)"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("stage2: training images augmented by random_resized_crop"), std::string::npos)
      << run.output;
  const auto results = nlohmann::json::parse(read_file(dir_ / "runs/tiny/crops/results.json"));
  for (const char* stage : {"stage1", "stage2"}) EXPECT_TRUE(results[stage]["val"].contains("Avg")) << results.dump();
}

}  // namespace
}  // namespace spn
