#pragma once
// A folder of unlabeled images as a training split (data.kind = "images"): what the
// zero-shot families train their mapping network on (Pic2Word trains on CC3M's images,
// SEARLE on ImageNet's). Every PNG or JPEG under the folder, at any depth, is one image,
// named by its path relative to the folder; the split has no triplets.
#include <filesystem>

#include "data/cirr.h"

namespace spn {

// The images under `root`, sorted by relative path so every rank and every run sees
// the same order. Files whose extension is not .png, .jpg or .jpeg (any case) are
// skipped; hidden files and folders (a leading '.') too. A missing folder, or one with no
// image, is a UserError naming it; the images themselves are checked later, with every
// split's (data/split_check.h).
CirrSplit load_image_folder(const std::filesystem::path& root);

}  // namespace spn
