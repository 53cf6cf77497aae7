#pragma once
// Advisory locks (flock) that keep one writer per run directory and per bank. The lock
// belongs to the open file, so the OS drops it when its holder ends, however it ends: a
// killed run leaves nothing to clean up. The lock file holds "host H, pid P" of its
// holder, so whoever finds it taken can say who has it. On NFS, Linux turns flock into
// the server's byte-range locks, so processes on different hosts exclude each other too.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace spn {

class FileLock {
 public:
  // The lock of `path` (created when missing), or nullopt when another holds it. A lock
  // file that cannot be opened or locked is a UserError naming it and the OS's reason.
  static std::optional<FileLock> try_take(const std::filesystem::path& path);
  // The lock of `path`, waiting as long as another holds it; `on_wait` is called once,
  // with the holder, before waiting.
  static FileLock take(const std::filesystem::path& path, const std::function<void(const std::string&)>& on_wait);
  // Who holds, or last held, the lock of `path` ("host H, pid P"); "" when unknown.
  static std::string holder(const std::filesystem::path& path);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();  // releases the lock

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace spn
