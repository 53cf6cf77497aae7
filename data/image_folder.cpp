#include "data/image_folder.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace spn {
namespace {

bool has_image_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".png" || extension == ".jpg" || extension == ".jpeg";
}

bool is_hidden(const std::filesystem::path& name) { return name.string().rfind('.', 0) == 0; }

}  // namespace

CirrSplit load_image_folder(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(root))
    throw UserError(root.string() + ": not a folder (data.kind = \"images\" trains on the images under data.root)");
  std::vector<std::string> names;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (is_hidden(it->path().filename())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && has_image_extension(it->path()))
      names.push_back(fs::relative(it->path(), root).generic_string());
  }
  if (names.empty())
    throw UserError(root.string() + ": no image in this folder (data.kind = \"images\" reads .png, .jpg and .jpeg)");
  std::sort(names.begin(), names.end());
  CirrSplit split;
  split.name = "train";
  split.root = root;
  for (const std::string& name : names) {
    split.index_of.emplace(name, static_cast<int64_t>(split.images.size()));
    split.images.push_back(name);
    split.relative_paths.push_back(name);
  }
  return split;
}

}  // namespace spn
