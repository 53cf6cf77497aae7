#include "train/stage2_step.h"

#include <torch/torch.h>

#include "dist/autograd_collectives.h"

namespace spn {
namespace {

constexpr int64_t kGradientBucketBytes = 16 << 20;

}  // namespace

Stage2Step::Stage2Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage2Config& config,
                       torch::Tensor bank_shard, int64_t shard_begin)
    : comm_(comm),
      model_(std::move(model)),
      chunk_(config.chunk),
      bank_shard_(std::move(bank_shard)),
      shard_begin_(shard_begin),
      optimizer_(model_->query_side_parameters(),
                 torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay)),
      gradient_sync_(comm, model_->query_side_parameters(), kGradientBucketBytes) {
  model_->freeze_target_side();
}

double Stage2Step::compute_gradients(const torch::Tensor& local_reference_features, const torch::Tensor& local_tokens,
                                     const SoftmaxTargets& targets) {
  optimizer_.zero_grad();
  const torch::Tensor queries =
      all_gather_with_grad(comm_, model_->encode_query_from_features(local_reference_features, local_tokens));
  // Every rank gets the full loss; each backward adds its shard's gradient term.
  torch::Tensor loss = distributed_softmax_cross_entropy(comm_, queries, model_->logit_scale(), bank_shard_,
                                                         shard_begin_, targets, MultiPositive::LogSumExp, chunk_);
  loss.backward();
  gradient_sync_.all_reduce();
  return loss.item<double>();
}

double Stage2Step::run(const torch::Tensor& local_reference_features, const torch::Tensor& local_tokens,
                       const SoftmaxTargets& targets, double lr) {
  const double loss = compute_gradients(local_reference_features, local_tokens, targets);
  for (auto& group : optimizer_.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  optimizer_.step();
  return loss;
}

}  // namespace spn
