#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace spn {
namespace {

constexpr const char* kTemporaryInfix = ".tmp-";

// A directory the user chose that does not take files is bad input; a device that is
// full or failing is an I/O error.
[[noreturn]] void fail_to_open(const fs::path& path, int error_number) {
  switch (error_number) {
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOTDIR:
    case EISDIR:
    case ENOENT: throw UserError(path.string() + ": cannot write (" + std::strerror(error_number) + ")");
    default: throw IoError(path.string(), "create the file", error_number);
  }
}

// write(2) until every byte is taken; false with errno set otherwise.
bool write_all(int fd, const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (written == 0) {  // the device took nothing and said nothing: treat it as full
      errno = ENOSPC;
      return false;
    }
    bytes += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

// The last step of an atomic write, once the temporary's bytes are on disk.
void rename_into_place(const fs::path& temporary, const fs::path& path) {
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error_number = errno;
    ::unlink(temporary.c_str());
    throw IoError(path.string(), "rename " + temporary.filename().string() + " into place", error_number);
  }
}

}  // namespace

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path.string() + ": cannot open file (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

fs::path temporary_path_for(const fs::path& path) {
  return fs::path(path.string() + kTemporaryInfix + std::to_string(::getpid()));
}

void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError(dir.string() + ": cannot create directory (" + ec.message() + ")");
}

AtomicFile::AtomicFile(const fs::path& path) : path_(path), temporary_(temporary_path_for(path)) {
  if (path.has_parent_path()) make_directories(path.parent_path());
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_to_open(temporary_, errno);
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;  // committed
  ::close(fd_);
  ::unlink(temporary_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  if (!write_all(fd_, data, size)) throw IoError(temporary_.string(), "write", errno);
}

void AtomicFile::commit() {
  // fsync and close report what a write-back cache deferred (ENOSPC, EIO on NFS).
  if (::fsync(fd_) != 0 && errno != EINVAL) throw IoError(temporary_.string(), "sync to disk", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int error_number = errno;
    ::unlink(temporary_.c_str());
    throw IoError(temporary_.string(), "close", error_number);
  }
  rename_into_place(temporary_, path_);
}

void commit_temporary(const fs::path& temporary, const fs::path& path) {
  const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const bool synced = ::fsync(fd) == 0 || errno == EINVAL;
    const int error_number = errno;
    ::close(fd);
    if (!synced) {
      ::unlink(temporary.c_str());
      throw IoError(temporary.string(), "sync to disk", error_number);
    }
  }
  rename_into_place(temporary, path);
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

int remove_stale_temporaries(const fs::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t infix = name.rfind(kTemporaryInfix);
    if (infix == std::string::npos || !it->is_regular_file(ec)) continue;
    const std::string pid = name.substr(infix + std::strlen(kTemporaryInfix));
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

void append_line(const fs::path& path, const std::string& line) { append_to_file(path, line + '\n'); }

void append_to_file(const fs::path& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail_to_open(path, errno);
  struct stat before {};
  const bool sized = ::fstat(fd, &before) == 0;
  if (!write_all(fd, bytes.data(), bytes.size())) {
    const int error_number = errno;
    // Takes back a partly written record; should that fail too, a resumed run drops the
    // lines it cannot parse and rewrites the events file.
    if (sized) (void)!::ftruncate(fd, before.st_size);
    ::close(fd);
    throw IoError(path.string(), "append", error_number);
  }
  // close reports what the write-back cache deferred (NFS).
  if (::close(fd) != 0) throw IoError(path.string(), "append", errno);
}

}  // namespace spn
