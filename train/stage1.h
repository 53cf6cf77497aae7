#pragma once
#include <functional>
#include <memory>

#include "config/experiment_config.h"
#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/best_checkpoint.h"
#include "train/training_loop.h"
#include "train/triplet_data.h"

namespace spn {

// Stage 1: joint training of the query and target sides with InfoNCE over the global
// batch, targets all-gathered across ranks (see Stage1Step). Resumes from the run's
// newest checkpoint of `stage`; writes checkpoints/<stage>-final.pt. `stage` names the
// checkpoints and metric lines: "stage1", or "mining-encoder" for the encoder that
// positives.warmup_encoder trains with stage 1's settings. With stage1.eval_every_epoch
// (stage "stage1" only), `evaluate` runs after each epoch and the best epoch by
// stage1.select_metric is kept (BestCheckpoint, checkpoints/stage1-best.pt); `model` then
// holds that epoch's weights on return.
TrainingSummary train_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, bool show_progress,
                             Stage stage = Stage::Stage1, const Evaluator& evaluate = {});

// Whether stage `stage` keeps its best epoch: stage 1 with stage1.eval_every_epoch and epochs.
bool stage1_keeps_best_epoch(const ExperimentConfig& config, Stage stage);

// A stage-1 trainer's loop, `train(after_epoch)`, with the end-of-epoch hook that keeps
// the best epoch when stage1_keeps_best_epoch (an empty hook otherwise); then records
// stage1.best_epoch in results and loads the kept weights into `model`. Shared by the
// trainers that select (the triplet trainer, RTD's and the image trainers of Pic2Word and SEARLE).
TrainingSummary train_keeping_best_epoch(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                         CirModel& model, Stage stage, const Evaluator& evaluate,
                                         const std::function<TrainingSummary(const EpochHook&)>& train);

}  // namespace spn
