#include "dist/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

namespace spn {

int configure_threads(const Communicator& comm, int64_t requested) {
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  const int threads = requested > 0 ? static_cast<int>(requested)
                                    : static_cast<int>(std::max(1L, cores / std::max(1, comm.local_size())));
  at::set_num_threads(threads);

  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    const int usable = CPU_COUNT(&allowed);
    if (usable < threads)
      spdlog::warn(
          "rank {} runs {} threads but is bound to {} core(s); with mpirun use --bind-to none "
          "(or --map-by slot:PE={})",
          comm.rank(), threads, usable, threads);
  }
  return threads;
}

}  // namespace spn
