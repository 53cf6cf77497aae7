#include "train/stage2.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "core/hash.h"
#include "core/random.h"
#include "data/image_tensor.h"
#include "dist/autocast.h"
#include "dist/sharding.h"
#include "train/best_checkpoint.h"
#include "train/stage2_step.h"
#include "train/step_images.h"

namespace spn {

SoftmaxTargets stage2_targets(const TripletData& data, const std::vector<int64_t>& triplets, const Stage2Config& config,
                              int64_t bank_size, uint64_t seed) {
  SoftmaxTargets targets;
  for (int64_t triplet : triplets) {
    std::vector<int64_t> positives = {data.target[triplet]};
    if (config.positives == TargetPositives::TargetSoft)
      for (int64_t row : data.equally_good_targets[triplet])
        if (std::find(positives.begin(), positives.end(), row) == positives.end()) positives.push_back(row);
    if (config.ignore_reference) {
      const int64_t reference = data.reference[triplet];
      const bool is_positive = std::find(positives.begin(), positives.end(), reference) != positives.end();
      targets.ignored.push_back(is_positive ? std::vector<int64_t>{} : std::vector<int64_t>{reference});
    }
    targets.positives.push_back(std::move(positives));
  }
  if (config.negatives == Stage2Negatives::Bank) return targets;
  for (const auto& positives : targets.positives)
    targets.candidates.insert(targets.candidates.end(), positives.begin(), positives.end());
  if (config.negatives == Stage2Negatives::Sample) {
    std::mt19937_64 rng(mix_seed(seed, fnv1a(triplets.data(), triplets.size() * sizeof(int64_t))));
    const std::vector<int64_t> drawn =
        distinct_in_range(rng, 0, bank_size, std::min(config.negative_samples, bank_size));
    targets.candidates.insert(targets.candidates.end(), drawn.begin(), drawn.end());
  }
  std::sort(targets.candidates.begin(), targets.candidates.end());
  targets.candidates.erase(std::unique(targets.candidates.begin(), targets.candidates.end()), targets.candidates.end());
  return targets;
}

std::filesystem::path stage2_result_checkpoint(const ExperimentConfig& config, const RunRecord& run) {
  return result_checkpoint(run.checkpoints_dir(), Stage::Stage2,
                           config.stage2.eval_every_epoch && config.stage2.epochs > 0);
}

bool stage2_needs_reference_bank(const ExperimentConfig& config, const CirModel& model) {
  return config.stage2.reference_features == ReferenceFeatures::Bank && !model.references_are_targets();
}

TrainingSummary train_stage2(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, const CandidateBank& bank,
                             const CandidateBank* reference_bank, const Evaluator& evaluate, bool show_progress) {
  constexpr uint64_t kBatchOrderStream = 202;      // seed stream of the stage-2 batch order
  constexpr uint64_t kNegativeSampleStream = 203;  // and of its sampled negatives
  const Stage2Config& cfg = config.stage2;
  // Before the loop, which restores a resumed run's own value from its checkpoint.
  if (cfg.temperature > 0) model->set_temperature(cfg.temperature);
  Stage2Step step(comm, model, cfg, bank, config.precision);
  const LoopSettings settings = loop_settings_for(Stage::Stage2, cfg, config, data.size(), kBatchOrderStream);
  const uint64_t negative_seed = mix_seed(config.seed, kNegativeSampleStream);

  // SPN takes the frozen reference features the bank already holds, and decodes no image.
  const bool from_bank = cfg.reference_features == ReferenceFeatures::Bank;
  const auto references_of = [&](const std::vector<int64_t>& triplets) {
    std::vector<int64_t> references;
    for (int64_t triplet : triplets) references.push_back(data.reference[triplet]);
    return references;
  };
  const auto reference_pixels = from_bank
                                    ? nullptr
                                    : step_images(comm, settings, data.images, references_of,
                                                  loader_options_of(config.data, model->device_type() == c10::kCUDA),
                                                  image_augment_of(config.data));
  if (stage2_needs_reference_bank(config, *model) && reference_bank == nullptr)
    throw std::logic_error("train_stage2: the model's reference rows need a reference bank");
  const auto reference_rows = [&](int64_t s, const std::vector<int64_t>& global, const torch::Tensor& tokens) {
    const ShardRange mine = shard_range(static_cast<int64_t>(global.size()), comm.size(), comm.rank());
    if (from_bank) {
      const torch::Tensor rows = model->references_are_targets()
                                     ? bank_rows(comm, bank, references_of(global))
                                     : bank_rows(comm, *reference_bank, data.text_rows_at(global, s));
      return rows.narrow(0, mine.begin, mine.size());
    }
    torch::NoGradGuard no_grad;
    const Autocast autocast(config.precision, model->device_type());
    const torch::Tensor images = normalize_images(reference_pixels->take(s).to(model->device(), true));
    return model->encode_reference_row(model->encode_reference(images), tokens.to(model->device(), true));
  };

  spdlog::info("stage2: bank of {} rows {}, reference features from the {}, positives: {}, negatives: {}", bank.rows,
               bank.replicated ? "replicated on every rank"
                               : "sharded (rows " + std::to_string(bank.begin) + ".." +
                                     std::to_string(bank.begin + bank.shard.size(0)) + " here)",
               choice_name(cfg.reference_features), choice_name(cfg.positives),
               cfg.negatives == Stage2Negatives::Bank    ? "the whole bank"
               : cfg.negatives == Stage2Negatives::Batch ? "the batch's targets"
                                                         : std::to_string(std::min(cfg.negative_samples, bank.rows)) +
                                                               " bank rows drawn per step and the batch's targets");
  BestCheckpoint best(comm, run.checkpoints_dir(), Stage::Stage2, cfg.select_metric);
  const EpochHook after_epoch = cfg.eval_every_epoch
                                    ? keep_best_epoch(run, best, *model, Stage::Stage2, config.eval.split, evaluate)
                                    : EpochHook{};

  TrainingSummary summary = run_training_loop(
      comm, run, settings, *model, step.optimizer(), step.scaler(),
      [&](int64_t s, const std::vector<int64_t>& global, const std::vector<int64_t>& local, double lr) {
        const torch::Tensor tokens = data.tokens_at(local, s);
        return step.run(reference_rows(s, global, tokens), tokens,
                        stage2_targets(data, global, cfg, bank.rows, negative_seed), lr);
      },
      show_progress, after_epoch);
  if (!best.record().is_null()) run.record_result(Stage::Stage2, "best_epoch", best.record());
  return summary;
}

}  // namespace spn
