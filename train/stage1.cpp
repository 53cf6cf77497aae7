#include "train/stage1.h"

#include "core/hash.h"
#include "train/stage1_step.h"

namespace spn {

TrainingSummary train_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, bool show_progress) {
  constexpr uint64_t kBatchOrderStream = 101;  // seed stream of the stage-1 batch order
  const Stage1Config& cfg = config.stage1;
  Stage1Step step(comm, model, cfg);
  LoopSettings settings;
  settings.stage = "stage1";
  settings.items = data.size();
  settings.batch_size = cfg.batch_size;
  settings.batch_size_key = config.where("stage1.batch_size");
  settings.epochs = cfg.epochs;
  settings.lr = cfg.lr;
  settings.checkpoint_every = cfg.checkpoint_every;
  settings.log_every = cfg.log_every;
  settings.order_seed = mix_seed(static_cast<uint64_t>(config.seed), kBatchOrderStream);
  return run_training_loop(
      comm, run, settings, *model, step.optimizer(),
      [&](const std::vector<int64_t>&, const std::vector<int64_t>& local, double lr) {
        return step.run(data.batch(local), cfg.batch_size, lr);
      },
      show_progress);
}

}  // namespace spn
