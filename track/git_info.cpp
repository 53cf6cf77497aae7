#include "track/git_info.h"

#include <array>
#include <cstdio>

namespace spn {
namespace {

// Runs a command and returns its standard output ("" when it fails).
std::string capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buffer;
  size_t read;
  while ((read = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), read);
  if (::pclose(pipe) != 0) return "";
  return out;
}

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

}  // namespace

GitInfo read_git_info(const std::filesystem::path& source_dir) {
  GitInfo info;
  const std::string git = "git -C " + quoted(source_dir);
  info.commit = capture(git + " rev-parse HEAD");
  while (!info.commit.empty() && (info.commit.back() == '\n' || info.commit.back() == '\r')) info.commit.pop_back();
  if (info.commit.empty()) return info;
  info.diff = capture(git + " diff HEAD");
  info.dirty = !info.diff.empty() || !capture(git + " status --porcelain --untracked-files=no").empty();
  return info;
}

}  // namespace spn
