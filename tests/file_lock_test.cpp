// FileLock: one holder at a time, across threads and processes; the holder is named;
// a holder that dies releases it; take() waits for the holder and says so once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/file_lock.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

std::string this_holder() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return "host " + std::string(host) + ", pid " + std::to_string(::getpid());
}

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto local = make_local_communicator();
    dir_ = testing::shared_temp_dir(*local, "file-lock");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileLockTest, OneHolderAtATimeNamedInTheFile) {
  const fs::path path = dir_ / "lock";
  {
    std::optional<FileLock> first = FileLock::try_take(path);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(FileLock::holder(path), this_holder());
    EXPECT_FALSE(FileLock::try_take(path).has_value()) << "a second open of the file in the same process";
  }
  EXPECT_TRUE(FileLock::try_take(path).has_value()) << "released when the first went out of scope";
}

// A process that holds the lock and is killed leaves it free: nothing to clean up.
TEST_F(FileLockTest, AnotherProcessHoldsItUntilItIsKilled) {
  const fs::path path = dir_ / "lock";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    std::optional<FileLock> lock;
    try {
      lock = FileLock::try_take(path);
    } catch (const UserError&) {  // reported below as not taken
    }
    const char flag = lock ? '1' : '0';
    [[maybe_unused]] const ssize_t sent = ::write(ready[1], &flag, 1);
    ::pause();
    ::_exit(0);
  }
  char flag = 0;
  ASSERT_EQ(::read(ready[0], &flag, 1), 1);
  ASSERT_EQ(flag, '1');
  EXPECT_FALSE(FileLock::try_take(path).has_value());
  EXPECT_NE(FileLock::holder(path).find("pid " + std::to_string(child)), std::string::npos) << FileLock::holder(path);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(FileLock::try_take(path).has_value());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_F(FileLockTest, TakeWaitsForTheHolderAndSaysSoOnce) {
  const fs::path path = dir_ / "lock";
  std::optional<FileLock> held = FileLock::try_take(path);
  ASSERT_TRUE(held.has_value());
  std::atomic<bool> waiting{false}, released{false};
  std::thread holder([&] {
    while (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    released = true;
    held.reset();
  });
  int waits = 0;
  const FileLock taken = FileLock::take(path, [&](const std::string& who) {
    ++waits;
    EXPECT_EQ(who, this_holder());
    waiting = true;
  });
  EXPECT_TRUE(released) << "take() returned while the lock was held";
  EXPECT_EQ(waits, 1);
  waiting = true;  // lets the holder end had take() not waited
  holder.join();

  int free_waits = 0;
  const FileLock free = FileLock::take(dir_ / "free", [&](const std::string&) { ++free_waits; });
  EXPECT_EQ(free_waits, 0) << "a free lock is taken without waiting";
}

TEST_F(FileLockTest, ALockFileThatCannotBeOpenedIsNamed) {
  const fs::path path = dir_ / "missing-dir/lock";
  try {
    FileLock::try_take(path);
    FAIL() << "no error";
  } catch (const UserError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace spn
