#pragma once
// The loop every training stage shares: the world-size-invariant batch order, the
// learning-rate schedule, resume from the newest checkpoint of the stage, metrics
// lines, periodic and end-of-epoch checkpoints, progress. A stage supplies the step.
#include <torch/optim/optimizer.h>

#include <functional>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "core/hash.h"
#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/loss_scaler.h"
#include "train/step_result.h"

namespace spn {

struct LoopSettings {
  Stage stage = Stage::Stage1;  // checkpoint prefix and metrics tag
  int64_t items = 0;            // training examples
  int64_t batch_size = 0;       // global
  std::string batch_size_key;   // where the batch size was set, for the error message
  int64_t epochs = 0;
  double lr = 0;
  OptimizerConfig optimizer;  // the schedule and AdamW keys of the stage
  int64_t checkpoint_every = 0;
  int64_t log_every = 0;
  uint64_t order_seed = 0;
};

struct TrainingSummary {
  int64_t steps = 0;
  int64_t steps_this_attempt = 0;
  double seconds = 0;             // wall time of the steps run by this attempt
  double samples_per_second = 0;  // global samples per second in this attempt
  double final_loss = 0;
};

// The loop settings of a stage from its config section ([stage1] or [stage2] share
// these key names); the batch order is seed stream `order_stream` of the experiment seed.
template <class StageConfig>
LoopSettings loop_settings_for(Stage stage, const StageConfig& section, const ExperimentConfig& config, int64_t items,
                               uint64_t order_stream) {
  LoopSettings settings;
  settings.stage = stage;
  settings.items = items;
  settings.batch_size = section.batch_size;
  settings.batch_size_key = config.where(stage_name(stage) + std::string(".batch_size"));
  settings.epochs = section.epochs;
  settings.lr = section.lr;
  settings.optimizer = section.optimizer;
  settings.checkpoint_every = section.checkpoint_every;
  settings.log_every = section.log_every;
  settings.order_seed = mix_seed(static_cast<uint64_t>(config.seed), order_stream);
  return settings;
}

// `step(step_index, global_batch, this_rank_rows, lr)` runs one optimisation step (the
// index seeds per-step draws, e.g. of FashionIQ's texts) and returns the mean loss of
// the global batch and whether fp16 loss scaling skipped the update
// (train/divergence_guard.h says when a run has diverged; skipped steps do not count
// towards the logged loss). Writes checkpoints/<stage>-final.pt at the end.
using TrainingStep =
    std::function<StepResult(int64_t, const std::vector<int64_t>&, const std::vector<int64_t>&, double)>;

// `on_epoch_end(epoch, step)` (optional; every rank) runs after each epoch's last step
// and before that epoch's checkpoint, so a run killed inside it redoes the epoch.
using EpochHook = std::function<void(int64_t, int64_t)>;

// `scaler` is the step's fp16 loss scaler (a disabled one otherwise): checkpoints keep
// its state and a resumed run restores it.
TrainingSummary run_training_loop(Communicator& comm, RunRecord& run, const LoopSettings& settings, CirModel& model,
                                  torch::optim::Optimizer& optimizer, LossScaler& scaler, const TrainingStep& step,
                                  bool show_progress, const EpochHook& on_epoch_end = {});

}  // namespace spn
