#pragma once
// spn-launch run as a user runs it, in a subprocess of the test: the fixture gives each
// test a scratch directory to run in, and a tiny experiment that trains in seconds.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/files.h"
#include "test_files.h"

namespace spn::testing {

namespace fs = std::filesystem;

struct Outcome {
  int status;
  std::string output;
};

// The test process is itself an MPI process; its OMPI_/PMIX_ variables would make a
// child spn-launch or mpirun join the test's MPI session instead of starting its own.
inline constexpr const char* kCleanMpiEnvironment =
    "for v in $(env | grep -oE '^(OMPI|PMIX|OPAL|ORTE)[A-Za-z0-9_]*'); do unset $v; done; ";

inline Outcome run_shell(const std::string& command) {
  Outcome outcome{-1, ""};
  FILE* pipe = ::popen((kCleanMpiEnvironment + command + " 2>&1").c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) outcome.output.append(buffer, n);
  const int raw = ::pclose(pipe);
  outcome.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return outcome;
}

class Launch : public ::testing::Test {
 protected:
  void SetUp() override {
    auto local = make_local_communicator();
    dir_ = shared_temp_dir(*local, "launch");
  }
  void TearDown() override { fs::remove_all(dir_); }

  Outcome launch(const std::string& args) {
    return run_shell("cd '" + dir_.string() + "' && " + SPN_LAUNCH + " " + args);
  }
  void write(const std::string& name, const std::string& text) { write_file_atomic(dir_ / name, text); }

  // Starts `spn-launch <args>` in the background (output in <log_name>.log), to be
  // killed by the test.
  pid_t start_launch(const std::vector<std::string>& args, const std::string& log_name) {
    std::vector<std::string> command = {SPN_LAUNCH};
    command.insert(command.end(), args.begin(), args.end());
    return start_process(command, log_name);
  }

  // Starts `command` (a program and its arguments; PATH is searched) the same way.
  pid_t start_process(const std::vector<std::string>& command, const std::string& log_name) {
    const pid_t child = ::fork();
    if (child != 0) return child;
    if (::chdir(dir_.c_str()) != 0) ::_exit(127);
    for (char** variable = environ; *variable;) {  // as kCleanMpiEnvironment does
      const std::string entry = *variable;
      if (entry.rfind("OMPI", 0) == 0 || entry.rfind("PMIX", 0) == 0 || entry.rfind("OPAL", 0) == 0 ||
          entry.rfind("ORTE", 0) == 0)
        ::unsetenv(entry.substr(0, entry.find('=')).c_str());
      else
        ++variable;
    }
    const std::string log = (dir_ / (log_name + ".log")).string();
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    std::vector<char*> argv;
    for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }

  fs::path dir_;
};

// A run of a few seconds: a tiny benchmark and a tiny model, 30 steps.
inline constexpr const char* kTinyExperiment = R"(name = "tiny"
threads = 1
[data]
root = "data"
image_size = 32
[data.shapes]
train_triplets = 160
val_triplets = 40
extra_images = 0
image_size = 32
[model]
image_width = 4
text_width = 16
embed_dim = 16
combiner_width = 32
[stage1]
epochs = 3
batch_size = 16
checkpoint_every = 4
log_every = 2
)";

// Reads `run_dir` with TensorBoard's and MLflow's own Python readers (the virtual
// environment `make test` creates in the build directory) and compares what they see
// with the run's records: tests/clients/check_clients.py. `scratch` receives the export.
inline Outcome check_with_real_clients(const fs::path& run_dir, const fs::path& scratch) {
  if (!fs::exists(SPN_PYENV_PYTHON))
    return {-1, std::string(SPN_PYENV_PYTHON) + " is missing: `make test` creates it (make pyenv)"};
  const fs::path export_dir = scratch / ("mlflow-" + run_dir.filename().string());
  fs::remove_all(export_dir);
  const Outcome exported =
      run_shell(std::string(SPN_LAUNCH) + " export-mlflow '" + run_dir.string() + "' '" + export_dir.string() + "'");
  if (exported.status != 0) return exported;
  return run_shell(std::string(SPN_PYENV_PYTHON) + " " + SPN_SOURCE_DIR + "/tests/clients/check_clients.py '" +
                   run_dir.string() + "' '" + export_dir.string() + "'");
}

}  // namespace spn::testing
