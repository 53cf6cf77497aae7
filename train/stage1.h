#pragma once
#include <memory>

#include "dist/communicator.h"
#include "launcher/config.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/triplet_data.h"

namespace spn {

struct Stage1Summary {
  int64_t steps = 0;
  int64_t steps_this_attempt = 0;
  double seconds = 0;             // wall time of the steps run by this attempt
  double samples_per_second = 0;  // global samples per second in this attempt
  double final_loss = 0;
};

// Stage 1: joint training of the query and target sides with InfoNCE over the global
// batch. Resumes from the newest stage-1 checkpoint in the run directory (the model and
// optimizer state and the step; the batch order follows from the seed). Writes
// checkpoints every stage1.checkpoint_every steps and at each epoch end, and
// checkpoints/stage1-final.pt at the end.
Stage1Summary train_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                           std::shared_ptr<CirModel> model, const TripletData& data, bool show_progress);

}  // namespace spn
