#include "train/stage1_step.h"

#include <torch/torch.h>

#include "dist/autograd_collectives.h"
#include "dist/sharding.h"
#include "train/contrastive_loss.h"

namespace spn {

Stage1Step::Stage1Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage1Config& config)
    : comm_(comm),
      model_(std::move(model)),
      optimizer_(model_->parameters(),
                 torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay)),
      gradient_sync_(comm, model_->parameters(), static_cast<int64_t>(config.grad_bucket_mb * (1 << 20))) {}

double Stage1Step::compute_gradients(const TripletBatch& local, int64_t global_batch) {
  optimizer_.zero_grad();
  const torch::Tensor queries = model_->encode_query(local.reference_images, local.tokens);
  const torch::Tensor targets = all_gather_with_grad(comm_, model_->encode_target(local.target_images));
  const int64_t first_row = shard_range(global_batch, comm_.size(), comm_.rank()).begin;
  torch::Tensor loss = contrastive_loss_shard(queries, targets, first_row, global_batch, model_->logit_scale());
  loss.backward();
  gradient_sync_.all_reduce();
  torch::Tensor total = loss.detach().to(torch::kDouble).reshape({1}).contiguous();
  comm_.all_reduce(total, ReduceOp::Sum);
  return total.item<double>();
}

double Stage1Step::run(const TripletBatch& local, int64_t global_batch, double lr) {
  const double loss = compute_gradients(local, global_batch);
  for (auto& group : optimizer_.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  optimizer_.step();
  return loss;
}

}  // namespace spn
