//===- ThreadPool.cpp - Persistent worker pool ----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/ThreadPool.h"

#include "llvm/Support/Error.h"

#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FTL_CPU_RELAX() _mm_pause()
#else
#define FTL_CPU_RELAX() std::this_thread::yield()
#endif

#include <sched.h>

using namespace ftl::kernels;

namespace {
/// Set while a thread runs a chunk, so nested loops run inline.
thread_local bool inParallelRegion = false;

/// How long an idle worker spins before blocking (pause instructions).
constexpr int kSpinIterations = 20000;

struct RegionGuard {
  bool saved;
  RegionGuard() : saved(inParallelRegion) { inParallelRegion = true; }
  ~RegionGuard() { inParallelRegion = saved; }
};
} // namespace

struct ThreadPool::State {
  std::vector<std::thread> workers;

  // The loop being run. The caller writes these fields before it bumps
  // `generation` and does not touch them again until every worker has
  // acknowledged the loop (`unfinishedWorkers` reaches 0), so a worker never
  // sees a half-written loop and never claims a chunk of the next one.
  llvm::function_ref<void(int64_t, int64_t)> job;
  int64_t jobSize = 0;
  int jobChunks = 0;

  std::atomic<uint64_t> generation{0};
  std::atomic<int> nextChunk{0};
  std::atomic<int> unfinishedWorkers{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stopping{false};

  std::mutex sleepMutex;
  std::condition_variable wake;
  /// Serializes loops issued from different outside threads.
  std::mutex callMutex;

  /// Claims and runs chunks until none is left.
  void runAvailableChunks() {
    for (;;) {
      int c = nextChunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= jobChunks)
        return;
      int64_t begin = jobSize * c / jobChunks;
      int64_t end = jobSize * (c + 1) / jobChunks;
      RegionGuard guard;
      job(begin, end);
    }
  }

  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      uint64_t gen = generation.load(std::memory_order_acquire);
      for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
        FTL_CPU_RELAX();
        gen = generation.load(std::memory_order_acquire);
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(sleepMutex);
        sleepers.fetch_add(1, std::memory_order_seq_cst);
        while ((gen = generation.load(std::memory_order_seq_cst)) == seen &&
               !stopping.load())
          wake.wait(lock);
        sleepers.fetch_sub(1, std::memory_order_seq_cst);
      }
      if (stopping.load(std::memory_order_acquire))
        return;
      seen = gen;
      runAvailableChunks();
      unfinishedWorkers.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
};

ThreadPool::ThreadPool(int numThreads)
    : threadCount(numThreads < 1 ? 1 : numThreads),
      state(std::make_unique<State>()) {
  for (int i = 1; i < threadCount; ++i)
    state->workers.emplace_back([s = state.get()] { s->workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state->sleepMutex);
    state->stopping.store(true);
    state->generation.fetch_add(1);
  }
  state->wake.notify_all();
  for (std::thread &t : state->workers)
    t.join();
}

bool ThreadPool::insideParallelRegion() { return inParallelRegion; }

void ThreadPool::parallelFor(int64_t n,
                             llvm::function_ref<void(int64_t, int64_t)> fn) {
  parallelFor(n, 1, fn);
}

void ThreadPool::parallelFor(int64_t n, int64_t grain,
                             llvm::function_ref<void(int64_t, int64_t)> fn) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  int64_t byGrain = (n + grain - 1) / grain;
  int chunks = byGrain < threadCount ? static_cast<int>(byGrain) : threadCount;
  if (chunks <= 1 || inParallelRegion) {
    RegionGuard guard;
    if (chunks <= 1) {
      fn(0, n);
      return;
    }
    // Nested: same chunk boundaries, run one after another.
    for (int c = 0; c < chunks; ++c)
      fn(n * c / chunks, n * (c + 1) / chunks);
    return;
  }
  runChunks(n, chunks, fn);
}

void ThreadPool::runChunks(int64_t n, int chunks,
                           llvm::function_ref<void(int64_t, int64_t)> fn) {
  State &s = *state;
  std::lock_guard<std::mutex> callLock(s.callMutex);
  s.job = fn;
  s.jobSize = n;
  s.jobChunks = chunks;
  s.nextChunk.store(0, std::memory_order_relaxed);
  s.unfinishedWorkers.store(static_cast<int>(s.workers.size()),
                            std::memory_order_relaxed);
  s.generation.fetch_add(1, std::memory_order_seq_cst);
  if (s.sleepers.load(std::memory_order_seq_cst) > 0) {
    {
      std::lock_guard<std::mutex> lock(s.sleepMutex);
    }
    s.wake.notify_all();
  }
  s.runAvailableChunks();
  // Every chunk is claimed now; wait until the workers are done with theirs
  // and have let go of the loop. Spin briefly, then yield the core.
  for (int spin = 0; s.unfinishedWorkers.load(std::memory_order_acquire) != 0;
       ++spin) {
    if (spin < kSpinIterations)
      FTL_CPU_RELAX();
    else
      std::this_thread::yield();
  }
}

llvm::Expected<int> ftl::kernels::parseNumThreads(llvm::StringRef text) {
  llvm::StringRef trimmed = text.trim();
  unsigned long long value = 0;
  if (trimmed.empty() || trimmed.getAsInteger(10, value) || value < 1 ||
      value > 4096)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "FTL_NUM_THREADS must be a whole number of threads between 1 and "
        "4096, found '%s'",
        text.str().c_str());
  return static_cast<int>(value);
}

llvm::Expected<int> ftl::kernels::numThreadsFromEnvironment() {
  const char *text = std::getenv("FTL_NUM_THREADS");
  if (!text || !*text)
    return 0;
  return parseNumThreads(text);
}

int ftl::kernels::hardwareThreads() {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0)
      return count;
  }
#endif
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool *ftl::kernels::defaultPool() {
  static ThreadPool *pool = [] {
    int threads = 0;
    llvm::Expected<int> fromEnv = numThreadsFromEnvironment();
    if (fromEnv) {
      threads = *fromEnv;
    } else {
      llvm::errs() << "warning: " << llvm::toString(fromEnv.takeError())
                   << "; using " << hardwareThreads() << " threads\n";
    }
    if (threads == 0)
      threads = hardwareThreads();
    // Never destroyed: kernels may run from static destructors of users.
    return new ThreadPool(threads);
  }();
  return pool;
}
