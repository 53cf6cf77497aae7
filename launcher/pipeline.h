#pragma once
// Runs one experiment: opens (or resumes) its run directory and runs the pipeline's
// steps (launcher/pipeline_steps.h) in order. Rerunning the same command resumes a
// crashed run; a finished run just prints its recorded results.
#include <string>

#include "config/experiment_config.h"
#include "dist/communicator.h"
#include "track/run_record.h"

namespace spn {

// `run_id` empty means the config's hash. `host` is the world's host communicator
// (MPI); a run on CUDA adds NCCL for its tensors.
void run_experiment(Communicator& host, const ExperimentConfig& config, const CommandLine& command,
                    const std::string& run_id);

}  // namespace spn
