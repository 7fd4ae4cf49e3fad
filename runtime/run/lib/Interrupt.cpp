//===- Interrupt.cpp - Ctrl-C and SIGTERM handling ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The handler reads and writes only lock-free atomics and calls write(2) and
// _exit(2), which are async-signal-safe.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/Interrupt.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <unistd.h>

using namespace ftl::rt;

namespace {
static_assert(std::atomic<int>::is_always_lock_free,
              "the signal handler needs lock-free atomics");
static_assert(std::atomic<bool>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

std::atomic<int> gSignalCount{0};
std::atomic<int> gLastSignal{0};
std::atomic<int> gWriteDepth{0};
std::atomic<bool> gExitAfterWrite{false};
std::atomic<int> gGuardDepth{0};
std::atomic<bool> gPrintMessages{true};

struct sigaction gOldInt;
struct sigaction gOldTerm;

std::mutex gHookMutex;
std::function<void()> gForcedExitHook;

void say(const char *text) {
  if (!gPrintMessages.load(std::memory_order_relaxed))
    return;
  size_t length = std::strlen(text);
  while (length > 0) {
    ssize_t n = ::write(STDERR_FILENO, text, length);
    if (n <= 0)
      return;
    text += n;
    length -= static_cast<size_t>(n);
  }
}

extern "C" void ftlInterruptHandler(int signal) {
  int savedErrno = errno;
  gLastSignal.store(signal);
  int count = gSignalCount.fetch_add(1) + 1;
  if (count == 1) {
    say("\nftl: interrupted; finishing the current step and writing a "
        "checkpoint (press Ctrl-C again to stop now)\n");
    errno = savedErrno;
    return;
  }
  if (count == 2 && gWriteDepth.load() > 0) {
    gExitAfterWrite.store(true);
    say("\nftl: stopping as soon as the checkpoint being written is complete "
        "(press Ctrl-C again to stop at once)\n");
    errno = savedErrno;
    return;
  }
  say("\nftl: stopped\n");
  ::_exit(128 + signal);
}
} // namespace

InterruptGuard::InterruptGuard() : InterruptGuard(Options()) {}

InterruptGuard::InterruptGuard(Options options) {
  // A guard inside a live one (a train step inside a loop that also guards)
  // shares the outer one's handlers and counts.
  if (gGuardDepth.fetch_add(1) > 0)
    return;
  gPrintMessages.store(options.printMessages);
  gSignalCount.store(0);
  gLastSignal.store(0);
  gExitAfterWrite.store(false);
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = ftlInterruptHandler;
  sigemptyset(&action.sa_mask);
  // Block the other signal while one is handled, so counts stay exact.
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &gOldInt);
  ::sigaction(SIGTERM, &action, &gOldTerm);
}

InterruptGuard::~InterruptGuard() {
  if (gGuardDepth.fetch_sub(1) > 1)
    return;
  ::sigaction(SIGINT, &gOldInt, nullptr);
  ::sigaction(SIGTERM, &gOldTerm, nullptr);
  std::lock_guard<std::mutex> lock(gHookMutex);
  gForcedExitHook = nullptr;
}

bool InterruptGuard::interrupted() { return gSignalCount.load() > 0; }

int InterruptGuard::signalCount() { return gSignalCount.load(); }

int InterruptGuard::lastSignal() { return gLastSignal.load(); }

int InterruptGuard::exitStatus() {
  int signal = gLastSignal.load();
  return 128 + (signal == 0 ? SIGINT : signal);
}

void InterruptGuard::setForcedExitHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(gHookMutex);
  gForcedExitHook = std::move(hook);
}

CheckpointWriteScope::CheckpointWriteScope() { gWriteDepth.fetch_add(1); }

CheckpointWriteScope::~CheckpointWriteScope() {
  if (gWriteDepth.fetch_sub(1) != 1 || !gExitAfterWrite.load())
    return;
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(gHookMutex);
    hook = gForcedExitHook;
  }
  if (hook)
    hook();
  say("ftl: checkpoint complete; stopped\n");
  std::fflush(nullptr);
  ::_exit(InterruptGuard::exitStatus());
}
