#include "train/stage2_step.h"

#include <torch/torch.h>

#include "dist/autocast.h"
#include "dist/autograd_collectives.h"
#include "dist/sharding.h"
#include "train/sharded_adamw.h"

namespace spn {
namespace {

constexpr int64_t kGradientBucketBytes = 16 << 20;

// The targets of queries `rows`: their own positives and ignore lists, and the
// candidates, which every query shares.
SoftmaxTargets slice(const SoftmaxTargets& targets, const ShardRange& rows) {
  SoftmaxTargets part;
  part.positives.assign(targets.positives.begin() + rows.begin, targets.positives.begin() + rows.end);
  if (!targets.ignored.empty())
    part.ignored.assign(targets.ignored.begin() + rows.begin, targets.ignored.begin() + rows.end);
  part.candidates = targets.candidates;
  return part;
}

// The model readied for stage 2 before its query-side parameters are read (SPRC makes
// them then: models/sprc_model.h).
std::shared_ptr<CirModel> frozen_for_stage2(std::shared_ptr<CirModel> model) {
  model->freeze_target_side();
  return model;
}

}  // namespace

Stage2Step::Stage2Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage2Config& config,
                       CandidateBank bank, Precision precision)
    : comm_(comm),
      this_process_(make_local_communicator()),
      model_(frozen_for_stage2(std::move(model))),
      chunk_(config.chunk),
      multi_positive_(config.multi_positive),
      bank_(std::move(bank)),
      optimizer_(make_adamw(comm, model_->query_side_parameters(),
                            adamw_options(config.optimizer, config.lr, config.weight_decay), config.shard_optimizer)),
      gradient_sync_(comm, model_->query_side_parameters(), kGradientBucketBytes),
      precision_(precision),
      scaler_(precision == Precision::Fp16) {}

torch::Tensor Stage2Step::sharded_loss(const torch::Tensor& local_queries, const SoftmaxTargets& targets) {
  // Every rank gets the full loss; each backward adds its shard's gradient term.
  return distributed_softmax_cross_entropy(comm_, all_gather_with_grad(comm_, local_queries), model_->logit_scale(),
                                           bank_.shard, bank_.begin, targets, multi_positive_, chunk_);
}

torch::Tensor Stage2Step::replicated_loss(const torch::Tensor& local_queries, const SoftmaxTargets& targets) {
  const int64_t batch = static_cast<int64_t>(targets.positives.size());
  const ShardRange mine = shard_range(batch, comm_.size(), comm_.rank());
  if (mine.size() == 0) return torch::zeros({}, local_queries.options());
  // Loss scaling (docs/architecture.md): this rank's share of the global mean is its local
  // mean times local/global queries, so the gradients summed over ranks are those of the
  // global mean.
  const torch::Tensor local_mean =
      distributed_softmax_cross_entropy(*this_process_, local_queries, model_->logit_scale(), bank_.shard, 0,
                                        slice(targets, mine), multi_positive_, chunk_);
  return local_mean * (static_cast<double>(mine.size()) / static_cast<double>(batch));
}

double Stage2Step::compute_gradients(const torch::Tensor& local_reference_rows, const torch::Tensor& local_tokens,
                                     const SoftmaxTargets& targets) {
  optimizer_->zero_grad();
  const int64_t first_row =
      shard_range(static_cast<int64_t>(targets.positives.size()), comm_.size(), comm_.rank()).begin;
  torch::Tensor local_queries;
  {
    const Autocast autocast(precision_, model_->device_type());
    local_queries = model_->encode_query_from_reference_row(local_reference_rows.to(model_->device(), true),
                                                            local_tokens.to(model_->device(), true), first_row);
  }
  torch::Tensor loss =
      bank_.replicated ? replicated_loss(local_queries, targets) : sharded_loss(local_queries, targets);
  gradient_sync_.begin();
  if (loss.requires_grad()) scaler_.scale_loss(loss).backward();
  gradient_sync_.finish();
  finite_gradients_ = scaler_.unscale_and_check(comm_, model_->query_side_parameters());
  torch::Tensor value = loss.detach().to(torch::kDouble).reshape({1});
  if (bank_.replicated) comm_.all_reduce(value, ReduceOp::Sum);  // the shares add up to the global mean
  return value.item<double>();
}

StepResult Stage2Step::run(const torch::Tensor& local_reference_rows, const torch::Tensor& local_tokens,
                           const SoftmaxTargets& targets, double lr) {
  const double loss = compute_gradients(local_reference_rows, local_tokens, targets);
  return finish_step(*optimizer_, scaler_, finite_gradients_, loss, lr);
}

}  // namespace spn
