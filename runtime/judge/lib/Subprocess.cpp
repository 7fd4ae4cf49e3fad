//===- Subprocess.cpp - A judge program behind three pipes ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Between fork() and exec the child calls only async-signal-safe functions
// (the host has other threads, which may hold locks such as malloc's).
// Everything the child needs is prepared before fork(). The child reports a
// failure before or at exec through a close-on-exec pipe: end of file on it
// means exec succeeded.
//
//===----------------------------------------------------------------------===//

#include "Subprocess.h"

#include "llvm/Support/Errno.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace ftl::rt::detail;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace {

enum ChildStage : int { StageChdir = 1, StageRlimit = 2, StageExec = 3 };

[[noreturn]] void childFail(int reportFd, int stage) {
  int payload[2] = {stage, errno};
  (void)!::write(reportFd, payload, sizeof(payload));
  ::_exit(127);
}

/// Runs in the child after fork(): async-signal-safe calls only.
[[noreturn]] void runChild(int stdinFd, int stdoutFd, int stderrFd,
                           int reportFd, const char *program, char *const *argv,
                           const char *workingDir, rlim_t memoryLimit) {
  ::setpgid(0, 0);
  // Handlers do not survive exec, but ignored signals would: reset them all
  // (the host may ignore SIGPIPE or SIGINT), then unblock everything.
  struct sigaction defaultAction;
  std::memset(&defaultAction, 0, sizeof(defaultAction));
  defaultAction.sa_handler = SIG_DFL;
  sigemptyset(&defaultAction.sa_mask);
  for (int signal = 1; signal < NSIG; ++signal)
    ::sigaction(signal, &defaultAction, nullptr);

  // Move every pipe end above 2 first: one of them may be 0, 1 or 2 when the
  // host runs with a standard stream closed.
  reportFd = ::fcntl(reportFd, F_DUPFD_CLOEXEC, 3);
  if (reportFd < 0)
    ::_exit(127);
  int high[3] = {::fcntl(stdinFd, F_DUPFD_CLOEXEC, 3),
                 ::fcntl(stdoutFd, F_DUPFD_CLOEXEC, 3),
                 ::fcntl(stderrFd, F_DUPFD_CLOEXEC, 3)};
  for (int target = 0; target < 3; ++target)
    if (high[target] < 0 || ::dup2(high[target], target) < 0)
      childFail(reportFd, StageExec);

  // Nothing but 0, 1, 2 may reach the program: mark everything else
  // close-on-exec (the report pipe must stay open until exec).
  bool marked = false;
#ifdef SYS_close_range
  marked = ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
#endif
  if (!marked) {
    struct rlimit files;
    rlim_t limit = 65536;
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 &&
        files.rlim_cur != RLIM_INFINITY)
      limit = std::min<rlim_t>(files.rlim_cur, 1 << 20);
    for (int fd = 3; fd < static_cast<int>(limit); ++fd)
      if (fd != reportFd)
        ::close(fd);
  }

  if (workingDir && ::chdir(workingDir) != 0)
    childFail(reportFd, StageChdir);
  if (memoryLimit > 0) {
    struct rlimit current;
    if (::getrlimit(RLIMIT_AS, &current) != 0)
      childFail(reportFd, StageRlimit);
    struct rlimit wanted;
    wanted.rlim_cur = memoryLimit;
    wanted.rlim_max = memoryLimit;
    if (current.rlim_max != RLIM_INFINITY && current.rlim_max < memoryLimit)
      wanted.rlim_cur = wanted.rlim_max = current.rlim_max;
    if (::setrlimit(RLIMIT_AS, &wanted) != 0)
      childFail(reportFd, StageRlimit);
  }

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(program, argv);
  childFail(reportFd, StageExec);
}

