//===- Subprocess.h - A judge program behind three pipes --------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// One child process, started with fork/exec in its own process group, with
/// its stdin, stdout and stderr connected to non-blocking pipes. Used by the
/// exec judge; not thread-safe (one worker thread owns one Subprocess).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_JUDGE_LIB_SUBPROCESS_H
#define FTL_JUDGE_LIB_SUBPROCESS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ftl::rt::detail {

using Clock = std::chrono::steady_clock;

struct SpawnSpec {
  /// Absolute path of the program (already found on PATH).
  std::string program;
  /// argv[0] and the arguments, as the program sees them.
  std::vector<std::string> argv;
  /// Absolute working folder, or "" for the host's.
  std::string workingDir;
  /// RLIMIT_AS for the child; 0 = unchanged.
  int64_t memoryLimitBytes = 0;
};

/// Blocks SIGPIPE in the calling thread for the lifetime of the object, so
/// writes to a closed pipe fail with EPIPE instead of killing the host. A
/// SIGPIPE raised meanwhile is consumed before the old mask comes back.
class SigpipeBlocker {
public:
  SigpipeBlocker();
  ~SigpipeBlocker();
  SigpipeBlocker(const SigpipeBlocker &) = delete;
  SigpipeBlocker &operator=(const SigpipeBlocker &) = delete;
  /// Discards a pending SIGPIPE of this thread (after an EPIPE).
  static void consumePending();

private:
  bool wasBlocked = false;
};

class Subprocess {
public:
  /// Bytes of stderr kept (the most recent ones).
  static constexpr size_t kStderrKeep = 8192;
  /// Longest answer line accepted.
  static constexpr size_t kMaxLine = 1 << 20;

  Subprocess() = default;
  /// Kills the process group if it still runs.
  ~Subprocess();
  Subprocess(const Subprocess &) = delete;
  Subprocess &operator=(const Subprocess &) = delete;

  /// Starts the program. An error means it could not be started at all (no
  /// such file, not executable, bad working folder, ...).
  llvm::Error start(const SpawnSpec &spec);
  bool running() const { return pid > 0; }
  pid_t processId() const { return pid; }

  enum class Event {
    Line,    ///< a complete line arrived (in `line`, without the newline)
    Closed,  ///< stdout reached end of file, or the process exited, first
    Timeout, ///< the deadline passed
    TooLong, ///< more than kMaxLine bytes arrived without a newline
  };
  struct ExchangeResult {
    Event event = Event::Timeout;
    std::string line;
    /// Bytes of the request written before the exchange ended.
    size_t written = 0;
    /// Writing failed because the process closed its stdin.
    bool writeFailed = false;
  };
  /// Writes `request` to stdin while reading stdout (and stderr) until one
  /// line arrives, stdout closes, the process exits or `deadline` passes.
  /// The caller must hold a SigpipeBlocker.
  ExchangeResult exchange(llvm::StringRef request, Clock::time_point deadline);

  /// Reads whatever stdout and stderr hold now, without waiting. Returns
  /// false when stdout is closed or the process has exited.
  bool pollIdle();
  /// Output that arrived on stdout and was not consumed by `exchange`.
  llvm::StringRef pendingOutput() const { return outBuffer; }

  /// Bytes written to the process's stdin that it has not read (still in
  /// the pipe; also after it died).
  size_t unreadInput() const;
  /// Whether the process has exited (it is not reaped until `kill`).
  bool hasExited() const { return leaderExited(); }
  /// Closes the process's stdin (it sees end of file).
  void closeInput();
  /// Waits until the process exits and its stderr is closed, or `until`,
  /// reading (and keeping the tail of) stderr, and discarding stdout.
  void waitForExit(Clock::time_point until);
  /// Kills the whole process group with SIGKILL, collects what is left on
  /// stderr (briefly), reaps the process and closes the pipes. Returns how
  /// the process ended ("exited with status 1", "was killed by signal 11
  /// (SIGSEGV)"); "" when nothing was running.
  std::string kill();

  /// Stderr written since the last `clearStderr` (at most kStderrKeep bytes,
  /// the most recent), and whether earlier bytes were dropped.
  llvm::StringRef stderrTail() const {
    return llvm::StringRef(errTail).take_back(kStderrKeep);
  }
  bool stderrTruncated() const {
    return errDropped || errTail.size() > kStderrKeep;
  }
  void clearStderr() {
    errTail.clear();
    errDropped = false;
  }

private:
  /// Reads `fd` until it would block; false on end of file.
  bool drain(int fd, bool isStdout);
  void appendStderr(const char *data, size_t size);
  bool leaderExited() const;
  void closeAll();

  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  std::string outBuffer;
  std::string errTail;
  bool errDropped = false;
  /// Whether stdout bytes are kept (false while shutting down).
  bool keepStdout = true;
};

} // namespace ftl::rt::detail

#endif // FTL_JUDGE_LIB_SUBPROCESS_H
