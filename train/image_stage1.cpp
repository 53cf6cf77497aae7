#include "train/image_stage1.h"

#include <torch/torch.h>

#include "data/image_tensor.h"
#include "train/stage1.h"
#include "train/stage1_step.h"
#include "train/step_images.h"

namespace spn {

TrainingSummary run_image_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run, CirModel& model,
                                 const ImageRows& images, Stage1Step& step, const ImageBatchMaker& batch_of,
                                 bool show_progress, const Evaluator& evaluate) {
  constexpr uint64_t kBatchOrderStream = 101;  // stage 1's batch order stream, as train/stage1.cpp
  const Stage1Config& cfg = config.stage1;
  const LoopSettings settings = loop_settings_for(Stage::Stage1, cfg, config, images.size(), kBatchOrderStream);
  // A step's rows are images: each image is its own (only) row.
  const auto pixels = step_images(
      comm, settings, images, [](const std::vector<int64_t>& local) { return local; },
      loader_options_of(config.data, model.device_type() == c10::kCUDA), image_augment_of(config.data));
  return train_keeping_best_epoch(comm, config, run, model, Stage::Stage1, evaluate, [&](const EpochHook& after_epoch) {
    return run_training_loop(
        comm, run, settings, model, step.optimizer(), step.scaler(),
        [&](int64_t s, const std::vector<int64_t>&, const std::vector<int64_t>& local, double lr) {
          return step.run(batch_of(s, local, normalize_images(pixels->take(s))), cfg.batch_size, lr);
        },
        show_progress, after_epoch);
  });
}

TrainingSummary train_on_images(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                std::shared_ptr<CirModel> model, const ImageRows& images, const torch::Tensor& prompt,
                                bool show_progress, const Evaluator& evaluate) {
  Stage1Step step(comm, model, config.stage1, config.precision);
  return run_image_stage1(
      comm, config, run, *model, images, step,
      [&](int64_t, const std::vector<int64_t>& local, const torch::Tensor& pixels) {
        TripletBatch batch;
        batch.reference_images = pixels;
        batch.tokens = prompt.expand({static_cast<int64_t>(local.size()), prompt.size(1)}).contiguous();
        return batch;
      },
      show_progress, evaluate);
}

}  // namespace spn
