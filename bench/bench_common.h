#pragma once
// What the benchmarks share: wall-clock timing with a warm-up call, the peak resident
// memory of this process (Linux), the thread count each rank gets, and running a
// Python reference that prints one JSON line.
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <unistd.h>
#ifdef SPN_WITH_NCCL  // a CUDA build: the GPU's allocator statistics
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
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

// `wait` returns when the device has done the work queued so far (a GPU runs it after
// the host has moved on), so the time covers the work, not its launch.
template <class Step>
double time_per_call(
    Step step, int repeats, const std::function<void()>& wait = [] {}) {
  step();  // warm-up: first-touch of buffers, thread pools
  wait();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) step();
  wait();
  return seconds_since(start) / repeats;
}

// What a benchmark reads from the device it runs on: the peak memory since reset()
// (this process's resident set on the CPU, the caching allocator's peak on a GPU) and
// `wait` for time_per_call.
class DeviceMeter {
 public:
  explicit DeviceMeter(const c10::Device& device) : device_(device) {
    if (device.is_cuda()) wait = [index = device.index()] { torch::cuda::synchronize(index); };
  }
  void reset() const {
#ifdef SPN_WITH_NCCL
    if (device_.is_cuda()) return c10::cuda::CUDACachingAllocator::resetPeakStats(device_.index());
#endif
    reset_peak_memory();
  }
  double peak_mib() const {
#ifdef SPN_WITH_NCCL
    if (device_.is_cuda())
      return c10::cuda::CUDACachingAllocator::getDeviceStats(device_.index())
                 .allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
                 .peak /
             1048576.0;
#endif
    return peak_memory_mib();
  }
  // The JSON key of the peaks: which memory they are.
  std::string key() const { return device_.is_cuda() ? "peak_gpu_memory_mib_per_rank" : "peak_memory_mib_per_rank"; }
  std::function<void()> wait = [] {};

 private:
  c10::Device device_;
};

// The node's cores split over the ranks on it; sets torch's thread count to that.
inline int use_cores_per_rank(const Communicator& comm) {
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  const int threads = static_cast<int>(std::max(1L, cores / comm.local_size()));
  at::set_num_threads(threads);
  return threads;
}

// The source tree (its bench/ scripts): the one spn was built from, or the environment's
// SPN_SOURCE_DIR when the binaries run from a copy elsewhere (scripts/gpu-check.sh).
inline std::string source_dir() {
  const char* dir = std::getenv("SPN_SOURCE_DIR");
  return dir && *dir ? dir : SPN_SOURCE_DIR;
}

// The last JSON line `command` prints (its stderr is dropped), or an object whose
// "skipped" says the command failed.
inline nlohmann::json run_python_reference(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return {{"skipped", command + " could not start"}};
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = ::pclose(pipe);
  // The last line that starts an object (the object itself may nest others).
  const size_t line = output.rfind("\n{", output.find_last_not_of('\n'));
  const size_t begin = line != std::string::npos ? line + 1 : output.rfind('{', 0);
  if (status != 0 || begin == std::string::npos) return {{"skipped", command + " failed"}};
  return nlohmann::json::parse(output.substr(begin));
}

// The last JSON line a Python peer prints: the interpreter command in environment
// variable `python_variable` runs bench/<script_and_arguments>; {"skipped": why} when the
// variable is unset (`needs` says what it must name) or the script fails.
inline nlohmann::json python_peer_line(const char* python_variable, const std::string& script_and_arguments,
                                       const std::string& needs) {
  const char* python = std::getenv(python_variable);
  if (!python || !*python) return {{"skipped", std::string("set ") + python_variable + " to a Python with " + needs}};
  return run_python_reference(std::string(python) + " " + source_dir() + "/bench/" + script_and_arguments);
}

// The training benchmarks' peers: bench/<script> THREADS BATCH REPEATS cpu|cuda, run by
// SPN_TORCH_PYTHON when set, else by `default_python` (the torch installation's, from CMake).
inline nlohmann::json training_peer_line(const char* default_python, const std::string& script, int threads,
                                         int64_t batch, int64_t repeats, bool cuda) {
  const char* python = std::getenv("SPN_TORCH_PYTHON");
  return run_python_reference(std::string(python && *python ? python : default_python) + " " + source_dir() +
                              "/bench/" + script + " " + std::to_string(threads) + " " + std::to_string(batch) + " " +
                              std::to_string(repeats) + " " + (cuda ? "cuda" : "cpu"));
}

}  // namespace spn::bench
