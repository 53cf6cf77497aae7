#include "launcher/pipeline.h"

#include <spdlog/spdlog.h>

#include <iostream>
#include <optional>

#include "config/config_file.h"
#include "core/activity.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "dist/device.h"
#include "dist/message_chunks.h"
#include "dist/nccl_communicator.h"
#include "dist/stop_agreement.h"
#include "dist/threads.h"
#include "launcher/environment.h"
#include "launcher/eval_datasets.h"
#include "launcher/pipeline_steps.h"
#include "launcher/watchdog.h"
#include "track/results_table.h"

namespace spn {

void run_experiment(Communicator& host, const ExperimentConfig& config, const CommandLine& command,
                    const std::string& run_id) {
  const bool rank0 = host.rank() == 0;
  // Before the run directory exists: a run that cannot compute where it was asked to
  // leaves nothing behind.
  const c10::Device device = resolve_device(config, host);
  check_collectives_serve(device, config);
  // A CUDA run's tensor collectives go through NCCL, its host ones through MPI.
  const std::unique_ptr<Communicator> nccl =
      device.is_cuda() ? make_nccl_communicator(make_mpi_communicator(kMaxMessageBytes), device) : nullptr;
  Communicator& comm = nccl ? *nccl : host;
  const std::string resolved = config_to_toml(config);
  RunRecord run(comm, config, resolved, run_id.empty() ? RunRecord::default_run_id(resolved) : run_id);
  log_to_directory(run.dir() / "logs", comm.rank());

  const auto print_results = [&] {
    if (!rank0) return;
    for (const EvalTarget& target : eval_targets(config))
      std::cout << "\nResults on split '" << target.results_key << "' (" << target.title << " protocol, %):\n"
                << format_results_table(run.results(), target.results_key);
    std::cout << "run directory: " << run.dir().string() << "\n" << std::flush;
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
  nlohmann::json environment = describe_environment(comm, threads);
  environment["device"] = device.str();
  environment["precision"] = choice_name(config.precision);
  if (rank0) run.set_status("running");
  run.write_records(command, environment, {{"experiment", config.seed}, {"data.shapes", config.data.shapes.seed}});
  std::optional<Watchdog> watchdog;
  if (command.watchdog_seconds > 0)
    watchdog.emplace(run.dir() / "heartbeats", comm.rank(), comm.size(), command.watchdog_seconds,
                     [&run](const std::string& message) { run.record_failure(message); });
  RunContext context(comm, config, run, device, rank0);
  try {
    for (const PipelineStep& step : pipeline_steps()) {
      if (!step.applies(config)) continue;
      // Training loops stop at a step; between the other steps is the next place.
      if (const int stop_signal = agreed_stop_signal(comm))
        throw Preempted("stopped by " + signal_name(stop_signal) + " before step '" + step.name +
                        "'; rerun the same command to resume");
      note_progress(std::string("step '") + step.name + "'");
      step.run(context);
    }
  } catch (const Preempted& stop) {
    spdlog::warn("{}", stop.what());
    if (rank0) run.set_status("preempted", stop.what());
    throw;
  } catch (const std::exception& error) {
    run.record_failure(error.what());  // this rank knows what went wrong; it says so
    throw;
  }
  if (rank0) run.set_status("finished");
  print_results();
}

}  // namespace spn
