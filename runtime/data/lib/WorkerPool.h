//===- WorkerPool.h - A tiny parallel-for for the data library --*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Persistent worker threads running `parallelFor(n, fn)`: fn(i) for every
/// i in [0, n), the calling thread helping. Results are written by index,
/// so output order never depends on scheduling.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_LIB_WORKERPOOL_H
#define FTL_DATA_LIB_WORKERPOOL_H

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ftl::rt::detail {

class WorkerPool {
public:
  /// `threads` in total, counting the caller (1 = no extra threads).
  explicit WorkerPool(unsigned threads) {
    for (unsigned t = 1; t < threads; ++t)
      workers.emplace_back([this] { workerLoop(); });
  }

  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread &t : workers)
      t.join();
  }

  unsigned threads() const { return workers.size() + 1; }

  void parallelFor(size_t n, const std::function<void(size_t)> &fn) {
    if (workers.empty() || n <= 1) {
      for (size_t i = 0; i < n; ++i)
        fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      job = &fn;
      jobSize = n;
      nextIndex.store(0);
      active = workers.size();
      ++generation;
    }
    wake.notify_all();
    runJob(fn, n);
    std::unique_lock<std::mutex> lock(mu);
    done.wait(lock, [this] { return active == 0; });
    job = nullptr;
  }

private:
  void runJob(const std::function<void(size_t)> &fn, size_t n) {
    while (true) {
      size_t i = nextIndex.fetch_add(1);
      if (i >= n)
        break;
      fn(i);
    }
  }

  void workerLoop() {
    uint64_t seen = 0;
    while (true) {
      const std::function<void(size_t)> *fn;
      size_t n;
      {
        std::unique_lock<std::mutex> lock(mu);
        wake.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping)
          return;
        seen = generation;
        fn = job;
        n = jobSize;
      }
      runJob(*fn, n);
      {
        std::lock_guard<std::mutex> lock(mu);
        --active;
      }
      done.notify_one();
    }
  }

  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done;
  const std::function<void(size_t)> *job = nullptr;
  size_t jobSize = 0;
  std::atomic<size_t> nextIndex{0};
  size_t active = 0;
  uint64_t generation = 0;
  bool stopping = false;
};

} // namespace ftl::rt::detail

#endif // FTL_DATA_LIB_WORKERPOOL_H
