#pragma once
// File helpers shared by every module. Outputs are written to a temporary name in the
// same directory and renamed when complete, so a reader never sees a half-written file.
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

// Writes `content` to `path` atomically (temporary file + rename), creating parents.
void write_file_atomic(const fs::path& path, const std::string& content);

// The temporary name used for an atomic write of `path` by this process.
fs::path temporary_path_for(const fs::path& path);

// Renames a finished temporary file into place (fsync'd before the rename).
void commit_temporary(const fs::path& temporary, const fs::path& path);

// Appends one line (a newline is added) and flushes it to disk.
void append_line(const fs::path& path, const std::string& line);

}  // namespace spn
