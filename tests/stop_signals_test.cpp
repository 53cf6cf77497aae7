// The pieces of preemption and I/O errors that need no run: parsing --stop-signals, the
// recording handler, IoError's message, temporaries removed on failure and on resume.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

#include "core/error.h"
#include "core/files.h"
#include "core/stop_signals.h"
#include "test_files.h"

namespace spn {
namespace {

TEST(StopSignals, ParsesNamesAndNumbersAndRefusesTheUncatchable) {
  EXPECT_EQ(parse_stop_signals("SIGTERM,SIGUSR1", "--stop-signals"), (std::vector<int>{SIGTERM, SIGUSR1}));
  EXPECT_EQ(parse_stop_signals("USR2,15", "--stop-signals"), (std::vector<int>{SIGUSR2, SIGTERM}));
  EXPECT_TRUE(parse_stop_signals("none", "--stop-signals").empty());
  for (const char* bad : {"SIGKILL", "SIGSTOP", "SIGNOPE", "", "0"}) {
    try {
      parse_stop_signals(bad, "--stop-signals");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UserError& error) {
      EXPECT_EQ(std::string(error.what()).rfind("--stop-signals: ", 0), 0u) << error.what();
    }
  }
  EXPECT_EQ(signal_name(SIGUSR1), "SIGUSR1");
}

// In a child process: the flag it sets would stop every later run in this one.
TEST(StopSignals, TheHandlerRecordsTheFirstSignalAndTheProcessGoesOn) {
  EXPECT_EXIT(
      {
        install_stop_signals({SIGUSR2, SIGUSR1});
        const bool clear_before = received_stop_signal() == 0;
        std::raise(SIGUSR2);
        std::raise(SIGUSR1);
        std::exit(clear_before && received_stop_signal() == SIGUSR2 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(IoErrors, NameThePathTheOperationAndTheErrno) {
  const IoError error("/data/runs/x/metrics.jsonl", "append", ENOSPC);
  EXPECT_STREQ(error.what(), "/data/runs/x/metrics.jsonl: cannot append: No space left on device (ENOSPC)");
  EXPECT_EQ(error.error_number(), ENOSPC);
}

TEST(AtomicFiles, AnUncommittedFileLeavesNothingAndStaleTemporariesAreRemoved) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "atomic");
  {
    AtomicFile file(dir / "out.txt");
    file.write("half");
    EXPECT_TRUE(fs::exists(file.temporary()));
  }  // an exception on the way out, say
  EXPECT_TRUE(fs::is_empty(dir));

  write_file_atomic(dir / "kept.txt", "whole");
  write_file_atomic(dir / "sub/stale.pt.tmp-12345", "left by a kill");
  write_file_atomic(dir / "sub/not.tmp-a-pid", "a user's file");
  EXPECT_EQ(remove_stale_temporaries(dir), 1);
  EXPECT_FALSE(fs::exists(dir / "sub/stale.pt.tmp-12345"));
  EXPECT_TRUE(fs::exists(dir / "sub/not.tmp-a-pid"));
  EXPECT_EQ(read_file(dir / "kept.txt"), "whole");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
