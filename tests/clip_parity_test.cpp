// The C++ CLIP towers against the reference implementations on the golden fixtures of
// scripts/make-golden.py: a tiny random transformers CLIPModel (ViT + text) and a
// tiny random open_clip ModifiedResNet CLIP (converted by
// scripts/convert-clip-checkpoint.py), weights and inputs identical, references in
// float64. Relative error = max |ours - reference| / max |reference|.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/clip_model.h"
#include "models/safetensors.h"
#include "parity.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

using testing::relative_error;

void expect_parity(const std::string& model) {
  torch::NoGradGuard no_grad;
  ClipTowers towers = load_clip(testing::golden_dir() / model);
  towers.image->eval();
  towers.text->eval();
  SafetensorsFile expected(testing::golden_dir() / model / "expected.safetensors");
  const torch::Tensor image = towers.image->encode(expected.read("pixels"));
  const torch::Tensor text = towers.text->forward(expected.read("tokens"));
  const double image_error = relative_error(image, expected.read("image_features"));
  const double text_error = relative_error(text, expected.read("text_features"));
  std::printf("%s parity: image features rel. error %.3g, text features rel. error %.3g\n", model.c_str(), image_error,
              text_error);
  EXPECT_EQ(image.sizes(), expected.read("image_features").sizes());
  EXPECT_LT(image_error, 1e-4);
  EXPECT_LT(text_error, 1e-4);
  // The [-1, 1] interface normalises like CLIP's preprocessing.
  const torch::Tensor unit = expected.read("pixels").clamp(-1, 1);
  const torch::Tensor mean = torch::tensor({kClipMean[0], kClipMean[1], kClipMean[2]}).view({1, 3, 1, 1});
  const torch::Tensor std = torch::tensor({kClipStd[0], kClipStd[1], kClipStd[2]}).view({1, 3, 1, 1});
  EXPECT_LT(relative_error(towers.image->forward(unit), towers.image->encode(((unit + 1) / 2 - mean) / std)), 1e-6);
}

TEST(ClipParity, VisionTransformerAndTextMatchTransformers) { expect_parity("clip_vit"); }

TEST(ClipParity, ModifiedResNetAndTextMatchOpenClip) { expect_parity("clip_rn"); }

TEST(ClipParity, WrongImageSizeAndMissingFilesAreUserErrors) {
  ClipTowers towers = load_clip(testing::golden_dir() / "clip_vit");
  EXPECT_THROW(towers.image->encode(torch::zeros({1, 3, 48, 48})), UserError);
  try {
    load_clip(testing::golden_dir() / "absent");
    FAIL() << "loaded a missing model";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: missing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("huggingface.co/openai/clip-vit-base-patch32"), std::string::npos);
  }
}

}  // namespace
}  // namespace spn