void closeFd(int &fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

bool setNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

const char *signalName(int signal) {
  switch (signal) {
  case SIGSEGV:
    return "SIGSEGV";
  case SIGABRT:
    return "SIGABRT";
  case SIGKILL:
    return "SIGKILL";
  case SIGBUS:
    return "SIGBUS";
  case SIGFPE:
    return "SIGFPE";
  case SIGILL:
    return "SIGILL";
  case SIGTERM:
    return "SIGTERM";
  case SIGINT:
    return "SIGINT";
  case SIGPIPE:
    return "SIGPIPE";
  case SIGXCPU:
    return "SIGXCPU";
  default:
    return nullptr;
  }
}

std::string describeStatus(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    std::string text = "was killed by signal " + std::to_string(signal);
    if (const char *name = signalName(signal))
      text += std::string(" (") + name + ")";
    return text;
  }
  return "ended with wait status " + std::to_string(status);
}

int millisecondsUntil(Clock::time_point deadline, int cap) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - Clock::now())
                  .count() +
              1;
  if (left < 0)
    return 0;
  return static_cast<int>(std::min<long long>(left, cap));
}

} // namespace

//===----------------------------------------------------------------------===//
// SigpipeBlocker
//===----------------------------------------------------------------------===//

SigpipeBlocker::SigpipeBlocker() {
  sigset_t pipeOnly, old;
  sigemptyset(&pipeOnly);
  sigaddset(&pipeOnly, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipeOnly, &old);
  wasBlocked = sigismember(&old, SIGPIPE) == 1;
}

SigpipeBlocker::~SigpipeBlocker() {
  if (wasBlocked)
    return;
  consumePending();
  sigset_t pipeOnly;
  sigemptyset(&pipeOnly);
  sigaddset(&pipeOnly, SIGPIPE);
  ::pthread_sigmask(SIG_UNBLOCK, &pipeOnly, nullptr);
}

void SigpipeBlocker::consumePending() {
  sigset_t pending;
  sigemptyset(&pending);
  if (::sigpending(&pending) != 0 || sigismember(&pending, SIGPIPE) != 1)
    return;
  sigset_t pipeOnly;
  sigemptyset(&pipeOnly);
  sigaddset(&pipeOnly, SIGPIPE);
  struct timespec zero = {0, 0};
  while (::sigtimedwait(&pipeOnly, nullptr, &zero) < 0 && errno == EINTR) {
  }
}

//===----------------------------------------------------------------------===//
// Subprocess
//===----------------------------------------------------------------------===//

Subprocess::~Subprocess() { kill(); }

llvm::Error Subprocess::start(const SpawnSpec &spec) {
  kill();
  // Everything the child touches is built before fork().
  std::vector<char *> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const std::string &arg : spec.argv)
    argv.push_back(const_cast<char *>(arg.c_str()));
  argv.push_back(nullptr);
  const char *workingDir =
      spec.workingDir.empty() ? nullptr : spec.workingDir.c_str();
  rlim_t memoryLimit = spec.memoryLimitBytes > 0
                           ? static_cast<rlim_t>(spec.memoryLimitBytes)
                           : 0;

  int stdinPipe[2] = {-1, -1}, stdoutPipe[2] = {-1, -1},
      stderrPipe[2] = {-1, -1}, reportPipe[2] = {-1, -1};
  auto closePipes = [&] {
    for (int *pipe : {stdinPipe, stdoutPipe, stderrPipe, reportPipe}) {
      closeFd(pipe[0]);
      closeFd(pipe[1]);
    }
  };
  if (::pipe2(stdinPipe, O_CLOEXEC) != 0 ||
      ::pipe2(stdoutPipe, O_CLOEXEC) != 0 ||
      ::pipe2(stderrPipe, O_CLOEXEC) != 0 ||
      ::pipe2(reportPipe, O_CLOEXEC) != 0) {
    int error = errno;
    closePipes();
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "cannot start judge program '%s': cannot create pipes: %s",
        spec.program.c_str(), llvm::sys::StrError(error).c_str());
  }

  // No signal handler of the host may run in the child before exec.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t child = ::fork();
  if (child == 0)
    runChild(stdinPipe[0], stdoutPipe[1], stderrPipe[1], reportPipe[1],
             spec.program.c_str(), argv.data(), workingDir, memoryLimit);
  int forkError = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (child < 0) {
    closePipes();
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "cannot start judge program '%s': fork failed: %s",
        spec.program.c_str(), llvm::sys::StrError(forkError).c_str());
  }
  // Also here, so the group exists whichever of parent and child runs first
  // (fails harmlessly once the child has exec'd).
  ::setpgid(child, child);
  closeFd(stdinPipe[0]);
  closeFd(stdoutPipe[1]);
  closeFd(stderrPipe[1]);
  closeFd(reportPipe[1]);

  int payload[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof(payload)) {
    ssize_t n = ::read(reportPipe[0], reinterpret_cast<char *>(payload) + got,
                       sizeof(payload) - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  closeFd(reportPipe[0]);
  if (got > 0) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    closePipes();
    std::string reason = llvm::sys::StrError(payload[1]);
    std::string message;
    switch (payload[0]) {
    case StageChdir:
      message = "cannot change to the working folder '" + spec.workingDir +
                "': " + reason;
      break;
    case StageRlimit:
      message = "cannot set the memory limit of " +
                std::to_string(spec.memoryLimitBytes) + " bytes: " + reason;
      break;
    default:
      message = "exec failed: " + reason;
      if (payload[1] == ENOEXEC)
        message += " (a script needs a '#!' first line, or name its "
                   "interpreter as the program)";
      else if (payload[1] == ENOMEM && spec.memoryLimitBytes > 0)
        message += " (the memory limit of " +
                   std::to_string(spec.memoryLimitBytes) +
                   " bytes may be too small to start it)";
      break;
    }
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot start judge program '%s': %s",
                                   spec.program.c_str(), message.c_str());
  }

  pid = child;
  in = stdinPipe[1];
  out = stdoutPipe[0];
  err = stderrPipe[0];
  setNonBlocking(in);
  setNonBlocking(out);
  setNonBlocking(err);
  outBuffer.clear();
  clearStderr();
  keepStdout = true;
  return llvm::Error::success();
}

