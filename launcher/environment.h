#pragma once
#include <nlohmann/json.hpp>

#include "dist/communicator.h"

namespace spn {

// What a run ran on: hosts per rank, ranks, threads, library and compiler versions.
nlohmann::json describe_environment(Communicator& comm, int threads);

}  // namespace spn
