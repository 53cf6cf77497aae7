// spn-launch: runs an experiment (TOML file, or the embedded quickstart) on however
// many ranks mpirun started.
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>

#include "config/config_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop_signals.h"
#include "dist/communicator.h"
#include "embedded_quickstart.h"
#include "launcher/pipeline.h"
#include "launcher/sweep.h"
#include "track/mlflow_export.h"
#include "track/report_render.h"
#include "track/run_contents.h"
#include "track/tensorboard_events.h"

namespace {

constexpr const char* kUsage = R"(usage: spn-launch [EXPERIMENT.toml | SWEEP.toml] [options]
       mpirun -np N spn-launch EXPERIMENT.toml [options]
       spn-launch report DIR              report.md and report.html of a run or sweep
       spn-launch export-mlflow DIR OUT   runs under DIR as an MLflow file store in OUT
       spn-launch tensorboard DIR         rewrite the TensorBoard events of runs under DIR

Runs an experiment: the built-in benchmark (generated when missing), stage 1,
evaluation, recorded under <runs_dir>/<name>/<run-id>/. Without a file it runs
the embedded quickstart (experiments/quickstart.toml). Rerunning the same
command resumes a crashed run or prints the results of a finished one. A sweep
file ([sweep] table) runs each of its variants as such an experiment, one after
another, and resumes the same way.

options:
  --set KEY=VALUE      override a config key, e.g. --set stage1.lr=3e-4 (repeatable)
  --run-id ID          run directory name (default: a hash of the resolved config)
  --retry-failed       sweeps: run again the variants that failed before
  --stop-signals LIST  signals that stop the run cleanly at the next step: a checkpoint,
                       status "preempted", exit 4 (default SIGTERM,SIGUSR1; none)
  --watchdog SECONDS   end the job (exit 5) when no rank has made progress for this
                       long, naming the silent rank (default 600; 0 = off)
  --print-config       print the fully resolved config and exit (a sweep: its variants)
  --config-reference   print every config key as a Markdown table and exit
  --help               this text

DIR is a run directory, a sweep directory (<runs_dir>/sweeps/<name>) or a runs
directory. MLflow (>= 3.10) imports the export with
  mlflow migrate-filestore --source OUT --target sqlite:///OUT/mlflow.db

Under mpirun, signal mpirun with SIGUSR1 (it forwards it to every rank; it answers
SIGTERM by killing them); under srun or a Slurm batch step, SIGTERM reaches the ranks.

exit status: 0 success, 1 internal error, 2 bad input (config, files, annotations),
3 I/O error (a full disk: the path and errno are named), 4 preempted by a stop signal
(rerun to resume), 5 the watchdog ended a job whose rank stopped answering
)";

struct Arguments {
  spn::CommandLine command;
  std::string run_id;
  bool print_config = false;
  bool retry_failed = false;
  bool config_reference = false;
  bool help = false;
};

double parse_seconds(const std::string& text, const std::string& option) {
  size_t used = 0;
  double seconds = -1;
  try {
    seconds = std::stod(text, &used);
  } catch (const std::exception&) {}
  if (used != text.size() || !(seconds >= 0))
    throw spn::UserError(option + ": '" + text + "' is not a number of seconds (0 turns it off)");
  return seconds;
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  for (int i = 0; i < argc; ++i) args.command.argv.push_back(argv[i]);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) throw spn::UserError(std::string(flag) + ": missing value");
      return argv[++i];
    };
    if (arg == "--set")
      args.command.overrides.push_back(value("--set"));
    else if (arg.rfind("--set=", 0) == 0)
      args.command.overrides.push_back(arg.substr(6));
    else if (arg == "--run-id")
      args.run_id = value("--run-id");
    else if (arg == "--print-config")
      args.print_config = true;
    else if (arg == "--stop-signals")
      args.command.stop_signals = spn::parse_stop_signals(value("--stop-signals"), "--stop-signals");
    else if (arg == "--watchdog")
      args.command.watchdog_seconds = parse_seconds(value("--watchdog"), "--watchdog");
    else if (arg == "--retry-failed")
      args.retry_failed = true;
    else if (arg == "--config-reference")
      args.config_reference = true;
    else if (arg == "--help" || arg == "-h")
      args.help = true;
    else if (arg.rfind("--", 0) == 0)
      throw spn::UserError(arg + ": unknown option (see --help)");
    else if (args.command.config_file.empty())
      args.command.config_file = arg;
    else
      throw spn::UserError(arg + ": only one experiment file may be given");
  }
  return args;
}

