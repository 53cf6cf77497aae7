#include "train/stage1.h"

#include <optional>
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
  const bool keeps_best = stage1_keeps_best_epoch(config, stage);
  if (keeps_best && !evaluate) throw std::logic_error("train_stage1: stage1.eval_every_epoch needs an evaluator");
  std::optional<BestCheckpoint> best;
  if (keeps_best) best.emplace(comm, run.checkpoints_dir(), stage, cfg.select_metric);
  const EpochHook after_epoch =
      keeps_best ? keep_best_epoch(run, *best, *model, stage, config.eval.split, evaluate) : EpochHook{};
  const TrainingSummary summary = run_training_loop(
      comm, run, settings, *model, step.optimizer(), step.scaler(),
      [&](int64_t s, const std::vector<int64_t>&, const std::vector<int64_t>& local, double lr) {
        return step.run(data.batch(pixels->take(s), local, s), cfg.batch_size, lr);
      },
      show_progress, after_epoch);
  if (keeps_best) {
    run.record_result(stage, "best_epoch", best->record());
    load_checkpoint(best->weights_path(), *model, nullptr);
  }
  return summary;
}

bool stage1_keeps_best_epoch(const ExperimentConfig& config, Stage stage) {
  return stage == Stage::Stage1 && config.stage1.eval_every_epoch && config.stage1.epochs > 0;
}

}  // namespace spn
