#include "train/stage1.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "core/hash.h"
#include "core/progress.h"
#include "data/batch_sampler.h"
#include "dist/gradient_sync.h"
#include "train/checkpoint.h"
#include "train/lr_schedule.h"
#include "train/stage1_step.h"

namespace spn {
namespace {

constexpr const char* kPrefix = "stage1";
constexpr uint64_t kBatchOrderStream = 101;  // seed stream of the stage-1 batch order
constexpr size_t kCheckpointsKept = 2;

}  // namespace

Stage1Summary train_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                           std::shared_ptr<CirModel> model, const TripletData& data, bool show_progress) {
  const Stage1Config& cfg = config.stage1;
  Stage1Step step(comm, model, cfg);
  GlobalBatchSampler sampler(data.size(), cfg.batch_size, mix_seed(static_cast<uint64_t>(config.seed), kBatchOrderStream));
  const int64_t steps_per_epoch = sampler.steps_per_epoch();
  if (steps_per_epoch == 0)
    throw UserError(config.where("stage1.batch_size") + ": " + std::to_string(cfg.batch_size) +
                    " is larger than the " + std::to_string(data.size()) + " training triplets");
  const int64_t total = cfg.epochs * steps_per_epoch;

  int64_t start = 0;
  if (auto checkpoint = latest_checkpoint(run.checkpoints_dir(), kPrefix)) {
    start = load_checkpoint(*checkpoint, *model, &step.optimizer());
    run.drop_metrics_after(kPrefix, start);
    spdlog::info("stage 1: resuming from {} (step {} of {})", checkpoint->string(), start, total);
  } else {
    broadcast_tensors(comm, model->state_tensors());
    spdlog::info("stage 1: {} triplets, global batch {} over {} rank(s), {} steps", data.size(), cfg.batch_size,
                 comm.size(), total);
  }

  Progress progress("stage 1", total, show_progress);
  progress.update(start);
  const auto began = std::chrono::steady_clock::now();
  double window_loss = 0, last_loss = 0;
  int64_t window_steps = 0;
  for (int64_t s = start; s < total; ++s) {
    const double lr = learning_rate_at(s, total, cfg.lr);
    const TripletBatch batch = data.batch(sampler.local_batch(s, comm.size(), comm.rank()));
    last_loss = step.run(batch, cfg.batch_size, lr);
    window_loss += last_loss;
    ++window_steps;
    const int64_t done = s + 1;
    if (done % cfg.log_every == 0 || done == total) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      run.log_metrics({{"stage", kPrefix},
                       {"step", done},
                       {"epoch", static_cast<double>(done) / steps_per_epoch},
                       {"loss", window_loss / window_steps},
                       {"lr", lr},
                       {"temperature", 1.0 / model->logit_scale().item<double>()},
                       {"samples_per_s", elapsed > 0 ? (done - start) * cfg.batch_size / elapsed : 0.0}});
      window_loss = 0;
      window_steps = 0;
    }
    if (run.writer() && (done % cfg.checkpoint_every == 0 || done % steps_per_epoch == 0 || done == total)) {
      save_checkpoint(step_checkpoint_path(run.checkpoints_dir(), kPrefix, done), *model, &step.optimizer(), done);
      prune_checkpoints(run.checkpoints_dir(), kPrefix, kCheckpointsKept);
    }
    char note[48];
    std::snprintf(note, sizeof note, "loss %.4f", last_loss);
    progress.update(done, note);
  }
  progress.finish();

  Stage1Summary summary;
  summary.steps = total;
  summary.steps_this_attempt = total - start;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  summary.samples_per_second =
      summary.seconds > 0 ? static_cast<double>(summary.steps_this_attempt * cfg.batch_size) / summary.seconds : 0;
  summary.final_loss = last_loss;
  if (run.writer()) save_checkpoint(run.checkpoints_dir() / "stage1-final.pt", *model, nullptr, total);
  comm.barrier();
  return summary;
}

}  // namespace spn
