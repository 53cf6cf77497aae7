#pragma once
#include <string>

#include "dist/communicator.h"
#include "launcher/config.h"
#include "track/run_record.h"

namespace spn {

// Runs an experiment's pipeline: prepare the dataset (generate the built-in benchmark
// when needed), stage 1, evaluation. Each finished stage leaves a marker in the run
// directory, so rerunning the same command resumes a crashed run, and a finished run
// just prints its recorded results. `run_id` empty means the config's hash.
void run_experiment(Communicator& comm, const ExperimentConfig& config, const CommandLine& command,
                    const std::string& run_id);

// The results table printed at the end of a run (stages as rows, CIRR metrics as columns).
std::string format_results_table(const nlohmann::json& results, const std::string& split);

}  // namespace spn
