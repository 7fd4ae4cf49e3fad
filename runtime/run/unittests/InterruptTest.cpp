//===- InterruptTest.cpp - Ctrl-C and SIGTERM handling --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Signals are sent with raise(), which runs the handler before it returns.
// Tests that end in an exit run as death tests (in a child process); the
// child leaves markers in a file so the parent can tell how far it got.
//
//===----------------------------------------------------------------------===//

#include "RunTestUtil.h"

#include "ftl/Run/Checkpoint.h"
#include "ftl/Run/Interrupt.h"

#include "gtest/gtest.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {
InterruptGuard::Options quiet() {
  InterruptGuard::Options options;
  options.printMessages = false;
  return options;
}

/// Appends `text` to `path` with plain syscalls (safe right before _exit).
void mark(const std::string &path, const char *text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0)
    return;
  (void)!::write(fd, text, std::strlen(text));
  ::close(fd);
}

int gCustomCalls = 0;
void customHandler(int) { ++gCustomCalls; }

/// "fast" death tests fork without exec, so the child sees the parent's
/// temporary folder; the tests leave no threads running.
class InterruptDeathTest : public ::testing::Test {
protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "fast"); }
};
} // namespace

TEST(Interrupt, NoSignalMeansNotInterrupted) {
  InterruptGuard guard(quiet());
  EXPECT_FALSE(InterruptGuard::interrupted());
  EXPECT_EQ(InterruptGuard::signalCount(), 0);
  EXPECT_EQ(InterruptGuard::lastSignal(), 0);
}

TEST(Interrupt, FirstSigintOnlySetsTheFlag) {
  InterruptGuard guard(quiet());
  ASSERT_EQ(::raise(SIGINT), 0);
  EXPECT_TRUE(InterruptGuard::interrupted());
  EXPECT_EQ(InterruptGuard::signalCount(), 1);
  EXPECT_EQ(InterruptGuard::lastSignal(), SIGINT);
  EXPECT_EQ(InterruptGuard::exitStatus(), 130);
}

TEST(Interrupt, SigtermCountsLikeSigint) {
  InterruptGuard guard(quiet());
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_TRUE(InterruptGuard::interrupted());
  EXPECT_EQ(InterruptGuard::lastSignal(), SIGTERM);
  EXPECT_EQ(InterruptGuard::exitStatus(), 143);
}

TEST(Interrupt, ANewGuardStartsClearAndTheOldHandlerComesBack) {
  struct sigaction custom, before, after;
  std::memset(&custom, 0, sizeof(custom));
  custom.sa_handler = customHandler;
  sigemptyset(&custom.sa_mask);
  ASSERT_EQ(::sigaction(SIGINT, &custom, &before), 0);
  {
    InterruptGuard guard(quiet());
    ASSERT_EQ(::raise(SIGINT), 0);
    EXPECT_TRUE(InterruptGuard::interrupted());
  }
  {
    InterruptGuard guard(quiet());
    EXPECT_FALSE(InterruptGuard::interrupted());
  }
  gCustomCalls = 0;
  ASSERT_EQ(::raise(SIGINT), 0);
  EXPECT_EQ(gCustomCalls, 1);
  ASSERT_EQ(::sigaction(SIGINT, &before, &after), 0);
  EXPECT_EQ(after.sa_handler, customHandler);
}

TEST(Interrupt, GuardsNest) {
  struct sigaction custom, before, current;
  std::memset(&custom, 0, sizeof(custom));
  custom.sa_handler = customHandler;
  sigemptyset(&custom.sa_mask);
  ASSERT_EQ(::sigaction(SIGINT, &custom, &before), 0);
  {
    InterruptGuard outer(quiet());
    {
      InterruptGuard inner(quiet());
      ASSERT_EQ(::raise(SIGINT), 0);
    }
    // The inner guard neither cleared the count nor removed the handler.
    EXPECT_EQ(InterruptGuard::signalCount(), 1);
    ASSERT_EQ(::sigaction(SIGINT, nullptr, &current), 0);
    EXPECT_NE(current.sa_handler, customHandler);
    {
      InterruptGuard again(quiet());
      EXPECT_TRUE(InterruptGuard::interrupted());
    }
  }
  ASSERT_EQ(::sigaction(SIGINT, &before, &current), 0);
  EXPECT_EQ(current.sa_handler, customHandler);
}

