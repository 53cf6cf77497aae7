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

// Every image file of `split` exists and is an intact PNG or JPEG (data/image_io.h:
// image_file_problem). Sharded across ranks, with progress; a collective. Every rank
// throws the same UserError naming the first bad image, its file, what is wrong and the
// first item that uses it.
void check_split_images(Communicator& comm, const CirrSplit& split, bool show_progress);

}  // namespace spn
