#pragma once
// Stage 1 of RTD (model.family = "rtd"): the text tower's copy trains on text triplets
// alone, no images. Each step takes a global batch of the triplets in the stage's
// world-size-invariant order; each rank tokenizes its slice into RTD's four rows per
// triplet (models/rtd_model.h) and the NT-Xent at [rtd].temperature, gathered across
// ranks (nt_xent_loss_shard in train/nt_xent_loss.h), goes through Stage1Step: AdamW from [stage1], the
// learning-rate schedule, checkpoints, resume, metrics and the stop agreement of the
// other stage-1 trainers.
#include <memory>
#include <vector>

#include "config/experiment_config.h"
#include "data/text_triplets.h"
#include "dist/communicator.h"
#include "models/cir_model.h"
#include "models/zero_shot_tokenizer.h"
#include "track/run_record.h"
#include "train/best_checkpoint.h"
#include "train/training_loop.h"

namespace spn {

class RtdModel;

// The [B, 4, L] token rows of `triplets` (L = `context`): "a photo of $ that
// {condition}" (truncated at the end, so `$` survives), "a photo of $", and the
// reference and target captions cleaned as RTD cleans them (lower case, `$` removed).
torch::Tensor rtd_token_rows(const ComposedPromptTokenizer& tokenizer, const std::vector<TextTriplet>& triplets,
                             int64_t context);

// RTD's objective for this rank's triplets (its [b, 4, L] token rows; its first is
// triplet `first_triplet` of `triplets`): its share of the NT-Xent at [rtd].temperature
// over every rank's 2 * `triplets` (query, target) pairs. `noise` as in
// RtdModel::rtd_features.
torch::Tensor rtd_loss_shard(Communicator& comm, RtdModel& model, const torch::Tensor& tokens, int64_t first_triplet,
                             int64_t triplets, const torch::Tensor& noise = {});

// Resumes from the run's newest checkpoint of stage 1; writes checkpoints/stage1-final.pt.
// With stage1.eval_every_epoch, `evaluate` runs after each epoch and the best epoch by
// stage1.select_metric is kept, as RTD keeps its best step by CIRR val R@1
// (train_keeping_best_epoch); `model` then holds that epoch's weights on return.
TrainingSummary train_on_text_triplets(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                       std::shared_ptr<CirModel> model, const std::vector<TextTriplet>& triplets,
                                       const ComposedPromptTokenizer& tokenizer, bool show_progress,
                                       const Evaluator& evaluate = {});

}  // namespace spn
