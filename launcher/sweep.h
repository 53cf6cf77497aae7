#pragma once
// Sweeps: one TOML file names a base experiment and a parameter space; every variant is
// a full tracked run, run one after another inside the same MPI job.
//
//   [sweep]
//   name = "negative_types"        # sweep directory <base runs_dir>/sweeps/<name>/
//   base = "../experiments/x.toml" # relative to the sweep file
//   on_failure = "continue"        # or "stop"
//   seeds = [0, 1, 2]              # optional: every variant below once per seed
//   [sweep.fixed]                  # overrides for every variant
//   "stage1.epochs" = 4
//   [sweep.grid]                   # cartesian product; keys by name, the last turning fastest
//   seed = [0, 1, 2]
//   [[sweep.variants]]             # explicit variants, after the grid's
//   "stage1.negatives" = ["query"]
//   [sweep.random]                 # seeded random samples, after those
//   samples = 4
//   seed = 7
//   space = { "stage1.lr" = { min = 1e-4, max = 1e-2, log = true }, "model.head" = ["sum", "combiner"] }
//
// The sweep directory holds manifest.json (the fingerprint of the base config and of
// the variants) and runs.json (each variant's overrides, run directory and status).
// Rerunning resumes: finished runs are skipped, an interrupted run resumes, failed runs
// are retried only with --retry-failed; a changed sweep is refused, naming the change.
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "track/run_record.h"

namespace spn {

struct SweepVariant {
  std::string label;                   // "seed=1, stage1.lr=0.001"
  std::vector<std::string> overrides;  // "key=TOML value", as --set takes them
};

struct SweepDefinition {
  std::string file;
  std::string name;
  std::string base;  // path of the base experiment
  std::string on_failure = "continue";
  std::vector<std::string> fixed;  // overrides for every variant
  std::vector<SweepVariant> variants;
};

// Whether the TOML file is a sweep (has a [sweep] table). Reads only the file.
bool is_sweep_file(const std::string& path);

// Parses and expands a sweep file. Errors name the file, line and key.
SweepDefinition load_sweep(const std::string& path);

// Runs (or resumes) every variant; `command.overrides` (--set) apply to all of them.
void run_sweep(Communicator& comm, const SweepDefinition& sweep, const CommandLine& command, bool retry_failed);

}  // namespace spn