TEST(Interrupt, WriteScopeWithoutSignalsDoesNothing) {
  InterruptGuard guard(quiet());
  {
    CheckpointWriteScope scope;
  }
  {
    CheckpointWriteScope scope;
  }
  EXPECT_FALSE(InterruptGuard::interrupted());
}

TEST_F(InterruptDeathTest, SecondSignalExitsAtOnce) {
  TempDir dir;
  std::string markers = dir.file("markers");
  EXPECT_EXIT(
      {
        InterruptGuard guard;
        ::raise(SIGINT);
        mark(markers, "after-first;");
        ::raise(SIGINT);
        mark(markers, "after-second;");
        ::_exit(0);
      },
      ::testing::ExitedWithCode(130), "ftl: interrupted; .*ftl: stopped");
  EXPECT_EQ(readFile(markers), "after-first;");
}

TEST_F(InterruptDeathTest, SecondSigtermExitsWith143) {
  EXPECT_EXIT(
      {
        InterruptGuard guard(quiet());
        ::raise(SIGTERM);
        ::raise(SIGTERM);
        ::_exit(0);
      },
      ::testing::ExitedWithCode(143), "");
}

TEST_F(InterruptDeathTest, SecondSignalWaitsForTheCheckpointWrite) {
  TempDir dir;
  std::string markers = dir.file("markers");
  EXPECT_EXIT(
      {
        InterruptGuard guard;
        InterruptGuard::setForcedExitHook([&] { mark(markers, "hook;"); });
        ::raise(SIGINT);
        {
          CheckpointWriteScope outer;
          {
            CheckpointWriteScope inner;
            ::raise(SIGINT);
            mark(markers, "inner-done;");
          }
          mark(markers, "outer-done;");
        }
        mark(markers, "after-write;");
        ::_exit(0);
      },
      ::testing::ExitedWithCode(130),
      "stopping as soon as the checkpoint being written is complete.*"
      "checkpoint complete; stopped");
  EXPECT_EQ(readFile(markers), "inner-done;outer-done;hook;");
}

TEST_F(InterruptDeathTest, ThirdSignalExitsEvenDuringAWrite) {
  TempDir dir;
  std::string markers = dir.file("markers");
  EXPECT_EXIT(
      {
        InterruptGuard guard(quiet());
        InterruptGuard::setForcedExitHook([&] { mark(markers, "hook;"); });
        ::raise(SIGINT);
        CheckpointWriteScope scope;
        ::raise(SIGINT);
        mark(markers, "after-second;");
        ::raise(SIGINT);
        mark(markers, "after-third;");
        ::_exit(0);
      },
      ::testing::ExitedWithCode(130), "");
  EXPECT_EQ(readFile(markers), "after-second;");
}

/// Writes a checkpoint with a guard live, sending the second Ctrl-C after
/// the first file; leaves "returned;" in `markers` if the call returns.
static void writeWithSecondSignal(const std::string &checkpoint,
                                  const std::string &markers) {
  InterruptGuard guard(quiet());
  InterruptGuard::setForcedExitHook([&] { mark(markers, "hook;"); });
  ::raise(SIGINT);
  CheckpointState state;
  state.step = 1;
  state.parameters.emplace_back("w", Tensor::fromF32({1, 2, 3, 4}, {2, 2}));
  llvm::Error error =
      writeCheckpoint(checkpoint, state, [](llvm::StringRef file) {
        if (file == "model.safetensors")
          ::raise(SIGINT); // Ctrl-C again halfway through
        return llvm::Error::success();
      });
  mark(markers, error ? "error;" : "returned;");
  llvm::consumeError(std::move(error));
}

TEST_F(InterruptDeathTest, SecondSignalDuringWriteCheckpointKeepsItComplete) {
  TempDir dir;
  std::string checkpoint = dir.file("step-00000001");
  std::string markers = dir.file("markers");
  EXPECT_EXIT(
      {
        writeWithSecondSignal(checkpoint, markers);
        ::_exit(0);
      },
      ::testing::ExitedWithCode(130), "");
  EXPECT_EQ(readFile(markers), "hook;");
  llvm::Expected<CheckpointState> read = readCheckpoint(checkpoint);
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  EXPECT_EQ(read->step, 1);
  EXPECT_TRUE(read->parameters[0].second.bitwiseEqual(
      Tensor::fromF32({1, 2, 3, 4}, {2, 2})));
}
