#pragma once
// Peak resident memory, the figure that says whether a rank's data fits its machine.
#include <cstdint>
#include <vector>

#include "dist/communicator.h"

namespace spn {

// This process's peak resident set size so far, in MiB (Linux: getrusage's ru_maxrss).
double peak_resident_mib();

// Every rank's peak_resident_mib(), in rank order (a collective).
std::vector<double> peak_resident_mib_per_rank(Communicator& comm);

}  // namespace spn
