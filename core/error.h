#pragma once
// Errors that spn-launch reports to the user, and its exit statuses:
//   UserError  bad input (config, files, annotations, banks)                    exit 2
//   IoError    the system refused a write or read: a full disk, a quota, EIO     exit 3
//   anything else: a bug or an environment failure                              exit 1
//   Preempted  a stop signal: checkpointed, status "preempted"                  exit 4
//   the watchdog (launcher/watchdog.h): no rank made progress for too long      exit 5
#include <stdexcept>
#include <string>

namespace spn {

constexpr int kExitInternalError = 1;
constexpr int kExitUserError = 2;
constexpr int kExitIoError = 3;
constexpr int kExitPreempted = 4;
constexpr int kExitWatchdog = 5;

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

class IoError : public std::runtime_error {
 public:
  // "<path>: cannot <what>: <strerror> (<ENAME>)", e.g. "...: cannot write: No space
  // left on device (ENOSPC)".
  IoError(const std::string& path, const std::string& what, int error_number);
  int error_number() const { return error_number_; }

 private:
  int error_number_;
};

// A stop signal (--stop-signals: Slurm's SIGTERM before a time limit, SIGUSR1 from
// mpirun) made every rank stop at the same step; the checkpoint to resume from is
// written. Exit 4; rerunning the same command resumes.
class Preempted : public std::runtime_error {
 public:
  explicit Preempted(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace spn
