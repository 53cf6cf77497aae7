#pragma once
// Temporary directories for tests; under mpirun all ranks share rank 0's directory.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "dist/communicator.h"

namespace spn::testing {

// tests/golden: the fixtures scripts/make-golden.py writes from the reference implementations.
inline std::filesystem::path golden_dir() { return std::filesystem::path(SPN_SOURCE_DIR) / "tests" / "golden"; }

// ../shared/datasets: the real CIRR, FashionIQ and CIRCO annotation files (no images),
// read in place; tests that need them skip when it is absent.
inline std::filesystem::path shared_datasets_dir() { return std::filesystem::path(SPN_SHARED_DIR) / "datasets"; }

inline std::filesystem::path shared_temp_dir(Communicator& comm, const std::string& label) {
  std::string path;
  if (comm.rank() == 0) {
    path = (std::filesystem::temp_directory_path() / ("spn-test-" + label + "-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  return broadcast_string(comm, path, 0);
}

}  // namespace spn::testing
