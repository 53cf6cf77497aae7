#pragma once
// Logging for every rank. The console shows rank 0 only (other ranks print warnings
// and errors); each rank also logs everything to its own file in the run directory.
#include <spdlog/spdlog.h>

#include <filesystem>

namespace spn {

// Sets up the console logger for this rank. Called once at startup.
void log_init(int rank, int world_size);

// Logs to the file `<dir>/rank-<rank>.log` as well (run directories call this). The
// file replaces the one an earlier call named, so when one process runs several runs
// (a sweep), each run's file holds its own lines only.
void log_to_directory(const std::filesystem::path& dir, int rank);

}  // namespace spn
