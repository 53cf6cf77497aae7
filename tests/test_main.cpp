#include <gtest/gtest.h>

#include <memory>

#include "core/log.h"
#include "test_world.h"

namespace spn::testing {
namespace {
std::unique_ptr<Communicator> g_world;
}
Communicator& world() { return *g_world; }
}  // namespace spn::testing

int main(int argc, char** argv) {
  spn::testing::g_world = spn::make_world_communicator(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  spn::log_init(spn::testing::g_world->rank(), spn::testing::g_world->size());
  // Only rank 0 prints the test report; a failure on any rank still fails the job
  // through the rank's exit status.
  if (spn::testing::g_world->rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int status = RUN_ALL_TESTS();
  spn::finalize_communication();
  return status;
}
