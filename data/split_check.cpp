#include "data/split_check.h"

#include <algorithm>

#include "core/error.h"
#include "core/hash.h"
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

// Each field length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
class Digest {
 public:
  void add(std::string_view text) {
    add(static_cast<int64_t>(text.size()));
    hash_ = fnv1a(text, hash_);
  }
  void add(int64_t value) { hash_ = fnv1a(&value, sizeof value, hash_); }
  void add(const std::vector<int64_t>& values) {
    add(static_cast<int64_t>(values.size()));
    for (int64_t value : values) add(value);
  }
  void add(const std::vector<std::string>& texts) {
    add(static_cast<int64_t>(texts.size()));
    for (const std::string& text : texts) add(text);
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = kFnvOffset;
};

}  // namespace

std::string split_digest(const CirrSplit& split) {
  Digest digest;
  digest.add(split.name);
  digest.add(static_cast<int64_t>(split.format));
  digest.add(split.images);
  digest.add(split.relative_paths);
  digest.add(split.categories);
  digest.add(static_cast<int64_t>(split.category_images.size()));
  for (const std::vector<int64_t>& images : split.category_images) digest.add(images);
  digest.add(static_cast<int64_t>(split.triplets.size()));
  for (const CirrTriplet& t : split.triplets) {
    for (int64_t value : {t.pairid, t.reference, t.target, t.category}) digest.add(value);
    digest.add(t.caption);
    digest.add(t.second_caption);
    digest.add(t.captions);
    digest.add(t.equally_good_targets);
    digest.add(t.members);
  }
  return std::to_string(split.images.size()) + " images, " + std::to_string(split.triplets.size()) +
         " items, content " + hex64(digest.value());
}

void check_split_agrees(Communicator& comm, const CirrSplit& split) {
  const std::vector<std::string> digests = comm.all_gather_string(split_digest(split));
  for (size_t rank = 1; rank < digests.size(); ++rank)
    if (digests[rank] != digests[0])
      throw UserError(split.root.string() + ": split '" + split.name + "' differs between ranks: rank 0 read " +
                      digests[0] + ", rank " + std::to_string(rank) + " read " + digests[rank] +
                      "; every rank must read the same annotation files and image lists (are node-local copies of "
                      "the dataset different, or was a folder still being written?)");
}

std::string missing_targets(const CirrSplit& split) {
  if (split.triplets.empty()) return "split '" + split.name + "' has no items";
  for (size_t i = 0; i < split.triplets.size(); ++i)
    if (split.triplets[i].target < 0) return item_name(split, i) + " has no target (target_hard)";
  return "";
}

void check_split_images(Communicator& comm, const CirrSplit& split, bool show_progress) {
  check_split_agrees(comm, split);
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
