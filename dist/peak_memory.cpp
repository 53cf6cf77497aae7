#include "dist/peak_memory.h"

#include <sys/resource.h>

namespace spn {

double peak_resident_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

std::vector<double> peak_resident_mib_per_rank(Communicator& comm) {
  std::vector<double> per_rank;
  for (int64_t kib : comm.all_gather_int(static_cast<int64_t>(peak_resident_mib() * 1024.0)))
    per_rank.push_back(static_cast<double>(kib) / 1024.0);
  return per_rank;
}

}  // namespace spn
