// CLIP's and CLIP4CIR's preprocessing against torchvision + PIL on the golden images of
// scripts/make-golden.py. LibTorch's antialiased bicubic kernel follows PIL's, in two
// passes rounded to 8 bits as PIL's; PIL's fixed-point weights may still move a pixel
// by one level. A wrong size, pad or crop offset would move most of them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/image_io.h"
#include "data/image_transform.h"
#include "models/safetensors.h"
#include "test_files.h"

namespace spn {
namespace {

TEST(ImageTransform, CenterCropAndTargetPadMatchTorchvision) {
  const auto dir = testing::golden_dir() / "preprocess";
  SafetensorsFile expected(dir / "expected.safetensors");
  for (Preprocess mode : {Preprocess::CenterCrop, Preprocess::TargetPad}) {
    const at::Tensor reference = expected.read(choice_name(mode)).to(torch::kInt);
    for (int64_t i = 0; i < reference.size(0); ++i) {
      const RgbImage image = read_image(dir / ("image" + std::to_string(i) + ".png"));
      const at::Tensor ours = transform_image(image, ImageTransform{32, mode, 1.25}).to(torch::kInt);
      ASSERT_EQ(ours.sizes(), reference[i].sizes()) << choice_name(mode) << " image " << i;
      const at::Tensor difference = (ours - reference[i]).abs();
      const int max_difference = difference.max().item<int>();
      const double mean_difference = difference.to(torch::kDouble).mean().item<double>();
      std::printf("%s image%lld (%dx%d): max |ours - torchvision| %d, mean %.4f levels\n", choice_name(mode),
                  static_cast<long long>(i), image.width, image.height, max_difference, mean_difference);
      EXPECT_LE(max_difference, 1) << choice_name(mode) << " image " << i;
      EXPECT_LT(mean_difference, 0.01) << choice_name(mode) << " image " << i;
    }
  }
}

TEST(ImageTransform, TargetPadOnlyPadsElongatedImages) {
  RgbImage wide;
  wide.width = 50, wide.height = 20;  // ratio 2.5: padded to 50 x 40 (vertical borders of 10)
  wide.pixels.assign(50 * 20 * 3, 200);
  const at::Tensor padded = transform_image(wide, ImageTransform{40, Preprocess::TargetPad, 1.25});
  // Resized 50x40 -> 50x40 is already the shorter side 40: the crop keeps rows 0..39
  // of which the first and last 10 are the black padding.
  EXPECT_EQ(padded.sizes(), (at::IntArrayRef{3, 40, 40}));
  EXPECT_EQ(padded[0][0][20].item<int>(), 0);
  EXPECT_EQ(padded[0][20][20].item<int>(), 200);
  RgbImage square = wide;
  square.width = square.height = 30;
  square.pixels.assign(30 * 30 * 3, 90);
  EXPECT_TRUE(transform_image(square, ImageTransform{30, Preprocess::TargetPad, 1.25}).eq(90).all().item<bool>());
}

}  // namespace
}  // namespace spn
