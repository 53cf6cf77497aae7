#include "launcher/environment.h"

#include <ATen/Parallel.h>
#include <png.h>
#include <spdlog/version.h>
#include <toml++/toml.h>
#include <torch/version.h>
#include <unistd.h>

namespace spn {

nlohmann::json describe_environment(Communicator& comm, int threads) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::vector<std::string> hosts = comm.all_gather_string(host);
  const std::vector<int64_t> thread_counts = comm.all_gather_int(threads);
  const std::vector<int64_t> pids = comm.all_gather_int(::getpid());
  return {
      {"world_size", comm.size()},
      {"backend", comm.backend()},
      {"hosts", hosts},
      {"pids", pids},
      {"threads_per_rank", thread_counts},
      {"cores_online", sysconf(_SC_NPROCESSORS_ONLN)},
      {"versions",
       {{"torch", TORCH_VERSION},
        {"communication", comm.library_version()},
        {"spdlog", std::to_string(SPDLOG_VER_MAJOR) + "." + std::to_string(SPDLOG_VER_MINOR) + "." +
                       std::to_string(SPDLOG_VER_PATCH)},
        {"tomlplusplus",
         std::to_string(TOML_LIB_MAJOR) + "." + std::to_string(TOML_LIB_MINOR) + "." + std::to_string(TOML_LIB_PATCH)},
        {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
        {"libpng", PNG_LIBPNG_VER_STRING},
        {"compiler", __VERSION__}}},
      {"torch_parallel", at::get_parallel_info()},
  };
}

}  // namespace spn
