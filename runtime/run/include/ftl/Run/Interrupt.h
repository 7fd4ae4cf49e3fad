//===- ftl/Run/Interrupt.h - Ctrl-C and SIGTERM handling --------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Graceful interruption. While an `InterruptGuard` lives, SIGINT (Ctrl-C)
/// and SIGTERM are caught by a handler that only updates lock-free atomics
/// (and may write a fixed message with write(2) and call _exit(2), both
/// async-signal-safe):
///
/// 1. The first signal sets the flag that `interrupted()` reports. The run
///    stops at its next safe point (the end of a step), writes a checkpoint,
///    marks its manifest "interrupted" and exits; a resumed run goes on.
/// 2. A second signal exits at once, with status 128 + signal number
///    (130 for SIGINT, 143 for SIGTERM) -- unless a checkpoint is being
///    written (a `CheckpointWriteScope` is open): then the write is allowed
///    to end, the hook set with `setForcedExitHook` runs, and the process
///    exits with that status.
/// 3. A third signal exits at once, even in the middle of a checkpoint
///    write. Checkpoints are written to a temporary folder and renamed into
///    place, so the previous checkpoint is still intact.
///
/// Guards nest: one created while another is live shares its handlers and
/// counts (the outermost one clears the count when it is created and
/// restores the previous handlers when it is destroyed).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_INTERRUPT_H
#define FTL_RUN_INTERRUPT_H

#include <functional>

namespace ftl::rt {

class InterruptGuard {
public:
  struct Options {
    /// Print a one-line note on stderr for each signal (what happens next).
    bool printMessages = true;
  };

  /// Installs the handlers and clears the signal count (unless another
  /// guard is live).
  InterruptGuard();
  explicit InterruptGuard(Options options);
  /// The outermost guard restores the handlers installed before it.
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard &) = delete;
  InterruptGuard &operator=(const InterruptGuard &) = delete;

  /// True once SIGINT or SIGTERM arrived while a guard was live.
  static bool interrupted();
  /// How many signals arrived (0 when none).
  static int signalCount();
  /// The last signal that arrived (SIGINT or SIGTERM), or 0.
  static int lastSignal();
  /// The exit status used for a forced exit: 128 + `lastSignal()`.
  static int exitStatus();

  /// Called (on a normal thread, not in the signal handler) just before the
  /// process exits because a second signal came during a checkpoint write:
  /// the place to mark the manifest "interrupted". Cleared when the
  /// outermost guard is destroyed.
  static void setForcedExitHook(std::function<void()> hook);
};

/// Marks a checkpoint write in progress (scopes may nest). While one is
/// open, a second signal waits for the outermost scope to close and then
/// exits (see `InterruptGuard`). Harmless when no guard is live.
class CheckpointWriteScope {
public:
  CheckpointWriteScope();
  ~CheckpointWriteScope();
  CheckpointWriteScope(const CheckpointWriteScope &) = delete;
  CheckpointWriteScope &operator=(const CheckpointWriteScope &) = delete;
};

} // namespace ftl::rt

#endif // FTL_RUN_INTERRUPT_H
