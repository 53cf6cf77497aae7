#pragma once
// What the benchmarks share: wall-clock timing with a warm-up call, the peak resident
// memory of this process (Linux), and the thread count each rank gets.
#include <ATen/Parallel.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/communicator.h"

namespace spn::bench {

// The last JSON line a Python peer prints: the interpreter command in environment
// variable `python_variable` runs bench/<script_and_arguments>; {"skipped": why} when the
// variable is unset (`needs` says what it must name) or the script fails.
inline nlohmann::json python_peer_line(const char* python_variable, const std::string& script_and_arguments,
                                       const std::string& needs) {
  const char* python = std::getenv(python_variable);
  if (!python || !*python) return {{"skipped", std::string("set ") + python_variable + " to a Python with " + needs}};
  const std::string command =
      std::string(python) + " " + SPN_SOURCE_DIR + "/bench/" + script_and_arguments + " 2>/dev/null";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  const size_t line = output.rfind('{');
  if (status != 0 || line == std::string::npos) return {{"skipped", command + " failed"}};
  return nlohmann::json::parse(output.substr(line));
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Resets the peak resident set size (Linux >= 4.0) so each measurement has its own peak.
inline void reset_peak_memory() { std::ofstream("/proc/self/clear_refs") << "5"; }

inline double peak_memory_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

template <class Step>
double time_per_call(Step step, int repeats) {
  step();  // warm-up: first-touch of buffers, thread pools
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) step();
  return seconds_since(start) / repeats;
}

// The node's cores split over the ranks on it; sets torch's thread count to that.
inline int use_cores_per_rank(const Communicator& comm) {
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  const int threads = static_cast<int>(std::max(1L, cores / comm.local_size()));
  at::set_num_threads(threads);
  return threads;
}

// "17000,100000" -> {17000, 100000}.
inline std::vector<int64_t> parse_sizes(const std::string& text) {
  std::vector<int64_t> sizes;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoll(item));
  return sizes;
}

}  // namespace spn::bench
