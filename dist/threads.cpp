#include "dist/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#ifdef SPN_TORCH_OPENMP
#include <omp.h>
#endif

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

void use_one_torch_thread_here() {
#ifdef SPN_TORCH_OPENMP
  // torch's OpenMP backend takes a thread's team size from the OpenMP setting of that
  // thread, which torch initialises from the rank's setting on the thread's first
  // operation: initialise it first, then narrow this thread's setting alone.
  at::get_num_threads();
  omp_set_num_threads(1);
#endif
}

}  // namespace spn
