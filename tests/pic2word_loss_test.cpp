// Pic2Word's loss on 1, 2 and 3 ranks (uneven shards, an empty one at batch 2 on 3
// ranks) against the whole batch in one process: the symmetric cross entropy written
// out here, its value and its gradients, and the gradient that reaches IM2TEXT's
// weights through the frozen tiny CLIP text tower of tests/golden/clip_vit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dist/sharding.h"
#include "models/clip_model.h"
#include "models/pseudo_word_mappers.h"
#include "models/pseudo_words.h"
#include "test_files.h"
#include "test_world.h"
#include "train/pic2word_loss.h"

namespace spn {
namespace {

using testing::world;

// The reference's loss on the whole batch: normalise, logits both ways, mean CE, halved.
torch::Tensor whole_batch_loss(const torch::Tensor& images, const torch::Tensor& texts, const torch::Tensor& scale) {
  namespace F = torch::nn::functional;
  const torch::Tensor i = F::normalize(images, F::NormalizeFuncOptions().dim(1));
  const torch::Tensor t = F::normalize(texts, F::NormalizeFuncOptions().dim(1));
  const torch::Tensor logits = scale * i.matmul(t.t());
  const torch::Tensor truth = torch::arange(images.size(0));
  return (F::cross_entropy(logits, truth) + F::cross_entropy(logits.t(), truth)) / 2;
}

double summed(Communicator& comm, double value) {
  torch::Tensor t = torch::tensor({value}, torch::kDouble);
  comm.all_reduce(t, ReduceOp::Sum);
  return t.item<double>();
}

TEST(DistPic2WordLoss, ValueAndGradientsMatchTheWholeBatch) {
  Communicator& comm = world();
  const torch::Tensor scale = torch::tensor(100.0, torch::kDouble);
  for (int64_t batch : {2, 7}) {
    torch::manual_seed(batch);  // the same global batch on every rank
    const torch::Tensor images = torch::randn({batch, 6}, torch::kDouble).requires_grad_(true);
    const torch::Tensor texts = torch::randn({batch, 6}, torch::kDouble).requires_grad_(true);
    const torch::Tensor reference = whole_batch_loss(images, texts, scale);
    reference.backward();

    const ShardRange rows = shard_range(batch, comm.size(), comm.rank());
    const torch::Tensor local_images = images.detach().slice(0, rows.begin, rows.end).clone().requires_grad_(true);
    const torch::Tensor local_texts = texts.detach().slice(0, rows.begin, rows.end).clone().requires_grad_(true);
    const torch::Tensor loss = pic2word_loss_shard(comm, local_images, local_texts, scale, batch);
    loss.backward();
    EXPECT_NEAR(summed(comm, loss.item<double>()), reference.item<double>(), 1e-12) << "batch " << batch;
    if (rows.size() > 0) {
      EXPECT_TRUE(torch::allclose(local_images.grad(), images.grad().slice(0, rows.begin, rows.end), 1e-10, 1e-12));
      EXPECT_TRUE(torch::allclose(local_texts.grad(), texts.grad().slice(0, rows.begin, rows.end), 1e-10, 1e-12));
    }
  }
}

TEST(DistPic2WordLoss, GradientReachesIm2TextThroughTheFrozenTextTower) {
  Communicator& comm = world();
  std::shared_ptr<ClipTextTower> text = load_clip(testing::golden_dir() / "clip_vit").text;
  text->to(torch::kDouble);
  text->eval();
  for (auto& parameter : text->parameters()) parameter.set_requires_grad(false);
  const int64_t batch = 5;
  torch::manual_seed(3);
  Im2Text im2text(Im2TextOptions{24, 16, 32, 2, 0.1});
  im2text->to(torch::kDouble);
  im2text->eval();  // dropout off: the same function on every rank and in the reference
  const torch::Tensor images = torch::randn({batch, 24}, torch::kDouble);
  // "a photo of" as token rows of the tiny vocabulary: start, three words, end.
  const torch::Tensor prompt = torch::zeros({batch, 77}, torch::kLong);
  prompt.slice(1, 0, 5).copy_(torch::tensor({998, 320, 125, 539, 999}).expand({batch, 5}));
  const torch::Tensor scale = torch::tensor(100.0, torch::kDouble);
  auto loss_of = [&](const torch::Tensor& image_rows, const torch::Tensor& tokens, auto&& reduce) {
    const torch::Tensor texts =
        encode_with_pseudo_words(*text, tokens, im2text(image_rows), PseudoWordInjection::kInsertBeforeEnd, kStarToken);
    return reduce(image_rows, texts);
  };

  im2text->zero_grad();
  const torch::Tensor reference = loss_of(
      images, prompt, [&](const torch::Tensor& i, const torch::Tensor& t) { return whole_batch_loss(i, t, scale); });
  reference.backward();
  std::vector<torch::Tensor> expected;
  for (const auto& p : im2text->parameters()) expected.push_back(p.grad().clone());

  im2text->zero_grad();
  const ShardRange rows = shard_range(batch, comm.size(), comm.rank());
  const torch::Tensor loss = loss_of(
      images.slice(0, rows.begin, rows.end), prompt.slice(0, rows.begin, rows.end),
      [&](const torch::Tensor& i, const torch::Tensor& t) { return pic2word_loss_shard(comm, i, t, scale, batch); });
  loss.backward();
  EXPECT_NEAR(summed(comm, loss.item<double>()), reference.item<double>(), 1e-10);
  size_t k = 0;
  for (const auto& p : im2text->parameters()) {
    torch::Tensor grad = p.grad().clone();
    comm.all_reduce(grad, ReduceOp::Sum);
    EXPECT_TRUE(torch::allclose(grad, expected[k], 1e-8, 1e-12)) << "parameter " << k;
    EXPECT_GT(expected[k].abs().max().item<double>(), 0.0) << "parameter " << k;
    ++k;
  }
}

}  // namespace
}  // namespace spn
