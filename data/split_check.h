#pragma once
// Checks of a split made before any compute, so a bad item stops a run at its start
// rather than after hours of stage 1.
#include <string>

#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

// "" when every item of `split` has a target; else why not, naming the first item that
// has none (index and pairid) or saying that the split has no items.
std::string missing_targets(const CirrSplit& split);

// A digest of everything `split` holds (its images, paths, items, categories) and its
// sizes, e.g. "3000 images, 1000 items, content 0f3a...": equal digests mean equal splits.
std::string split_digest(const CirrSplit& split);

// Every rank read the same `split`; a collective. Each rank reads its own copy of the
// annotation files and lists image folders itself, so node-local copies of a dataset that
// differ, or a folder still being copied while the job starts, would otherwise shard
// different lists on different ranks: wrong batches or a hang, not an error. Every rank
// throws the same UserError naming the split, its root and the first rank that disagrees
// with rank 0.
void check_split_agrees(Communicator& comm, const CirrSplit& split);

// The split agrees across ranks (check_split_agrees; the sharding below needs it), and
// every image file of `split` exists and is an intact PNG or JPEG (data/image_io.h:
// image_file_problem). Sharded across ranks, with progress; a collective. Every rank
// throws the same UserError naming the first bad image, its file, what is wrong and the
// first item that uses it.
void check_split_images(Communicator& comm, const CirrSplit& split, bool show_progress);

}  // namespace spn