// The tools that read finished runs; they run on one process (rank 0 under mpirun).
bool run_tool(spn::Communicator& comm, int argc, char** argv) {
  if (argc < 2) return false;
  const std::string tool = argv[1];
  const auto operands = [&](int count, const char* usage) {
    if (argc != 2 + count) throw spn::UserError(std::string("usage: spn-launch ") + usage);
  };
  if (tool == "report") {
    operands(1, "report DIR");
    if (comm.rank() == 0) {
      const spn::ReportFiles files = spn::write_report(argv[2]);
      std::cout << "wrote " << files.markdown.string() << " and " << files.html.string() << "\n";
    }
  } else if (tool == "export-mlflow") {
    operands(2, "export-mlflow DIR OUT");
    if (comm.rank() == 0) {
      const spn::MlflowExportSummary summary = spn::export_mlflow(argv[2], argv[3]);
      std::cout << "exported " << summary.runs << " runs in " << summary.experiments << " experiments ("
                << summary.metric_points << " metric points) to " << argv[3] << "\nimport them with: mlflow "
                << "migrate-filestore --source " << argv[3] << " --target sqlite:///" << argv[3] << "/mlflow.db\n";
    }
  } else if (tool == "tensorboard") {
    operands(1, "tensorboard DIR");
    if (comm.rank() == 0) {
      const std::vector<spn::FoundRun> runs = spn::find_runs(argv[2]);
      for (const spn::FoundRun& run : runs) spn::rebuild_tensorboard_events(run.dir);
      std::cout << "wrote " << spn::kTensorBoardFileName << " in " << runs.size() << " run directories\n";
    }
  } else {
    return false;
  }
  comm.barrier();
  return true;
}

int run(spn::Communicator& comm, int argc, char** argv) {
  if (run_tool(comm, argc, argv)) return 0;
  const Arguments args = parse_arguments(argc, argv);
  spn::install_stop_signals(args.command.stop_signals);
  if (args.help) {
    if (comm.rank() == 0) std::cout << kUsage;
    return 0;
  }
  if (args.config_reference) {
    if (comm.rank() == 0) std::cout << spn::config_reference_markdown();
    return 0;
  }
  if (!args.command.config_file.empty() && spn::is_sweep_file(args.command.config_file)) {
    if (!args.run_id.empty()) throw spn::UserError("--run-id: a sweep names each variant's run itself");
    const spn::SweepDefinition sweep = spn::load_sweep(args.command.config_file);
    if (args.print_config) {  // the expansion, to check a sweep before running it
      if (comm.rank() == 0)
        for (size_t i = 0; i < sweep.variants.size(); ++i)
          std::cout << "[" << i + 1 << "/" << sweep.variants.size() << "] " << sweep.variants[i].label << "\n";
      return 0;
    }
    spn::run_sweep(comm, sweep, args.command, args.retry_failed);
    return 0;
  }
  const spn::ExperimentConfig config =
      args.command.config_file.empty()
          ? spn::load_config_text(spn::kQuickstartToml, "<embedded quickstart>", args.command.overrides)
          : spn::load_config(args.command.config_file, args.command.overrides);
  if (args.print_config) {
    if (comm.rank() == 0) std::cout << spn::config_to_toml(config);
    return 0;
  }
  spn::run_experiment(comm, config, args.command, args.run_id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto comm = spn::make_world_communicator(&argc, &argv);
  spn::log_init(comm->rank(), comm->size());
  int status = 0;
  bool agreed = false;  // every rank ends with the same status: no need to abort the job
  try {
    status = run(*comm, argc, argv);
  } catch (const spn::Preempted&) {
    status = spn::kExitPreempted;
    agreed = true;
  } catch (const spn::UserError& error) {
    spdlog::error("{}", error.what());
    status = spn::kExitUserError;
  } catch (const spn::IoError& error) {
    spdlog::error("{}", error.what());
    status = spn::kExitIoError;
  } catch (const std::exception& error) {
    spdlog::error("internal error: {}", error.what());
    status = spn::kExitInternalError;
  }
  spdlog::default_logger()->flush();
  // A failed rank ends the whole job: its peers may be waiting in a collective.
  if (status != 0 && !agreed && comm->size() > 1) comm->abort(status);
  spn::finalize_communication();
  return status;
}
