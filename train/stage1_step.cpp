#include "train/stage1_step.h"

#include <torch/torch.h>

#include "dist/autocast.h"
#include "dist/autograd_collectives.h"
#include "dist/sharding.h"
#include "train/negative_types.h"
#include "train/sharded_adamw.h"

namespace spn {

Stage1Step::Stage1Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage1Config& config,
                       Precision precision)
    : comm_(comm),
      model_(std::move(model)),
      optimizer_(make_adamw(comm, model_->parameters(),
                            torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay),
                            config.shard_optimizer)),
      gradient_sync_(comm, model_->parameters(), static_cast<int64_t>(config.grad_bucket_mb * (1 << 20))),
      negatives_(config.negatives),
      precision_(precision),
      scaler_(precision == Precision::Fp16) {}

double Stage1Step::compute_gradients(const TripletBatch& local, int64_t global_batch) {
  optimizer_->zero_grad();
  const int64_t first_row = shard_range(global_batch, comm_.size(), comm_.rank()).begin;
  torch::Tensor loss;
  {
    // Backward runs outside the scope, as with PyTorch AMP: its ops follow the forward's.
    const Autocast autocast(precision_, model_->device_type());
    // Batches arrive in host memory (pinned when the model is on a GPU, so the copies
    // overlap with the work already queued); no-ops on the CPU.
    const auto on_model_device = [&](const torch::Tensor& t) { return t.to(model_->device(), /*non_blocking=*/true); };
    loss = negative_types_loss_shard(comm_, *model_, model_->encode_target(on_model_device(local.reference_images)),
                                     model_->encode_text(on_model_device(local.tokens)),
                                     model_->encode_target(on_model_device(local.target_images)), first_row,
                                     global_batch, negatives_);
  }
  gradient_sync_.begin();
  scaler_.scale_loss(loss).backward();
  gradient_sync_.finish();
  finite_gradients_ = scaler_.unscale_and_check(comm_, model_->parameters());
  torch::Tensor total = loss.detach().to(torch::kDouble).reshape({1}).contiguous();
  comm_.all_reduce(total, ReduceOp::Sum);
  return total.item<double>();
}

StepResult Stage1Step::run(const TripletBatch& local, int64_t global_batch, double lr) {
  const double loss = compute_gradients(local, global_batch);
  return finish_step(*optimizer_, scaler_, finite_gradients_, loss, lr);
}

}  // namespace spn
