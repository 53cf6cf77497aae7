#pragma once
#include <memory>

#include "dist/communicator.h"
#include "launcher/config.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/candidate_bank.h"
#include "train/training_loop.h"
#include "train/triplet_data.h"

namespace spn {

// Stage 2 (SPN): the target side frozen, the query side trained with a softmax over
// the whole candidate bank (each triplet's target is its positive). Reference features
// come from the frozen image encoder. Resumes from the run's newest stage-2 checkpoint;
// writes checkpoints/stage2-final.pt.
TrainingSummary train_stage2(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, const CandidateBank& bank,
                             bool show_progress);

}  // namespace spn
