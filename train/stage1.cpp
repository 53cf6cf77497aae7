#include "train/stage1.h"

#include <stdexcept>

#include "train/checkpoint.h"
#include "train/stage1_step.h"
#include "train/step_images.h"

namespace spn {

TrainingSummary train_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, bool show_progress, Stage stage,
                             const Evaluator& evaluate) {
  constexpr uint64_t kBatchOrderStream = 101;  // seed stream of the stage-1 batch order
  const Stage1Config& cfg = config.stage1;
  Stage1Step step(comm, model, cfg, config.precision);
  LoopSettings settings = loop_settings_for(Stage::Stage1, cfg, config, data.size(), kBatchOrderStream);
  settings.stage = stage;
  const auto pixels = step_images(
      comm, settings, data.images, [&](const std::vector<int64_t>& local) { return data.images_of(local); },
      loader_options_of(config.data, model->device_type() == c10::kCUDA), image_augment_of(config.data));
  return train_keeping_best_epoch(comm, config, run, *model, stage, evaluate, [&](const EpochHook& after_epoch) {
    return run_training_loop(
        comm, run, settings, *model, step.optimizer(), step.scaler(),
        [&](int64_t s, const std::vector<int64_t>&, const std::vector<int64_t>& local, double lr) {
          return step.run(data.batch(pixels->take(s), local, s), cfg.batch_size, lr);
        },
        show_progress, after_epoch);
  });
}

bool stage1_keeps_best_epoch(const ExperimentConfig& config, Stage stage) {
  return stage == Stage::Stage1 && config.stage1.eval_every_epoch && config.stage1.epochs > 0;
}

TrainingSummary train_keeping_best_epoch(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                         CirModel& model, Stage stage, const Evaluator& evaluate,
                                         const std::function<TrainingSummary(const EpochHook&)>& train) {
  if (!stage1_keeps_best_epoch(config, stage)) return train(EpochHook{});
  if (!evaluate) throw std::logic_error("stage 1: stage1.eval_every_epoch needs an evaluator");
  BestCheckpoint best(comm, run.checkpoints_dir(), stage, config.stage1.select_metric);
  const TrainingSummary summary = train(keep_best_epoch(run, best, model, stage, config.eval.split, evaluate));
  run.record_result(stage, "best_epoch", best.record());
  load_checkpoint(best.weights_path(), model, nullptr);
  return summary;
}

}  // namespace spn
