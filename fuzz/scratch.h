#pragma once
// What the harnesses share: the readers read files, so each input is written into a
// scratch directory (one per fuzzer process, removed at exit) first. Inputs that stand
// for several files hold them separated by NUL bytes, which the JSON and TOML files the
// readers take cannot contain anyway.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace spn::fuzz {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "spn-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

  // Writes `bytes` at `relative` (creating its folders) and returns the full path.
  std::filesystem::path write(const std::string& relative, const std::string& bytes) const {
    const std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) std::abort();  // the harness's own failure, not the reader's
    return file;
  }

 private:
  std::filesystem::path path_;
};

// The process's scratch directory.
inline const ScratchDir& scratch() {
  static const ScratchDir dir;
  return dir;
}

// The input's NUL-separated parts; always at least `count` (missing ones are empty).
inline std::vector<std::string> split_input(const uint8_t* data, size_t size, size_t count) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && parts.size() < count) {
      parts.emplace_back();
    } else {
      parts.back().push_back(static_cast<char>(data[i]));
    }
  }
  parts.resize(std::max(parts.size(), count));
  return parts;
}

}  // namespace spn::fuzz
