#pragma once
// Dropout whose masks follow each row's global index in the batch rather than the order
// of torch's generator, so a row draws the same mask whichever rank holds it and runs
// match across world sizes (the CIR heads and the zero-shot mapping networks use it).
#include <torch/types.h>

#include "models/interfaces.h"

namespace spn {

// Inverted dropout of a [rows, width] tensor: entry (r, c) is kept when a hash of
// (draws.seed, site, global row draws.first_row + r, c) is at least p. `site` tells a
// module's dropout layers apart.
torch::Tensor dropout_by_global_row(const torch::Tensor& x, double p, const RowDraws& draws, uint64_t site);

}  // namespace spn
