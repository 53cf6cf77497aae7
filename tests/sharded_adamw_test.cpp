// ZeRO-1 (ShardedAdamW) on 1/2/3 ranks: the parameters after several steps against
// unsharded AdamW in one process, the slices it keeps, and checkpoints that resume on
// the same and on another number of ranks, or are refused by an optimizer of the other
// kind.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "dist/sharding.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"
#include "train/checkpoint.h"
#include "train/sharded_adamw.h"

namespace spn {
namespace {

using testing::world;

// 85 elements in all (W = 2 and 3 do not divide it; slices cut through parameters).
std::vector<torch::Tensor> seeded_parameters() {
  torch::manual_seed(9);
  std::vector<torch::Tensor> p;
  for (const auto& shape : std::vector<std::vector<int64_t>>{{6, 5}, {6}, {4, 6}, {4}, {4, 4}, {2}, {3}})
    p.push_back(torch::randn(shape, torch::kDouble).set_requires_grad(true));
  return p;
}

// The gradient of step s, the same on every rank (as after gradient sync).
void set_gradients(std::vector<torch::Tensor>& parameters, int step) {
  torch::manual_seed(1000 + step);
  for (auto& p : parameters) p.mutable_grad() = torch::randn_like(p);
}

const torch::optim::AdamWOptions kOptions = torch::optim::AdamWOptions(3e-2).weight_decay(0.1);

TEST(DistShardedAdamW, SameParametersAsUnshardedAdamW) {
  Communicator& comm = world();
  auto sharded_parameters = seeded_parameters(), parameters = seeded_parameters();
  ShardedAdamW sharded(comm, sharded_parameters, kOptions);
  torch::optim::AdamW reference(parameters, kOptions);
  for (int s = 0; s < 6; ++s) {
    set_gradients(sharded_parameters, s);
    set_gradients(parameters, s);
    const double lr = 3e-2 * (1 - s / 10.0);  // as the schedule changes it
    for (auto* optimizer : std::initializer_list<torch::optim::Optimizer*>{&sharded, &reference})
      optimizer->param_groups()[0].options().set_lr(lr);
    sharded.step();
    reference.step();
  }
  // Element-wise the same arithmetic: only the last bits may differ (vectorised loops
  // split at other elements), so 1e-14 of the largest parameter.
  for (size_t i = 0; i < parameters.size(); ++i)
    EXPECT_LE((sharded_parameters[i] - parameters[i]).abs().max().item<double>(),
              1e-14 * parameters[i].abs().max().item<double>())
        << "parameter " << i << ", W=" << comm.size();
  EXPECT_FALSE(torch::equal(parameters[0], seeded_parameters()[0]));  // it moved

  // The slices tile the 85 elements in rank order; this rank's state is its slice of
  // the two moments, 2 x 85 unsharded.
  EXPECT_EQ(sharded.total_elements(), 85);
  const std::vector<int64_t> begins = comm.all_gather_int(sharded.slice().begin);
  const std::vector<int64_t> ends = comm.all_gather_int(sharded.slice().end);
  EXPECT_EQ(begins.front(), 0);
  EXPECT_EQ(ends.back(), 85);
  for (size_t r = 1; r < begins.size(); ++r) EXPECT_EQ(begins[r], ends[r - 1]);
  EXPECT_EQ(sharded.state_bytes(), 2 * sharded.slice().size() * 8);
  EXPECT_EQ(sharded.unsharded_state_bytes(), 2 * 85 * 8);
}

std::shared_ptr<CirModel> tiny_model() {
  torch::manual_seed(4);
  auto model = make_cir_model(testing::tiny_config(), testing::kTestVocab);
  model->to(torch::kDouble);
  return model;
}

// Steps [from, to) of a fixed gradient sequence (the same on every rank).
void run_steps(CirModel& model, torch::optim::Optimizer& optimizer, int from, int to) {
  auto parameters = model.parameters();
  for (int s = from; s < to; ++s) {
    set_gradients(parameters, s);
    optimizer.step();
  }
}

void expect_same_parameters(CirModel& model, CirModel& expected, const std::string& what) {
  const auto named = expected.named_parameters();
  for (const auto& item : model.named_parameters())
    EXPECT_LE((item.value() - named[item.key()]).abs().max().item<double>(),
              1e-12 * (named[item.key()].abs().max().item<double>() + 1))
        << item.key() << " (" << what << ", W=" << world().size() << ")";
}

// Saved on W ranks after 3 steps, resumed on W ranks and in one process: 2 more steps
// give what 5 uninterrupted steps of unsharded AdamW give.
TEST(DistShardedAdamW, CheckpointResumesOnAnyNumberOfRanks) {
  Communicator& comm = world();
  const std::filesystem::path dir = testing::shared_temp_dir(comm, "sharded-adamw");
  const std::filesystem::path path = dir / "stage1-step0000003.pt";
  auto model = tiny_model();
  ShardedAdamW optimizer(comm, model->parameters(), kOptions);
  run_steps(*model, optimizer, 0, 3);
  {
    const GatheredOptimizerState whole(optimizer);
    if (comm.rank() == 0) save_checkpoint(path, *model, &optimizer, {3, 0.5});
  }
  comm.barrier();

  auto reference = tiny_model();
  torch::optim::AdamW unsharded(reference->parameters(), kOptions);
  run_steps(*reference, unsharded, 0, 5);

  auto local = make_local_communicator();
  for (Communicator* resumed_on : {&comm, local.get()}) {
    auto resumed = tiny_model();
    ShardedAdamW resumed_optimizer(*resumed_on, resumed->parameters(), kOptions);
    EXPECT_EQ(load_checkpoint(path, *resumed, &resumed_optimizer).steps_done, 3);
    run_steps(*resumed, resumed_optimizer, 3, 5);
    expect_same_parameters(*resumed, *reference, "resumed on " + std::to_string(resumed_on->size()) + " rank(s)");
  }
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}

// An optimizer of the other kind refuses a checkpoint, naming the file and the key.
TEST(DistShardedAdamW, CheckpointOfTheOtherKindIsRefused) {
  Communicator& comm = world();
  const std::filesystem::path dir = testing::shared_temp_dir(comm, "sharded-adamw-kind");
  auto model = tiny_model();
  ShardedAdamW sharded(comm, model->parameters(), kOptions);
  torch::optim::AdamW unsharded(model->parameters(), kOptions);
  run_steps(*model, sharded, 0, 1);
  run_steps(*model, unsharded, 1, 2);
  {
    const GatheredOptimizerState whole(sharded);
    if (comm.rank() == 0) {
      save_checkpoint(dir / "sharded.pt", *model, &sharded, {1});
      save_checkpoint(dir / "unsharded.pt", *model, &unsharded, {2});
    }
  }
  comm.barrier();
  const auto expect_refused = [&](const std::string& file, torch::optim::Optimizer& optimizer,
                                  const std::string& advice) {
    try {
      load_checkpoint(dir / file, *model, &optimizer);
      ADD_FAILURE() << file << " was loaded";
    } catch (const UserError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(file), std::string::npos) << message;
      EXPECT_NE(message.find(advice), std::string::npos) << message;
    }
  };
  expect_refused("sharded.pt", unsharded, "shard_optimizer = true");
  expect_refused("unsharded.pt", sharded, "shard_optimizer = false");
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spn
