#pragma once
#include <filesystem>
#include <string>

namespace spn {

struct GitInfo {
  std::string commit;  // empty when the source tree is not a git checkout
  bool dirty = false;
  std::string diff;  // `git diff HEAD` when dirty
};

// The state of the git checkout at `source_dir` (the tree spn was built from).
GitInfo read_git_info(const std::filesystem::path& source_dir);

}  // namespace spn
