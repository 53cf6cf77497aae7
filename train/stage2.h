#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/experiment_config.h"
#include "dist/communicator.h"
#include "dist/distributed_softmax.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/best_checkpoint.h"
#include "train/candidate_bank.h"
#include "train/training_loop.h"
#include "train/triplet_data.h"

namespace spn {

// The softmax targets of the global batch `triplets`: each triplet's target (plus, with
// stage2.positives = "target_soft", its equally good targets) as positives, and with
// stage2.ignore_reference its reference image left out (unless it is a positive).
// stage2.negatives picks the candidates: the whole bank of `bank_size` rows, the
// batch's positives only ("batch", in-batch negatives as in stage 1), or those plus
// stage2.negative_samples rows drawn from the bank with a seed of `seed` and the batch
// ("sample"), so every rank draws the same rows whatever the world size.
// Bank row i is TripletData image row i.
SoftmaxTargets stage2_targets(const TripletData& data, const std::vector<int64_t>& triplets, const Stage2Config& config,
                              int64_t bank_size, uint64_t seed);

// Stage 2 (SPN): the target side frozen, the query side trained with a softmax over
// the whole candidate bank. Reference rows (CirModel::encode_reference_row) are bank
// rows or fresh encodings (stage2.reference_features): with "bank", rows of `bank` where
// the model's references are targets, else of `reference_bank`
// (train/reference_bank.h), which must then be given. With stage2.eval_every_epoch, `evaluate` runs after each
// epoch and the best epoch by stage2.select_metric is kept (BestCheckpoint). Resumes
// from the run's newest stage-2 checkpoint; writes checkpoints/stage2-final.pt.
TrainingSummary train_stage2(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, const CandidateBank& bank,
                             const CandidateBank* reference_bank, const Evaluator& evaluate, bool show_progress);

// Whether stage 2 reads a reference bank: reference rows from a bank, and a model whose
// references are not targets.
bool stage2_needs_reference_bank(const ExperimentConfig& config, const CirModel& model);

// The checkpoint whose weights are stage 2's result: the best epoch's when epochs are
// evaluated, else the last.
std::filesystem::path stage2_result_checkpoint(const ExperimentConfig& config, const RunRecord& run);

}  // namespace spn
