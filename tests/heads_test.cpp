// The Combiner's shapes: spn's default keeps the parameter names and sizes its recorded
// runs were trained with; CLIP4CIR's (projection p, hidden = gate = 2p, dropout 0.5)
// has CLIP4CIR's layer sizes, and its dropout acts in training only, with masks that
// follow the step's seed and each row's global index. The zero-shot baselines' heads
// pass one side through.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "models/heads.h"

namespace spn {
namespace {

std::map<std::string, std::vector<int64_t>> parameter_shapes(const torch::nn::Module& module) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& item : module.named_parameters()) shapes[item.key()] = item.value().sizes().vec();
  return shapes;
}

TEST(CombinerHead, DefaultKeepsTheRecordedLayout) {
  const CombinerHead head(CombinerShape{16, 8, 16, 8});
  const auto shapes = parameter_shapes(head);
  EXPECT_EQ(shapes.at("combine.weight"), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(shapes.at("output.weight"), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(shapes.at("mix_weight.0.weight"), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(shapes.at("mix_weight.2.weight"), (std::vector<int64_t>{1, 8}));
  EXPECT_EQ(shapes.size(), 12u);
}

TEST(CombinerHead, Clip4CirShapeAndDropout) {
  torch::manual_seed(0);
  CombinerHead head(CombinerShape{640, 2560, 5120, 5120, 0.5});  // CLIP4CIR's RN50x4 Combiner
  const auto shapes = parameter_shapes(head);
  EXPECT_EQ(shapes.at("image_projection.weight"), (std::vector<int64_t>{2560, 640}));
  EXPECT_EQ(shapes.at("combine.weight"), (std::vector<int64_t>{5120, 5120}));
  EXPECT_EQ(shapes.at("output.weight"), (std::vector<int64_t>{640, 5120}));
  EXPECT_EQ(shapes.at("mix_weight.0.weight"), (std::vector<int64_t>{5120, 5120}));
  const torch::Tensor image = torch::randn({4, 640}), text = torch::randn({4, 640});
  const RowDraws draws{11, 100};
  head.train();
  const torch::Tensor dropped = head.forward(image, text, draws);
  EXPECT_FALSE(torch::allclose(dropped, head.forward(image, text, RowDraws{12, 100}))) << "another seed";
  EXPECT_FALSE(torch::allclose(dropped, head.forward(image, text, RowDraws{11, 0}))) << "other rows";
  // Rows 102 and 103 alone (as another rank would hold them) draw the same masks. Close,
  // not equal: on some CPUs a 2-row product rounds differently from rows of a 4-row one;
  // another mask would move the outputs by their own size.
  EXPECT_TRUE(torch::allclose(dropped.narrow(0, 2, 2),
                              head.forward(image.narrow(0, 2, 2), text.narrow(0, 2, 2), RowDraws{11, 102}), 1e-5,
                              1e-6));
  head.eval();
  const torch::Tensor kept = head.forward(image, text, draws);
  EXPECT_TRUE(torch::equal(kept, head.forward(image, text, RowDraws{12, 0})));
  EXPECT_FALSE(torch::allclose(kept, dropped));
}

TEST(BaselineHeads, TextOnlyAndImageOnlyPassOneSideThrough) {
  const torch::Tensor image = torch::randn({3, 8}), text = torch::randn({3, 8});
  TextOnlyHead text_only;
  ImageOnlyHead image_only;
  EXPECT_TRUE(torch::equal(text_only.forward(image, text, RowDraws{}), text));
  EXPECT_TRUE(torch::equal(image_only.forward(image, text, RowDraws{}), image));
  EXPECT_TRUE(text_only.parameters().empty());
  EXPECT_TRUE(image_only.parameters().empty());
}

}  // namespace
}  // namespace spn