void Subprocess::appendStderr(const char *data, size_t size) {
  errTail.append(data, size);
  if (errTail.size() > 2 * kStderrKeep) {
    errTail.erase(0, errTail.size() - kStderrKeep);
    errDropped = true;
  }
}

bool Subprocess::drain(int fd, bool isStdout) {
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      if (!isStdout)
        appendStderr(buffer, static_cast<size_t>(n));
      else if (keepStdout && outBuffer.size() <= kMaxLine)
        outBuffer.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0)
      return false;
    if (errno == EINTR)
      continue;
    // EAGAIN: nothing more for now. Any other error: treat as closed.
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

bool Subprocess::leaderExited() const {
  if (pid <= 0)
    return true;
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  // WNOWAIT: leave the zombie, so its process group id stays reserved until
  // kill() has signalled the group.
  if (::waitid(P_PID, static_cast<id_t>(pid), &info,
               WEXITED | WNOHANG | WNOWAIT) != 0)
    return true;
  return info.si_pid != 0;
}

Subprocess::ExchangeResult Subprocess::exchange(llvm::StringRef request,
                                                Clock::time_point deadline) {
  ExchangeResult result;
  bool writing = in >= 0 && !request.empty();
  if (in < 0)
    result.writeFailed = true;
  auto lastExitCheck = Clock::now();
  auto takeLine = [&]() -> bool {
    size_t newline = outBuffer.find('\n');
    if (newline == std::string::npos)
      return false;
    result.event = Event::Line;
    result.line = outBuffer.substr(0, newline);
    outBuffer.erase(0, newline + 1);
    return true;
  };

  for (;;) {
    if (takeLine())
      return result;
    if (outBuffer.size() > kMaxLine) {
      result.event = Event::TooLong;
      return result;
    }
    auto now = Clock::now();
    if (now >= deadline) {
      result.event = Event::Timeout;
      return result;
    }
    // Stdout may be held open by a grandchild after the program died.
    if (now - lastExitCheck >= std::chrono::milliseconds(50)) {
      lastExitCheck = now;
      if (leaderExited()) {
        if (out >= 0)
          drain(out, /*isStdout=*/true);
        if (takeLine())
          return result;
        result.event = Event::Closed;
        return result;
      }
    }

    struct pollfd fds[3];
    int count = 0, inIndex = -1, outIndex = -1, errIndex = -1;
    if (writing) {
      inIndex = count;
      fds[count++] = {in, POLLOUT, 0};
    }
    if (out >= 0) {
      outIndex = count;
      fds[count++] = {out, POLLIN, 0};
    }
    if (err >= 0) {
      errIndex = count;
      fds[count++] = {err, POLLIN, 0};
    }
    int ready = ::poll(fds, static_cast<nfds_t>(count),
                       millisecondsUntil(deadline, 50));
    if (ready < 0 && errno != EINTR) {
      result.event = Event::Closed;
      return result;
    }
    if (ready <= 0)
      continue;

    if (inIndex >= 0 && fds[inIndex].revents) {
      ssize_t n = ::write(in, request.data() + result.written,
                          request.size() - result.written);
      if (n > 0) {
        result.written += static_cast<size_t>(n);
        if (result.written == request.size())
          writing = false;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR) {
        // EPIPE: the program closed its stdin or died. The descriptor stays
        // open so unreadInput() can still look into the pipe.
        SigpipeBlocker::consumePending();
        result.writeFailed = true;
        writing = false;
      }
    }
    if (errIndex >= 0 && fds[errIndex].revents)
      if (!drain(err, /*isStdout=*/false))
        closeFd(err);
    if (outIndex >= 0 && fds[outIndex].revents) {
      if (!drain(out, /*isStdout=*/true)) {
        closeFd(out);
        if (takeLine())
          return result;
        result.event = Event::Closed;
        return result;
      }
    }
  }
}

