#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/activity.h"
#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what, int error) {
  throw UserError(path.string() + ": cannot " + what + " (" + std::strerror(error) + ")");
}

// Close-on-exec: a child (git, a captioner's shell) must not carry the lock.
int open_lock_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "open the lock file", errno);
  return fd;
}

// Replaces the file's text with this process's host and pid. The file is the lock, so it
// is rewritten in place, never renamed over.
void record_holder(int fd) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string text = "host " + std::string(host) + ", pid " + std::to_string(::getpid()) + "\n";
  // A note that cannot be written leaves the lock held; only the name given to a second
  // comer is lost.
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd, text.data(), text.size(), 0);
  }
}

}  // namespace

std::optional<FileLock> FileLock::try_take(const std::filesystem::path& path) {
  FileLock lock(open_lock_file(path));
  if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return std::nullopt;
    fail(path, "lock the lock file", errno);
  }
  record_holder(lock.fd_);
  return lock;
}

FileLock FileLock::take(const std::filesystem::path& path, const std::function<void(const std::string&)>& on_wait) {
  if (std::optional<FileLock> free = try_take(path)) return std::move(*free);
  on_wait(holder(path));
  FileLock lock(open_lock_file(path));
  // Polled rather than blocked on: waiting for another command (a bank build may take an
  // hour) is progress for the watchdog (core/activity.h), not a hang.
  while (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) fail(path, "lock the lock file", errno);
    note_progress("waiting for " + path.string());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  record_holder(lock.fd_);
  return lock;
}

std::string FileLock::holder(const std::filesystem::path& path) {
  try {
    std::string text = read_file(path);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  } catch (const UserError&) {
    return "";  // gone or unreadable: the holder is unknown, the lock still taken
  }
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

// Closing the file releases the lock.
FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace spn
