#pragma once
// Stage 1 of SEARLE (model.family = "searle"): φ alone, CLIP frozen, distilled from the
// OTI pre-pass's EMA words (train/searle_oti.h) with SEARLE's objective
// (train/phi_loss.h), on every image of the training split in stage 1's
// world-size-invariant batch order, through Stage1Step: the same AdamW (from [stage1]),
// schedule, checkpoints, resume, metrics (loss terms "distil" and "gpt") and stop
// agreement as the other stage-1 trainers. Each row's phrase (one of its top concepts,
// one phrase template) is drawn from the step and the row's global index, as SEARLE
// draws a concept and a phrase per image and step.
#include <memory>

#include "config/experiment_config.h"
#include "data/image_rows.h"
#include "dist/communicator.h"
#include "track/run_record.h"
#include "train/best_checkpoint.h"
#include "train/searle_oti.h"
#include "train/training_loop.h"

namespace spn {

class ClipTokenizer;
class ZeroShotModel;

// Phrase token rows for each (concept, template) pair, concept-major: the phrase with
// `$` in place of the concept [V * T, L] and as written [V * T, L].
struct PhraseRows {
  torch::Tensor with_word;
  torch::Tensor written;
  int64_t templates = 0;
};
PhraseRows searle_phrase_rows(const ClipTokenizer& tokenizer, const std::vector<std::string>& concepts,
                              int64_t context);

// The phrase row (index into PhraseRows) of image `row` at step `step`: one of its first
// `top_k` concepts and one template, uniformly.
int64_t drawn_phrase(const SearleWords& words, int64_t top_k, int64_t templates, uint64_t seed, int64_t step,
                     int64_t row);

// Resumes from the run's newest checkpoint of stage 1; writes checkpoints/stage1-final.pt.
// With stage1.epochs = 0 no step runs and `words` may be empty. With
// stage1.eval_every_epoch, `evaluate` runs after each epoch, as SEARLE's train_phi.py
// validates on CIRR val after each, and the best epoch by stage1.select_metric is kept
// (train_keeping_best_epoch in train/stage1.h).
TrainingSummary train_phi(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                          const std::shared_ptr<ZeroShotModel>& model, const ImageRows& images,
                          const SearleWords& words, const ClipTokenizer& tokenizer, bool show_progress,
                          const Evaluator& evaluate = {});

}  // namespace spn
