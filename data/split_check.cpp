#include "data/split_check.h"

#include <algorithm>

#include "core/error.h"
#include "core/progress.h"
#include "data/image_io.h"
#include "dist/sharding.h"

namespace spn {
namespace {

std::string item_name(const CirrSplit& split, size_t item) {
  return "split '" + split.name + "' item " + std::to_string(item) + " (pairid " +
         std::to_string(split.triplets[item].pairid) + ")";
}

// The first item that uses image `image`, and as what, for an error message.
std::string first_use_of(const CirrSplit& split, int64_t image) {
  for (size_t i = 0; i < split.triplets.size(); ++i) {
    const CirrTriplet& t = split.triplets[i];
    const char* role = t.reference == image ? "its reference"
                       : t.target == image  ? "its target"
                       : std::find(t.members.begin(), t.members.end(), image) != t.members.end()
                           ? "a member of its image set"
                           : nullptr;
    if (role) return "; " + item_name(split, i) + " uses it as " + role;
  }
  return "; it is in the gallery of split '" + split.name + "'";
}

}  // namespace

std::string missing_targets(const CirrSplit& split) {
  if (split.triplets.empty()) return "split '" + split.name + "' has no items";
  for (size_t i = 0; i < split.triplets.size(); ++i)
    if (split.triplets[i].target < 0) return item_name(split, i) + " has no target (target_hard)";
  return "";
}

void check_split_images(Communicator& comm, const CirrSplit& split, bool show_progress) {
  const int64_t images = static_cast<int64_t>(split.images.size());
  const ShardRange mine = shard_range(images, comm.size(), comm.rank());
  Progress progress("checking " + split.name + " images", mine.size(), show_progress);
  std::string problem;
  int64_t bad = -1;
  for (int64_t i = mine.begin; i < mine.end && bad < 0; ++i) {
    problem = image_file_problem(split.image_path(i));
    if (!problem.empty()) bad = i;
    progress.update(i - mine.begin + 1);
  }
  progress.finish();
  // The first bad image in split order: shards are contiguous, so in rank order.
  const std::vector<std::string> found =
      comm.all_gather_string(bad < 0 ? ""
                                     : split.image_path(bad).string() + ": image '" + split.images[bad] +
                                           "': " + problem + first_use_of(split, bad));
  for (const std::string& error : found)
    if (!error.empty()) throw UserError(error);
}

}  // namespace spn
