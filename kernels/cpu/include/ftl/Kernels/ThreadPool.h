//===- ftl/Kernels/ThreadPool.h - Persistent worker pool ---------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A small fork-join pool for the CPU kernels. Workers are created once and
/// wait (spin briefly, then block) for the next parallel loop; the calling
/// thread always takes part as worker 0, so a pool of N threads owns N - 1
/// system threads.
///
/// `parallelFor` splits [0, n) into static, contiguous, balanced chunks: chunk
/// t of p is [t * n / p, (t + 1) * n / p). Which thread runs which chunk is not
/// specified; kernels that must be deterministic never let a result depend on
/// the number of chunks (each output element is produced by one chunk with a
/// fixed reduction order).
///
/// A `parallelFor` issued from inside a running loop (on any pool) runs inline
/// on the calling thread. Loops issued concurrently from several outside
/// threads are serialized.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_THREADPOOL_H
#define FTL_KERNELS_THREADPOOL_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <memory>

// Declared only: callers of the functions returning these include
// llvm/Support/Error.h themselves, which keeps this header light.
namespace llvm {
class Error;
class StringRef;
template <class T>
class Expected;
} // namespace llvm

namespace ftl::kernels {

class ThreadPool {
public:
  /// A pool that runs loops on `numThreads` threads (the caller included).
  /// Values below 1 are treated as 1 (no worker threads).
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int numThreads() const { return threadCount; }

  /// Calls `fn(begin, end)` on min(numThreads(), n) static contiguous chunks
  /// of [0, n) and returns when all are done. Does nothing when n <= 0.
  void parallelFor(int64_t n,
                   llvm::function_ref<void(int64_t begin, int64_t end)> fn);

  /// As above, but each chunk holds at least `grain` indices (except when
  /// n < grain): the loop uses min(numThreads(), ceil(n / grain)) chunks.
  void parallelFor(int64_t n, int64_t grain,
                   llvm::function_ref<void(int64_t begin, int64_t end)> fn);

  /// True on a thread that is currently running a chunk of some pool's loop.
  static bool insideParallelRegion();

private:
  struct State;
  void runChunks(int64_t n, int chunks,
                 llvm::function_ref<void(int64_t, int64_t)> fn);

  int threadCount;
  std::unique_ptr<State> state;
};

/// The thread count asked for by the environment variable FTL_NUM_THREADS, or
/// 0 when it is unset or empty. Returns an error for a value that is not a
/// positive integer.
llvm::Expected<int> numThreadsFromEnvironment();

/// Parses a thread count as written in FTL_NUM_THREADS (exposed for tests).
llvm::Expected<int> parseNumThreads(llvm::StringRef text);

/// The number of hardware threads this process may run on (at least 1).
int hardwareThreads();

/// The process-wide pool, created on first use with FTL_NUM_THREADS threads,
/// or hardwareThreads() when the variable is unset. An invalid value is
/// reported once on stderr and the hardware count is used instead.
ThreadPool *defaultPool();

} // namespace ftl::kernels

#endif // FTL_KERNELS_THREADPOOL_H
