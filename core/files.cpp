#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace spn {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path.string() + ": cannot open file (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

fs::path temporary_path_for(const fs::path& path) {
  return fs::path(path.string() + ".tmp-" + std::to_string(::getpid()));
}

static void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void commit_temporary(const fs::path& temporary, const fs::path& path) {
  fsync_path(temporary);
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec)
    throw std::runtime_error("cannot rename " + temporary.string() + " to " + path.string() + ": " + ec.message());
}

void make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError(dir.string() + ": cannot create directory (" + ec.message() + ")");
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  if (path.has_parent_path()) make_directories(path.parent_path());
  const fs::path temporary = temporary_path_for(path);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    // A directory the user named that is not writable.
    if (!out) throw UserError(temporary.string() + ": cannot write (" + std::strerror(errno) + ")");
    out << content;
    out.flush();
    if (!out) throw std::runtime_error("write failed for " + temporary.string());
  }
  commit_temporary(temporary, path);
}

void append_line(const fs::path& path, const std::string& line) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  if (!out) throw std::runtime_error("cannot append to " + path.string() + ": " + std::strerror(errno));
  out << line << '\n';
  out.flush();
}

}  // namespace spn
