#pragma once
#include <memory>

#include "config/experiment_config.h"
#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/training_loop.h"
#include "train/triplet_data.h"

namespace spn {

// Stage 1: joint training of the query and target sides with InfoNCE over the global
// batch, targets all-gathered across ranks (see Stage1Step). Resumes from the run's
// newest checkpoint of `stage`; writes checkpoints/<stage>-final.pt. `stage` names the
// checkpoints and metric lines: "stage1", or "mining-encoder" for the encoder that
// positives.warmup_encoder trains with stage 1's settings.
TrainingSummary train_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, bool show_progress,
                             Stage stage = Stage::Stage1);

}  // namespace spn
