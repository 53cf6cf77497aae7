#pragma once
// File helpers shared by every module. Outputs are written to a temporary name in the
// same directory and renamed when complete, so a reader never sees a half-written file.
// Every write checks what the system said: a full disk or a failing device is an
// IoError naming the path and errno (exit 3), and the temporary file is removed.
#include <filesystem>
#include <string>

namespace spn {

namespace fs = std::filesystem;

// Reads a whole file; throws UserError naming the path when it cannot be read.
std::string read_file(const fs::path& path);

// Creates `dir` and its missing parents. Output directories come from the user (runs_dir,
// stage2.bank_dir, data.root), so one that cannot be created (a parent is a file, no
// permission) is a UserError naming it and the system's reason.
void make_directories(const fs::path& dir);

// A file written under a temporary name (<path>.tmp-<pid>) and renamed into place by
// commit(), after its bytes are on disk. Destroyed uncommitted (an error on the way),
// it removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(const fs::path& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  void commit();
  const fs::path& temporary() const { return temporary_; }

 private:
  fs::path path_, temporary_;
  int fd_ = -1;
};

// Writes `content` to `path` atomically (temporary file + rename), creating parents.
void write_file_atomic(const fs::path& path, const std::string& content);

// The temporary name used for an atomic write of `path` by this process.
fs::path temporary_path_for(const fs::path& path);

// Renames a finished temporary file into place (fsync'd before the rename).
void commit_temporary(const fs::path& temporary, const fs::path& path);

// Removes the temporary files (<name>.tmp-<pid>) writers killed mid-write left in
// `dir` and below; the caller must be the directory's only writer (hold its lock).
// Returns how many it removed.
int remove_stale_temporaries(const fs::path& dir);

// Appends one line (a newline is added) and flushes it to disk. A line that cannot be
// written whole is taken back, so the file never ends in a torn line it wrote.
void append_line(const fs::path& path, const std::string& line);
// Appends bytes the same way (binary records).
void append_to_file(const fs::path& path, const std::string& bytes);

}  // namespace spn
