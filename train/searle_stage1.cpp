#include "train/searle_stage1.h"

#include <torch/torch.h>

#include <algorithm>
#include <random>

#include "core/hash.h"
#include "core/random.h"
#include "models/clip_tokenizer.h"
#include "models/zero_shot_model.h"
#include "train/image_stage1.h"
#include "train/phi_loss.h"
#include "train/searle_concepts.h"
#include "train/stage1_step.h"

namespace spn {
namespace {

constexpr uint64_t kPhraseStream = 223;  // the rows' phrase draws

}  // namespace

PhraseRows searle_phrase_rows(const ClipTokenizer& tokenizer, const std::vector<std::string>& concepts,
                              int64_t context) {
  std::vector<std::string> with_word, written;
  const int64_t templates = static_cast<int64_t>(searle_phrase_templates().size());
  for (const std::string& concept : concepts)
    for (int64_t t = 0; t < templates; ++t) {
      written.push_back(searle_phrase(concept, t));
      std::string replaced = searle_phrase_templates()[static_cast<size_t>(t)];
      // The spaces keep the placeholder a token of its own (models/pseudo_words.h).
      replaced.replace(replaced.find("{}"), 2, " $ ");
      with_word.push_back(replaced);
    }
  return {tokenizer.tokenize(with_word, context, TruncationPolicy::kTruncate),
          tokenizer.tokenize(written, context, TruncationPolicy::kTruncate), templates};
}

int64_t drawn_phrase(const SearleWords& words, int64_t top_k, int64_t templates, uint64_t seed, int64_t step,
                     int64_t row) {
  std::mt19937_64 rng(mix_seed(mix_seed(seed, static_cast<uint64_t>(step)), static_cast<uint64_t>(row)));
  const uint64_t k = static_cast<uint64_t>(std::min(top_k, words.top_concepts.size(1)));
  const int64_t concept = words.top_concepts[row][static_cast<int64_t>(uniform_below(rng, k))].item<int64_t>();
  return concept * templates + static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(templates)));
}

TrainingSummary train_phi(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                          const std::shared_ptr<ZeroShotModel>& model, const ImageRows& images,
                          const SearleWords& words, const ClipTokenizer& tokenizer, bool show_progress,
                          const Evaluator& evaluate) {
  const Stage1Config& cfg = config.stage1;
  PhraseRows phrases;  // none without words: then no step runs
  if (!words.concepts.empty()) phrases = searle_phrase_rows(tokenizer, words.concepts, config.data.max_words);
  const PhiLossWeights weights{config.searle.temperature, config.searle.distil_weight, config.searle.gpt_weight};
  const uint64_t phrase_seed = mix_seed(static_cast<uint64_t>(config.seed), kPhraseStream);
  const int64_t top_k = config.searle.phi_top_k_concepts;
  // The step and its rows' images, which the loss below reads; set before each step.
  int64_t step_index = 0;
  std::vector<int64_t> step_rows;
  Stage1Step::Loss loss = [&](const TripletBatch& batch, int64_t first_row, int64_t global_batch) {
    std::vector<int64_t> picks;
    for (int64_t image : step_rows)
      picks.push_back(drawn_phrase(words, top_k, phrases.templates, phrase_seed, step_index, image));
    const torch::Tensor index = torch::tensor(picks, torch::kLong);
    const c10::Device device = model->device();
    const PhiLossShares shares =
        phi_loss_shard(comm, *model, model->encode_reference(batch.reference_images),
                       words.ema_tokens.index_select(0, torch::tensor(step_rows, torch::kLong)).to(device),
                       phrases.with_word.index_select(0, index).to(device),
                       phrases.written.index_select(0, index).to(device), first_row, global_batch, weights);
    return Stage1Step::LossShares{shares.total, {{"distil", shares.distil}, {"gpt", shares.gpt}}};
  };
  Stage1Step step(comm, model, cfg, config.precision, loss);
  return run_image_stage1(
      comm, config, run, *model, images, step,
      [&](int64_t s, const std::vector<int64_t>& local, const torch::Tensor& pixels) {
        step_index = s;
        step_rows = local;
        TripletBatch batch;
        batch.reference_images = pixels;
        return batch;
      },
      show_progress, evaluate);
}

}  // namespace spn
