#pragma once
#include <memory>

#include "dist/communicator.h"
#include "launcher/config.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/training_loop.h"
#include "train/triplet_data.h"

namespace spn {

// Stage 1: joint training of the query and target sides with InfoNCE over the global
// batch, targets all-gathered across ranks (see Stage1Step). Resumes from the run's
// newest stage-1 checkpoint; writes checkpoints/stage1-final.pt.
TrainingSummary train_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, bool show_progress);

}  // namespace spn