bool Subprocess::pollIdle() {
  if (pid <= 0)
    return false;
  bool open = true;
  if (err >= 0 && !drain(err, /*isStdout=*/false))
    closeFd(err);
  if (out < 0 || !drain(out, /*isStdout=*/true)) {
    closeFd(out);
    open = false;
  }
  if (leaderExited())
    open = false;
  return open;
}

size_t Subprocess::unreadInput() const {
  int unread = 0;
  if (in < 0 || ::ioctl(in, FIONREAD, &unread) != 0 || unread < 0)
    return 0;
  return static_cast<size_t>(unread);
}

void Subprocess::closeInput() { closeFd(in); }

void Subprocess::waitForExit(Clock::time_point until) {
  keepStdout = false;
  while (pid > 0) {
    bool exited = leaderExited();
    if (exited && err < 0)
      return;
    if (Clock::now() >= until)
      return;
    struct pollfd fds[2];
    int count = 0;
    if (out >= 0)
      fds[count++] = {out, POLLIN, 0};
    if (err >= 0)
      fds[count++] = {err, POLLIN, 0};
    if (count == 0) {
      // Both pipes closed; only the exit is missing.
      ::poll(nullptr, 0, std::min(10, millisecondsUntil(until, 10)));
      continue;
    }
    int ready = ::poll(fds, static_cast<nfds_t>(count),
                       millisecondsUntil(until, exited ? 10 : 20));
    if (ready < 0 && errno != EINTR)
      return;
    if (out >= 0 && !drain(out, /*isStdout=*/true))
      closeFd(out);
    if (err >= 0 && !drain(err, /*isStdout=*/false))
      closeFd(err);
    // A grandchild may keep stderr open after the program exited: give it a
    // moment, not the whole wait.
    if (exited && ready == 0)
      return;
  }
}

std::string Subprocess::kill() {
  if (pid <= 0) {
    closeAll();
    return "";
  }
  // The leader is not reaped yet (at most a zombie), so its id still names
  // this process group.
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  closeFd(in);
  // What the group wrote to stderr before it died is still in the pipe.
  keepStdout = false;
  auto until = Clock::now() + std::chrono::milliseconds(200);
  while (err >= 0 && Clock::now() < until) {
    struct pollfd fd = {err, POLLIN, 0};
    int ready = ::poll(&fd, 1, millisecondsUntil(until, 50));
    if (ready < 0 && errno != EINTR)
      break;
    if (ready > 0 && !drain(err, /*isStdout=*/false))
      closeFd(err);
  }
  int status = 0;
  pid_t reaped;
  do {
    reaped = ::waitpid(pid, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  pid = -1;
  closeAll();
  return reaped > 0 ? describeStatus(status) : "ended";
}

void Subprocess::closeAll() {
  closeFd(in);
  closeFd(out);
  closeFd(err);
  outBuffer.clear();
}
