// Gradient sync overlapped with backward (buckets all-reduced from gradient hooks while
// backward still runs collectives of its own) against a single-process reference and
// against a sum of every gradient after backward, on a small net whose parameters
// include one that no rank uses and one that only rank 0 uses.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "dist/autograd_collectives.h"
#include "dist/gradient_sync.h"
#include "dist/sharding.h"
#include "test_world.h"

namespace spn {
namespace {

using testing::world;

constexpr int64_t kBatch = 7;  // uneven shards for 2 and 3 ranks

struct TinyNet {
  // In the order a model lists them; backward produces the last ones' gradients first.
  std::vector<torch::Tensor> parameters;
  torch::Tensor &w1, &b1, &w2, &b2, &w3, &only_row0, &unused;

  TinyNet()
      : parameters(make()),
        w1(parameters[0]),
        b1(parameters[1]),
        w2(parameters[2]),
        b2(parameters[3]),
        w3(parameters[4]),
        only_row0(parameters[5]),
        unused(parameters[6]) {}

  static std::vector<torch::Tensor> make() {
    torch::manual_seed(5);
    std::vector<torch::Tensor> p = {torch::randn({6, 5}), torch::randn({6}), torch::randn({4, 6}), torch::randn({4}),
                                    torch::randn({4, 4}), torch::randn({2}), torch::randn({3})};
    for (auto& t : p) t = t.to(torch::kDouble).set_requires_grad(true);
    return p;
  }

  // This rank's share of the global loss: its rows scored against every rank's rows
  // (gathered with gradient, so backward runs a reduce-scatter of its own), over the
  // global batch; the row of global index 0 alone uses `only_row0`.
  torch::Tensor local_loss(Communicator& comm, const torch::Tensor& inputs) {
    const ShardRange mine = shard_range(kBatch, comm.size(), comm.rank());
    const torch::Tensor x = inputs.narrow(0, mine.begin, mine.size());
    const torch::Tensor g = torch::tanh(torch::tanh(x.matmul(w1.t()) + b1).matmul(w2.t()) + b2);
    const torch::Tensor all = all_gather_with_grad(comm, g.contiguous());
    torch::Tensor loss = g.matmul(w3).matmul(all.t()).sum() / kBatch;
    if (mine.begin == 0 && mine.size() > 0) loss = loss + (only_row0 * g[0].narrow(0, 0, 2)).sum();
    return loss;
  }
};

torch::Tensor inputs_of_step(int step) {
  torch::manual_seed(100 + step);
  return torch::randn({kBatch, 5}, torch::kDouble);
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double relative,
                  const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what;
  const double scale = expected.abs().max().item<double>() + 1e-300;
  EXPECT_LE((actual - expected).abs().max().item<double>(), relative * scale) << what << " W=" << world().size();
}

// Each step on fresh gradients: the overlapped sums against one process running the
// whole batch and against every gradient summed over ranks after backward, with
// buckets of one parameter each, of a few, and one for all.
TEST(DistGradientSync, OverlappedSumsEqualSingleProcessAndPostBackwardSums) {
  Communicator& comm = world();
  auto local = make_local_communicator();
  for (const int64_t bucket_bytes : {int64_t{8}, int64_t{200}, int64_t{1} << 20}) {
    TinyNet net, after, reference;
    GradientSync sync(comm, net.parameters, bucket_bytes);
    for (int step = 0; step < 3; ++step) {  // the buffers and hooks serve step after step
      SCOPED_TRACE("bucket_bytes " + std::to_string(bucket_bytes) + ", step " + std::to_string(step));
      const torch::Tensor inputs = inputs_of_step(step);
      for (TinyNet* n : {&net, &after, &reference})
        for (auto& p : n->parameters) p.mutable_grad().reset();

      sync.begin();
      net.local_loss(comm, inputs).backward();
      sync.finish();

      after.local_loss(comm, inputs).backward();  // the old way: sum each gradient afterwards
      for (auto& p : after.parameters) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        comm.all_reduce(p.mutable_grad(), ReduceOp::Sum);
      }
      reference.local_loss(*local, inputs).backward();

      for (size_t i = 0; i + 1 < net.parameters.size(); ++i) {
        expect_close(net.parameters[i].grad(), after.parameters[i].grad(), 1e-14, "post-backward " + std::to_string(i));
        expect_close(net.parameters[i].grad(), reference.parameters[i].grad(), 1e-12, "reference " + std::to_string(i));
      }
      // No rank used it: zeros where ranks summed, none in one process.
      if (comm.size() > 1)
        EXPECT_TRUE(torch::equal(net.unused.grad(), torch::zeros_like(net.unused)));
      else
        EXPECT_FALSE(net.unused.grad().defined());
    }
    if (bucket_bytes == 8) EXPECT_EQ(sync.bucket_count(), net.parameters.size());
    if (bucket_bytes == int64_t{1} << 20) EXPECT_EQ(sync.bucket_count(), 1u);
  }
}

// A backward outside begin()..finish() is no step of the sync: its gradients stay this
// rank's own.
TEST(DistGradientSync, BackwardOutsideAStepIsLeftAlone) {
  Communicator& comm = world();
  TinyNet net, alone;
  GradientSync sync(comm, net.parameters, 200);
  const torch::Tensor inputs = inputs_of_step(0);
  net.local_loss(comm, inputs).backward();
  alone.local_loss(comm, inputs).backward();
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(torch::equal(net.parameters[i].grad(), alone.parameters[i].grad())) << i;
}

// Gradient accumulation would add to a gradient whose bucket may be on the wire already:
// a second gradient for one parameter in one step is refused. (The second parameter has
// none in the first backward, so its bucket never leaves: nothing is left in flight.)
TEST(DistGradientSync, SecondGradientInOneStepIsRefused) {
  Communicator& comm = world();
  if (comm.size() == 1) GTEST_SKIP() << "one rank sums nothing and arms no hooks";
  std::vector<torch::Tensor> parameters = {torch::ones({3}, torch::kDouble).set_requires_grad(true),
                                           torch::ones({2}, torch::kDouble).set_requires_grad(true)};
  GradientSync sync(comm, parameters, 1 << 20);
  sync.begin();
  (parameters[0] * 2).sum().backward();
  try {
    (parameters[0] * 3).sum().backward();
    ADD_FAILURE() << "the second backward was accepted";
  } catch (const std::exception& error) {
    EXPECT_NE(std::string(error.what()).find("twice in one step"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace spn
