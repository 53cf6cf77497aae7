#pragma once
// What the benchmarks share: wall-clock timing with a warm-up call, the peak resident
// memory of this process (Linux), and the thread count each rank gets.
#include <ATen/Parallel.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace spn::bench {

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
