#pragma once
// AdamW with its state sharded across ranks (ZeRO stage 1; `shard_optimizer` of
// [stage1] and [stage2]). The parameters, flattened in order into one vector of N
// elements, are cut into W contiguous slices (shard_range: uneven when W does not
// divide N, a slice may cut through a parameter). Each rank keeps AdamW's two moments
// for its own slice only, applies AdamW's update in place to the parameters' elements
// of its slice with the slice of the (already summed) gradients, and the updated slices
// are all-gathered into every rank's parameters. AdamW is element-wise (one step count
// for all parameters, which every step updates, since gradient sync gives every
// parameter a gradient), so the updates are torch::optim::AdamW's, with 1/W of its
// state per rank.
//
// Gradients stay all-reduced (dist/gradient_sync.h) rather than reduce-scattered:
// fp16 loss scaling and the divergence guard inspect every gradient after the sum.
//
// Checkpoints hold the whole state, gathered on every rank by gather_state() (a
// collective; the training loop runs it before rank 0 saves), so a checkpoint resumes
// on any number of ranks. A checkpoint whose optimizer state is unsharded cannot be
// loaded into this optimizer, nor the reverse (a UserError naming the key).
#include <torch/optim/adamw.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <vector>

#include "config/optimizer_config.h"
#include "dist/communicator.h"
#include "dist/sharding.h"

namespace spn {

class ShardedAdamW : public torch::optim::Optimizer {
 public:
  // All parameters of one dtype.
  ShardedAdamW(Communicator& comm, std::vector<torch::Tensor> parameters, const torch::optim::AdamWOptions& options);

  // Updates this rank's slice, then all-gathers the parameters. A collective. The
  // learning rate is that of param_groups()[0] (set by the training step).
  torch::Tensor step(LossClosure closure = nullptr) override;

  // The whole state on every rank, for save(); release_gathered_state() drops it.
  void gather_state();
  void release_gathered_state();
  void save(torch::serialize::OutputArchive& archive) const override;
  // Takes this rank's slice of a whole saved state.
  void load(torch::serialize::InputArchive& archive) override;

  // Bytes of optimizer state this rank holds (the moments of its slice), and what
  // unsharded AdamW holds on every rank (the moments of every parameter).
  int64_t state_bytes() const;
  int64_t unsharded_state_bytes() const;
  int64_t total_elements() const { return total_; }
  ShardRange slice() const { return slice_; }

 private:
  // The elements of this rank's slice of `part(parameter)`, concatenated.
  at::Tensor flat_slice_of(const std::function<at::Tensor(const torch::Tensor&)>& part) const;

  Communicator& comm_;
  std::vector<torch::Tensor> parameters_;
  std::vector<int64_t> offsets_;  // of each parameter in the flattened vector
  int64_t total_ = 0;
  ShardRange slice_;
  torch::Tensor exp_avg_, exp_avg_sq_;  // this rank's slice of AdamW's moments
  int64_t steps_ = 0;
  torch::Tensor gathered_exp_avg_, gathered_exp_avg_sq_;
};

// Whether an optimizer archive holds a sharded (ZeRO-1) state.
bool is_sharded_adamw_archive(torch::serialize::InputArchive& archive);

// The step's optimizer: ShardedAdamW when `sharded`, else FusedAdamW. Parameters also
// in `without_weight_decay` form a second group with weight decay 0 (not with
// `sharded`: ShardedAdamW has one set of options, and the configs refuse the pair).
std::unique_ptr<torch::optim::Optimizer> make_adamw(Communicator& comm, std::vector<torch::Tensor> parameters,
                                                    const torch::optim::AdamWOptions& options, bool sharded,
                                                    const std::vector<torch::Tensor>& without_weight_decay = {});

// AdamW's options from a stage's keys (config/optimizer_config.h).
torch::optim::AdamWOptions adamw_options(const OptimizerConfig& optimizer, double lr, double weight_decay);

// Sets beta1 in every parameter group of an optimizer made by make_adamw (a schedule that
// moves it, train/lr_schedule.h); both optimizers read their options at each step.
void set_adamw_beta1(torch::optim::Optimizer& optimizer, double beta1);

// While alive, a ShardedAdamW's whole state is gathered for a checkpoint (nothing for
// another optimizer). A collective: every rank constructs it, whichever rank saves.
class GatheredOptimizerState {
 public:
  explicit GatheredOptimizerState(torch::optim::Optimizer& optimizer);
  ~GatheredOptimizerState();
  GatheredOptimizerState(const GatheredOptimizerState&) = delete;
  GatheredOptimizerState& operator=(const GatheredOptimizerState&) = delete;

 private:
  ShardedAdamW* sharded_;
};

}  // namespace spn
