// Per-run log files: a sweep runs several runs in one process, and each run's
// logs/rank-<r>.log must hold that run's lines only.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "core/files.h"
#include "core/log.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

TEST(RunLog, ALaterRunsLinesGoToItsOwnFileOnly) {
  auto comm = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*comm, "log");
  log_to_directory(dir / "first", 0);
  spdlog::info("line of the first run");
  log_to_directory(dir / "second", 0);
  spdlog::info("line of the second run");
  spdlog::default_logger()->flush();

  const std::string first = read_file(dir / "first/rank-0.log");
  const std::string second = read_file(dir / "second/rank-0.log");
  EXPECT_NE(first.find("line of the first run"), std::string::npos) << first;
  EXPECT_EQ(first.find("line of the second run"), std::string::npos) << first;
  EXPECT_NE(second.find("line of the second run"), std::string::npos) << second;
  EXPECT_EQ(second.find("line of the first run"), std::string::npos) << second;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
