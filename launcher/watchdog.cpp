#include "launcher/watchdog.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/activity.h"
#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

constexpr const char* kVerdictName = "verdict";

std::string heartbeat_name(int rank) { return "rank-" + std::to_string(rank) + ".json"; }

std::string describe(const nlohmann::json& beat, double now) {
  return "rank " + std::to_string(beat.value("rank", -1)) + " (host " + beat.value("host", "?") + ", pid " +
         std::to_string(beat.value("pid", 0)) + "), last progress " +
         std::to_string(static_cast<long>(std::lround(now - beat.value("progress_time", 0.0)))) + " s ago at '" +
         beat.value("where", "start") + "'";
}

}  // namespace

Watchdog::Watchdog(std::filesystem::path dir, int rank, int ranks, double timeout_seconds,
                   std::function<void(const std::string&)> record_failure)
    : dir_(std::move(dir)),
      rank_(rank),
      ranks_(ranks),
      timeout_(timeout_seconds),
      record_failure_(std::move(record_failure)) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  host_ = host;
  make_directories(dir_);
  // An earlier attempt's; no rank can judge this one before a timeout has passed.
  std::error_code ignored;
  if (rank_ == 0) std::filesystem::remove(dir_ / kVerdictName, ignored);
  // The clock starts now: a rank that has not reported yet is at its start.
  if (current_activity().progress_time == 0) note_progress("start");
  write_heartbeat(unix_now());
  thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Watchdog::write_heartbeat(double now) {
  const Activity activity = current_activity();
  const nlohmann::json beat = {{"rank", rank_},
                               {"host", host_},
                               {"pid", ::getpid()},
                               {"where", activity.where},
                               {"progress_time", activity.progress_time},
                               {"written", now}};
  try {
    write_file_atomic(dir_ / heartbeat_name(rank_), beat.dump() + "\n");
  } catch (const std::exception& error) {
    // A heartbeat that cannot be written (a full disk) leaves the peers' judgement to
    // this rank's last one; the run's own writes report the disk.
    spdlog::debug("watchdog: {}", error.what());
  }
}

std::string Watchdog::verdict(double now) const {
  // Peers are read only when this rank has waited that long itself: a healthy job
  // never reads them, however many ranks it has.
  const Activity mine = current_activity();
  if (now - mine.progress_time < timeout_) return "";
  nlohmann::json silent, self;
  double newest = mine.progress_time;
  for (int rank = 0; rank < ranks_; ++rank) {
    nlohmann::json beat;
    try {
      beat = nlohmann::json::parse(read_file(dir_ / heartbeat_name(rank)));
    } catch (const std::exception&) {
      continue;  // not written yet, or being replaced
    }
    if (rank == rank_) {
      beat["progress_time"] = mine.progress_time;
      beat["where"] = mine.where;
      self = beat;
    }
    const double progress = beat.value("progress_time", 0.0);
    newest = std::max(newest, progress);
    if (silent.is_null() || progress < silent.value("progress_time", 0.0)) silent = beat;
  }
  if (now - newest < timeout_) return "";
  std::string message = "watchdog: no rank has made progress for " + std::to_string(static_cast<long>(now - newest)) +
                        " s (--watchdog " + std::to_string(static_cast<long>(timeout_)) + "): a rank stopped answering";
  if (!silent.is_null()) message += "; silent longest: " + describe(silent, now);
  if (!self.is_null() && silent.value("rank", -1) != rank_) message += "; this is " + describe(self, now);
  return message + "; ending the job";
}

void Watchdog::watch() {
  const auto interval = std::chrono::duration<double>(std::clamp(timeout_ / 4, 0.5, 5.0));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    const double now = unix_now();
    write_heartbeat(now);
    const std::string message = verdict(now);
    if (message.empty()) continue;
    spdlog::error("{}", message);
    // The first rank to judge records it; a stopped rank that mpirun wakes (SIGCONT
    // before its SIGTERM) would judge again and overwrite the better-informed verdict.
    const int verdict_fd = ::open((dir_ / kVerdictName).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (verdict_fd >= 0) {
      ::close(verdict_fd);
      record_failure_(message);
    }
    spdlog::default_logger()->flush();
    // The main thread is blocked in a collective that will never return; only leaving
    // the process ends it. mpirun sees a rank exit without finalizing and ends the rest.
    ::_exit(kExitWatchdog);
  }
}

}  // namespace spn
