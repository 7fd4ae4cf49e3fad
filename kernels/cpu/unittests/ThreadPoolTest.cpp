//===- ThreadPoolTest.cpp - Tests for the kernel thread pool --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/ThreadPool.h"

#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

using namespace ftl::kernels;

namespace {

std::vector<std::pair<int64_t, int64_t>>
recordChunks(ThreadPool &pool, int64_t n, int64_t grain = 1) {
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  pool.parallelFor(n, grain, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(m);
    chunks.emplace_back(b, e);
  });
  std::sort(chunks.begin(), chunks.end());
  return chunks;
}

TEST(ThreadPool, StaticContiguousChunks) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.numThreads(), 4);
  auto chunks = recordChunks(pool, 10);
  std::vector<std::pair<int64_t, int64_t>> expected = {
      {0, 2}, {2, 5}, {5, 7}, {7, 10}};
  EXPECT_EQ(chunks, expected);
}

TEST(ThreadPool, FewerItemsThanThreads) {
  ThreadPool pool(4);
  auto chunks = recordChunks(pool, 3);
  std::vector<std::pair<int64_t, int64_t>> expected = {{0, 1}, {1, 2}, {2, 3}};
  EXPECT_EQ(chunks, expected);
  EXPECT_TRUE(recordChunks(pool, 0).empty());
  EXPECT_TRUE(recordChunks(pool, -5).empty());
}

TEST(ThreadPool, GrainLimitsChunkCount) {
  ThreadPool pool(4);
  auto chunks = recordChunks(pool, 100, 60);
  std::vector<std::pair<int64_t, int64_t>> expected = {{0, 50}, {50, 100}};
  EXPECT_EQ(chunks, expected);
  EXPECT_EQ(recordChunks(pool, 100, 1000).size(), 1u);
}

TEST(ThreadPool, EveryIndexOnceOverManyCalls) {
  ThreadPool pool(3);
  std::vector<int> hits(1000, 0);
  for (int round = 0; round < 200; ++round) {
    int64_t n = 1 + (round * 37) % 1000;
    pool.parallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        ++hits[i];
    });
    for (int64_t i = 0; i < 1000; ++i)
      ASSERT_EQ(hits[i], i < n ? 1 : 0) << "round " << round << " index " << i;
    std::fill(hits.begin(), hits.end(), 0);
  }
}

TEST(ThreadPool, ChunksRunConcurrently) {
  // Both chunks wait for each other: this only finishes if two threads run
  // them at the same time.
  ThreadPool pool(2);
  std::atomic<int> arrived{0};
  std::atomic<bool> timedOut{false};
  pool.parallelFor(2, [&](int64_t, int64_t) {
    arrived.fetch_add(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (arrived.load() < 2) {
      if (std::chrono::steady_clock::now() > deadline) {
        timedOut = true;
        return;
      }
      std::this_thread::yield();
    }
  });
  EXPECT_FALSE(timedOut.load());
}

TEST(ThreadPool, WorkersArePersistent) {
  ThreadPool pool(2);
  std::mutex m;
  std::set<std::thread::id> ids;
  for (int round = 0; round < 500; ++round)
    pool.parallelFor(2, [&](int64_t, int64_t) {
      std::lock_guard<std::mutex> lock(m);
      ids.insert(std::this_thread::get_id());
    });
  EXPECT_LE(ids.size(), 2u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));
}

TEST(ThreadPool, NestedLoopsRunInline) {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  std::atomic<int> foreignThreads{0};
  pool.parallelFor(2, [&](int64_t, int64_t) {
    EXPECT_TRUE(ThreadPool::insideParallelRegion());
    std::thread::id outer = std::this_thread::get_id();
    pool.parallelFor(8, [&](int64_t b, int64_t e) {
      if (std::this_thread::get_id() != outer)
        foreignThreads.fetch_add(1);
      total.fetch_add(static_cast<int>(e - b));
    });
  });
  EXPECT_EQ(total.load(), 16);
  EXPECT_EQ(foreignThreads.load(), 0);
  EXPECT_FALSE(ThreadPool::insideParallelRegion());
}

TEST(ThreadPool, WakesAfterSleeping) {
  ThreadPool pool(2);
  for (int round = 0; round < 3; ++round) {
    // Long enough for the worker to stop spinning and block.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::atomic<int64_t> sum{0};
    pool.parallelFor(100, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        sum.fetch_add(i);
    });
    EXPECT_EQ(sum.load(), 4950);
  }
}

TEST(ThreadPool, ConcurrentCallersAreSerialized) {
  ThreadPool pool(2);
  auto caller = [&pool](std::atomic<int64_t> &out) {
    for (int round = 0; round < 300; ++round)
      pool.parallelFor(64, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          out.fetch_add(i);
      });
  };
  std::atomic<int64_t> a{0}, b{0};
  std::thread t1(caller, std::ref(a)), t2(caller, std::ref(b));
  t1.join();
  t2.join();
  EXPECT_EQ(a.load(), 300 * 2016);
  EXPECT_EQ(b.load(), 300 * 2016);
}

TEST(ThreadPool, SingleThreadAndInvalidSizes) {
  ThreadPool zero(0), one(1);
  EXPECT_EQ(zero.numThreads(), 1);
  EXPECT_EQ(one.numThreads(), 1);
  EXPECT_EQ(recordChunks(one, 10).size(), 1u);
}

TEST(ThreadPool, CreateAndDestroyRepeatedly) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(3);
    std::atomic<int> n{0};
    pool.parallelFor(3, [&](int64_t b, int64_t e) { n += e - b; });
    EXPECT_EQ(n.load(), 3);
  }
}

TEST(ThreadPool, ParseNumThreads) {
  llvm::Expected<int> four = parseNumThreads("4");
  ASSERT_TRUE(static_cast<bool>(four));
  EXPECT_EQ(*four, 4);
  llvm::Expected<int> spaced = parseNumThreads(" 2 ");
  ASSERT_TRUE(static_cast<bool>(spaced));
  EXPECT_EQ(*spaced, 2);
  for (const char *bad : {"0", "-1", "abc", "", "3x", "100000"}) {
    llvm::Expected<int> r = parseNumThreads(bad);
    ASSERT_FALSE(static_cast<bool>(r)) << bad;
    std::string message = llvm::toString(r.takeError());
    EXPECT_NE(message.find("FTL_NUM_THREADS"), std::string::npos) << message;
    EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos)
        << message;
  }
}

TEST(ThreadPool, NumThreadsFromEnvironment) {
  const char *saved = std::getenv("FTL_NUM_THREADS");
  std::string savedValue = saved ? saved : "";
  setenv("FTL_NUM_THREADS", "3", 1);
  llvm::Expected<int> three = numThreadsFromEnvironment();
  ASSERT_TRUE(static_cast<bool>(three));
  EXPECT_EQ(*three, 3);
  setenv("FTL_NUM_THREADS", "many", 1);
  llvm::Expected<int> bad = numThreadsFromEnvironment();
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("'many'"), std::string::npos);
  unsetenv("FTL_NUM_THREADS");
  llvm::Expected<int> unset = numThreadsFromEnvironment();
  ASSERT_TRUE(static_cast<bool>(unset));
  EXPECT_EQ(*unset, 0);
  if (saved)
    setenv("FTL_NUM_THREADS", savedValue.c_str(), 1);
}

TEST(ThreadPool, DefaultPool) {
  ThreadPool *pool = defaultPool();
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool, defaultPool());
  EXPECT_GE(pool->numThreads(), 1);
  EXPECT_GE(hardwareThreads(), 1);
}

} // namespace
