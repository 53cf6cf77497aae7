#include "train/training_loop.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <string>

#include "core/error.h"
#include "core/progress.h"
#include "core/stop_signals.h"
#include "data/batch_sampler.h"
#include "dist/gradient_sync.h"
#include "dist/peak_memory.h"
#include "dist/sharding.h"
#include "dist/stop_agreement.h"
#include "train/checkpoint.h"
#include "train/divergence_guard.h"
#include "train/lr_schedule.h"
#include "train/sharded_adamw.h"

namespace spn {
namespace {

constexpr size_t kCheckpointsKept = 2;
constexpr uint64_t kDrawStream = 1;  // seed stream of the model's training draws (dropout)

}  // namespace

TrainingSummary run_training_loop(Communicator& comm, RunRecord& run, const LoopSettings& settings, CirModel& model,
                                  torch::optim::Optimizer& optimizer, LossScaler& scaler, const TrainingStep& step,
                                  bool show_progress, const EpochHook& on_epoch_end) {
  GlobalBatchSampler sampler(settings.items, settings.batch_size, settings.order_seed);
  // Like the batch order, the model's draws come from the seed, the stage and the step.
  const uint64_t draw_seed = mix_seed(settings.order_seed, kDrawStream);
  const int64_t steps_per_epoch = sampler.steps_per_epoch();
  // A run of 0 epochs trains nothing (a zero-shot evaluation), so its batch may exceed the split.
  if (steps_per_epoch == 0 && settings.epochs > 0)
    throw UserError(settings.batch_size_key + ": " + std::to_string(settings.batch_size) + " is larger than the " +
                    std::to_string(settings.items) + " training triplets");
  const int64_t total = settings.epochs * steps_per_epoch;
  const Stage stage = settings.stage;
  const std::string name = stage_name(stage);

  int64_t start = 0;
  double last_loss = 0;
  // Rank 0 picks the checkpoint to resume from; every rank loads that one.
  std::string newest;
  if (comm.rank() == 0)
    if (auto checkpoint = latest_checkpoint(run.checkpoints_dir(), name)) newest = checkpoint->string();
  newest = broadcast_string(comm, newest, 0);
  if (!newest.empty()) {
    const CheckpointProgress resumed = load_checkpoint(newest, model, &optimizer);
    start = resumed.steps_done;
    last_loss = resumed.last_loss;
    if (resumed.loss_scaler) scaler.restore(*resumed.loss_scaler);
    spdlog::info("{}: resuming from {} (step {} of {})", name, newest, start, total);
  } else {
    broadcast_tensors(comm, model.state_tensors());
    spdlog::info("{}: {} triplets, global batch {} over {} rank(s), {} steps", name, settings.items,
                 settings.batch_size, comm.size(), total);
  }
  // Lines an earlier attempt logged after the step resumed from (or before its first
  // checkpoint) are logged again by this one.
  run.drop_metrics_after(stage, start);

  Progress progress(name, total, show_progress);
  progress.update(start);
  const auto began = std::chrono::steady_clock::now();
  double window_loss = 0;
  int64_t window_steps = 0;
  int64_t window_skipped = 0;
  std::map<std::string, double> window_terms;  // sums of the objective's named terms
  DivergenceGuard divergence(name);
  for (int64_t s = start; s < total; ++s) {
    const ScheduledStep scheduled = scheduled_step(settings.optimizer, s, total, settings.lr);
    const double lr = scheduled.lr;
    if (scheduled.beta1) set_adamw_beta1(optimizer, *scheduled.beta1);
    const std::vector<int64_t> global = sampler.global_batch(s);
    const ShardRange mine = shard_range(settings.batch_size, comm.size(), comm.rank());
    model.set_step_seed(mix_seed(draw_seed, static_cast<uint64_t>(s)));
    const StepResult result = step(s, global, {global.begin() + mine.begin, global.begin() + mine.end}, lr);
    divergence.check(result, s + 1, total);
    if (result.skipped) {
      ++window_skipped;
    } else {
      last_loss = result.loss;
      window_loss += last_loss;
      ++window_steps;
      for (const auto& [term, value] : result.loss_terms) window_terms[term] += value;
    }
    const int64_t done = s + 1;
    if (done % settings.log_every == 0 || done == total) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      nlohmann::json line = {
          {"stage", name},
          {"step", done},
          {"epoch", static_cast<double>(done) / steps_per_epoch},
          {"loss", window_steps > 0 ? window_loss / window_steps : std::numeric_limits<double>::quiet_NaN()},
          {"lr", lr},
          {"temperature", 1.0 / model.logit_scale().item<double>()},
          {"samples_per_s", elapsed > 0 ? (done - start) * settings.batch_size / elapsed : 0.0},
          {"peak_rss_mib", nlohmann::json::object()}};
      // Per rank, keyed so that metric exporters see one scalar series per rank.
      const std::vector<double> peak = peak_resident_mib_per_rank(comm);
      for (size_t r = 0; r < peak.size(); ++r) line["peak_rss_mib"]["rank" + std::to_string(r)] = peak[r];
      if (!window_terms.empty()) {  // each term's mean over the window, unweighted
        line["loss_terms"] = nlohmann::json::object();
        for (const auto& [term, sum] : window_terms) line["loss_terms"][term] = sum / window_steps;
      }
      if (scheduled.beta1) line["adam_beta1"] = *scheduled.beta1;
      if (result.loss_scale) {  // fp16: the scaler's state and the updates it skipped since the last line
        line["loss_scale"] = *result.loss_scale;
        line["skipped_steps"] = window_skipped;
      }
      run.log_metrics(line);
      window_loss = 0;
      window_steps = 0;
      window_skipped = 0;
      window_terms.clear();
    }
    const bool epoch_end = done % steps_per_epoch == 0;
    if (epoch_end && on_epoch_end) on_epoch_end(done / steps_per_epoch, done);
    const bool checkpoint_due = done % settings.checkpoint_every == 0 || epoch_end || done == total;
    const int stop_signal = agreed_stop_signal(comm);
    if (checkpoint_due || stop_signal != 0) {
      const GatheredOptimizerState whole_state(optimizer);  // a collective with ZeRO-1
      if (run.writer()) {
        CheckpointProgress progress{done, last_loss};
        if (scaler.enabled()) progress.loss_scaler = scaler.state();
        save_checkpoint(step_checkpoint_path(run.checkpoints_dir(), name, done), model, &optimizer, progress);
        prune_checkpoints(run.checkpoints_dir(), name, kCheckpointsKept);
      }
    }
    if (stop_signal != 0) {
      comm.barrier();  // the checkpoint is on disk before any rank reports it
      throw Preempted(name + ": stopped by " + signal_name(stop_signal) + " after step " + std::to_string(done) +
                      " of " + std::to_string(total) + "; checkpoint written, rerun the same command to resume");
    }
    char note[48];
    std::snprintf(note, sizeof note, "loss %.4f", last_loss);
    progress.update(done, note);
  }
  progress.finish();

  TrainingSummary summary;
  summary.steps = total;
  summary.steps_this_attempt = total - start;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  summary.samples_per_second =
      summary.seconds > 0 ? static_cast<double>(summary.steps_this_attempt * settings.batch_size) / summary.seconds : 0;
  summary.final_loss = last_loss;
  if (run.writer()) save_checkpoint(run.checkpoints_dir() / (name + "-final.pt"), model, nullptr, {total, last_loss});
  comm.barrier();
  return summary;
}

}  // namespace spn
