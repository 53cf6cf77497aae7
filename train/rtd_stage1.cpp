#include "train/rtd_stage1.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "models/rtd_model.h"
#include "train/nt_xent_loss.h"
#include "train/stage1.h"
#include "train/stage1_step.h"

namespace spn {
namespace {

// RTD's clean_caption for the captions (not the condition): lower case, no `$`, no
// surrounding spaces. (CLIP's tokenizer truncates what is too long.)
std::string cleaned(std::string caption) {
  std::transform(caption.begin(), caption.end(), caption.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  caption.erase(std::remove(caption.begin(), caption.end(), '$'), caption.end());
  const size_t begin = caption.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return caption.substr(begin, caption.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

torch::Tensor rtd_token_rows(const ComposedPromptTokenizer& tokenizer, const std::vector<TextTriplet>& triplets,
                             int64_t context) {
  std::vector<std::string> conditions, references, targets;
  for (const TextTriplet& triplet : triplets) {
    conditions.push_back(triplet.condition);
    references.push_back(cleaned(triplet.reference));
    targets.push_back(cleaned(triplet.target));
  }
  const auto rows = static_cast<int64_t>(triplets.size());
  const ClipTokenizer& clip = tokenizer.clip();
  const torch::Tensor reference_prompt = clip.encode_batch({rtd_reference_prompt()}, context);
  return torch::stack({tokenizer.encode_batch(conditions, context), reference_prompt.expand({rows, context}),
                       clip.encode_batch(references, context), clip.encode_batch(targets, context)},
                      1);
}

torch::Tensor rtd_loss_shard(Communicator& comm, RtdModel& model, const torch::Tensor& tokens, int64_t first_triplet,
                             int64_t triplets, const torch::Tensor& noise) {
  // Each triplet gives two query rows and two target rows, so this rank's pairs start at
  // twice its first triplet.
  const RtdFeatures features = model.rtd_features(tokens, first_triplet, noise);
  return nt_xent_loss_shard(comm, features.targets, features.queries, model.temperature(), 2 * first_triplet,
                            2 * triplets);
}

TrainingSummary train_on_text_triplets(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                       std::shared_ptr<CirModel> model, const std::vector<TextTriplet>& triplets,
                                       const ComposedPromptTokenizer& tokenizer, bool show_progress,
                                       const Evaluator& evaluate) {
  constexpr uint64_t kBatchOrderStream = 101;  // stage 1's batch order stream, as train/stage1.cpp
  const Stage1Config& cfg = config.stage1;
  Stage1Step step(comm, model, cfg, config.precision);
  const LoopSettings settings =
      loop_settings_for(Stage::Stage1, cfg, config, static_cast<int64_t>(triplets.size()), kBatchOrderStream);
  return train_keeping_best_epoch(
      comm, config, run, *model, Stage::Stage1, evaluate, [&](const EpochHook& after_epoch) {
        return run_training_loop(
            comm, run, settings, *model, step.optimizer(), step.scaler(),
            [&](int64_t, const std::vector<int64_t>&, const std::vector<int64_t>& local, double lr) {
              std::vector<TextTriplet> mine;
              mine.reserve(local.size());
              for (int64_t index : local) mine.push_back(triplets[static_cast<size_t>(index)]);
              TripletBatch batch;
              batch.tokens = rtd_token_rows(tokenizer, mine, config.data.max_words);
              return step.run(batch, cfg.batch_size, lr);
            },
            show_progress, after_epoch);
      });
}

}  // namespace spn
