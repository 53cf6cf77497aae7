#include "launcher/pipeline.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "config/config_file.h"
#include "config/protocol.h"
#include "core/log.h"
#include "dist/threads.h"
#include "launcher/environment.h"
#include "launcher/pipeline_steps.h"
#include "track/results_table.h"

namespace spn {

void run_experiment(Communicator& comm, const ExperimentConfig& config, const CommandLine& command,
                    const std::string& run_id) {
  const bool rank0 = comm.rank() == 0;
  const std::string resolved = config_to_toml(config);
  RunRecord run(comm, config, resolved, run_id.empty() ? RunRecord::default_run_id(resolved) : run_id);
  log_to_directory(run.dir() / "logs", comm.rank());

  const auto print_results = [&] {
    if (!rank0) return;
    std::cout << "\nResults on split '" << config.eval.split << "' (" << protocol_title(protocol_of(config.data.kind))
              << " protocol, %):\n"
              << format_results_table(run.results(), config.eval.split) << "run directory: " << run.dir().string()
              << "\n"
              << std::flush;
  };
  if (run.recorded_status() == "finished") {
    spdlog::info("run {} already finished; its recorded results:", run.dir().string());
    print_results();
    return;
  }
  if (!run.recorded_status().empty())
    spdlog::info("resuming run {}", run.dir().string());
  else
    spdlog::info("run directory {}", run.dir().string());

  const int threads = configure_threads(comm, config.threads);
  const nlohmann::json environment = describe_environment(comm, threads);
  if (rank0) run.set_status("running");
  run.write_records(command, environment, {{"experiment", config.seed}, {"data.shapes", config.data.shapes.seed}});
  RunContext context(comm, config, run, rank0);
  try {
    for (const PipelineStep& step : pipeline_steps())
      if (step.applies(config)) step.run(context);
  } catch (const std::exception& error) {
    run.record_failure(error.what());  // this rank knows what went wrong; it says so
    throw;
  }
  if (rank0) run.set_status("finished");
  print_results();
}

}  // namespace spn
