#include "train/stage1_step.h"

#include <torch/torch.h>

#include "dist/autocast.h"
#include "dist/autograd_collectives.h"
#include "dist/sharding.h"
#include "models/dual_encoder_model.h"
#include "models/rtd_model.h"
#include "models/sprc_model.h"
#include "models/zero_shot_model.h"
#include "train/negative_types.h"
#include "train/pic2word_loss.h"
#include "train/rtd_stage1.h"
#include "train/sharded_adamw.h"
#include "train/sprc_loss.h"

namespace spn {
namespace {

// The model family's objective. The losses live in train/, which models/ may not see,
// so the step picks one by the model's type, once.
Stage1Step::Loss stage1_loss_of(Communicator& comm, const std::shared_ptr<CirModel>& model,
                                const Stage1Config& config) {
  if (auto sprc = std::dynamic_pointer_cast<SprcModel>(model)) {
    const SprcLossWeights weights{config.sprc_rtc_weight, config.sprc_align_weight};
    return [&comm, sprc, weights](const TripletBatch& batch, int64_t first_row, int64_t global_batch) {
      SprcLosses losses = sprc_loss_shard(comm, *sprc, batch.reference_images, batch.tokens, batch.target_images,
                                          first_row, global_batch, weights);
      return Stage1Step::LossShares{losses.total, {{"itc", losses.itc}, {"rtc", losses.rtc}, {"align", losses.align}}};
    };
  }
  if (auto rtd = std::dynamic_pointer_cast<RtdModel>(model)) {
    // RTD's text triplets (train/rtd_stage1.h).
    return [&comm, rtd](const TripletBatch& batch, int64_t first_row, int64_t global_batch) {
      return Stage1Step::LossShares{rtd_loss_shard(comm, *rtd, batch.tokens, first_row, global_batch), {}};
    };
  }
  if (auto zero_shot = std::dynamic_pointer_cast<ZeroShotModel>(model)) {
    // Pic2Word's objective on images alone: the batch's reference images and "a photo
    // of" token rows (train/image_stage1.h); there are no targets. (SEARLE's phi
    // brings its own objective: train/searle_stage1.h.)
    return [&comm, zero_shot](const TripletBatch& batch, int64_t first_row, int64_t global_batch) {
      const PseudoWordPairs pairs = zero_shot->pic2word_pairs(batch.reference_images, batch.tokens, first_row);
      return Stage1Step::LossShares{
          pic2word_loss_shard(comm, pairs.image_features, pairs.text_features, zero_shot->logit_scale(), global_batch),
          {}};
    };
  }
  if (auto dual = std::dynamic_pointer_cast<DualEncoderModel>(model)) {
    const std::vector<NegativeType> negatives = config.negatives;
    return [&comm, dual, negatives](const TripletBatch& batch, int64_t first_row, int64_t global_batch) {
      return Stage1Step::LossShares{
          negative_types_loss_shard(comm, *dual, dual->encode_target(batch.reference_images),
                                    dual->encode_text(batch.tokens), dual->encode_target(batch.target_images),
                                    first_row, global_batch, negatives),
          {}};
    };
  }
  throw std::logic_error("stage 1: no objective for this model family");
}

}  // namespace

Stage1Step::Stage1Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage1Config& config,
                       Precision precision)
    : Stage1Step(comm, model, config, precision, stage1_loss_of(comm, model, config)) {}

Stage1Step::Stage1Step(Communicator& comm, std::shared_ptr<CirModel> model, const Stage1Config& config,
                       Precision precision, Loss loss)
    : comm_(comm),
      model_(std::move(model)),
      trained_(model_->trainable_parameters()),
      loss_(std::move(loss)),
      optimizer_(make_adamw(comm, trained_, adamw_options(config.optimizer, config.lr, config.weight_decay),
                            config.shard_optimizer, model_->parameters_without_weight_decay())),
      gradient_sync_(comm, trained_, static_cast<int64_t>(config.grad_bucket_mb * (1 << 20))),
      precision_(precision),
      scaler_(precision == Precision::Fp16) {}

double Stage1Step::compute_gradients(const TripletBatch& local, int64_t global_batch) {
  optimizer_->zero_grad();
  const int64_t first_row = shard_range(global_batch, comm_.size(), comm_.rank()).begin;
  LossShares shares;
  {
    // Backward runs outside the scope, as with PyTorch AMP: its ops follow the forward's.
    const Autocast autocast(precision_, model_->device_type());
    // Batches arrive in host memory (pinned when the model is on a GPU, so the copies
    // overlap with the work already queued); no-ops on the CPU.
    // (A batch of images alone has no target images.)
    const auto on_model_device = [&](const torch::Tensor& t) {
      return t.defined() ? t.to(model_->device(), /*non_blocking=*/true) : t;
    };
    shares = loss_(TripletBatch{on_model_device(local.reference_images), on_model_device(local.tokens),
                                on_model_device(local.target_images)},
                   first_row, global_batch);
  }
  const torch::Tensor& loss = shares.total;
  gradient_sync_.begin();
  scaler_.scale_loss(loss).backward();
  gradient_sync_.finish();
  finite_gradients_ = scaler_.unscale_and_check(comm_, trained_);
  // The total and the terms summed over ranks in one message.
  std::vector<torch::Tensor> values = {loss.detach().to(torch::kDouble).reshape({1})};
  for (const auto& term : shares.terms) values.push_back(term.second.detach().to(torch::kDouble).reshape({1}));
  torch::Tensor sums = torch::cat(values).contiguous();
  comm_.all_reduce(sums, ReduceOp::Sum);
  loss_terms_.clear();
  for (size_t i = 0; i < shares.terms.size(); ++i)
    loss_terms_[shares.terms[i].first] = sums[static_cast<int64_t>(i) + 1].item<double>();
  return sums[0].item<double>();
}

StepResult Stage1Step::run(const TripletBatch& local, int64_t global_batch, double lr) {
  const double loss = compute_gradients(local, global_batch);
  StepResult result = finish_step(*optimizer_, scaler_, finite_gradients_, loss, lr);
  result.loss_terms = loss_terms_;
  return result;
}

}  // namespace spn
