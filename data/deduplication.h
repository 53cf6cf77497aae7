#pragma once
// Pixel-exact de-duplication of a split's images (SPN: the de-duplicated set is the id
// space of pair mining and of the stage-2 bank). Each rank decodes its shard at native
// size and hashes width, height and pixels; hashes are all-gathered; an image whose
// hash an earlier image shares is compared byte for byte with those earlier images, so
// a hash collision never merges different images. The kept copy of a group is its
// first image in split order, so the result is the same for any number of ranks.
#include <cstdint>
#include <vector>

#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

struct Deduplication {
  std::vector<int64_t> unique;     // split image indices kept, ascending
  std::vector<int64_t> canonical;  // per split image: the index of its kept copy

  int64_t duplicates() const { return static_cast<int64_t>(canonical.size() - unique.size()); }
};

Deduplication deduplicate_images(Communicator& comm, const CirrSplit& split, bool show_progress);

}  // namespace spn
