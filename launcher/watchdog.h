#pragma once
// Ends a job that no rank can move forward any more. A rank that is stopped (SIGSTOP,
// swapped out), hung in I/O or deadlocked leaves its peers waiting in a collective for
// ever, spinning at full CPU. Each rank runs one watchdog thread: every few seconds it
// writes <dir>/rank-N.json (host, pid, its last progress, core/activity.h); once its own
// rank has made no progress for `timeout_seconds`, it reads its peers' files, and when
// no rank has made progress for that long, it names the rank silent the longest and
// where each waits, records the failure and exits with kExitWatchdog (mpirun then ends
// the other ranks).
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace spn {

class Watchdog {
 public:
  // `record_failure(message)` is called on the watchdog's thread before it exits.
  Watchdog(std::filesystem::path dir, int rank, int ranks, double timeout_seconds,
           std::function<void(const std::string&)> record_failure);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void watch();
  void write_heartbeat(double now);
  // The message when no rank has made progress for the timeout, else "".
  std::string verdict(double now) const;

  std::filesystem::path dir_;
  int rank_, ranks_;
  double timeout_;
  std::function<void(const std::string&)> record_failure_;
  std::string host_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace spn
