//===- BenchUtil.cpp - Shared helpers for the kernel benchmarks -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "BenchUtil.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <immintrin.h>
#include <sys/mman.h>

using namespace ftl::bench;

double ftl::bench::nowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

double ftl::bench::median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

namespace {
// 16 independent accumulators: more than FMA latency x FMA ports, so the loop
// is bound by FMA throughput alone.
__attribute__((target("avx512f"))) float fmaLoopAvx512(int64_t iters,
                                                       float seed) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i)
    acc[i] = _mm512_set1_ps(seed * static_cast<float>(i));
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; ++i)
    s = _mm512_add_ps(s, acc[i]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  float r = 0;
  for (float v : out)
    r += v;
  return r;
}

__attribute__((target("avx2,fma"))) float fmaLoopAvx2(int64_t iters,
                                                      float seed) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i] = _mm256_set1_ps(seed * static_cast<float>(i));
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i)
    s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  float r = 0;
  for (float v : out)
    r += v;
  return r;
}
} // namespace

double ftl::bench::measureFmaPeakGflops(kernels::ThreadPool &pool,
                                        const char **isaName) {
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f");
  if (isaName)
    *isaName = avx512 ? "avx512" : "avx2";
  const int64_t iters = 20'000'000;
  const double flopsPerIter = avx512 ? 16.0 * 16 * 2 : 12.0 * 8 * 2;
  double best = 0;
  volatile float sink = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    int threads = pool.numThreads();
    std::vector<float> results(threads);
    double t0 = nowSeconds();
    pool.parallelFor(threads, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t)
        results[t] = avx512 ? fmaLoopAvx512(iters, 1.0f + t)
                            : fmaLoopAvx2(iters, 1.0f + t);
    });
    double dt = nowSeconds() - t0;
    for (float r : results)
      sink = sink + r;
    best = std::max(best, threads * iters * flopsPerIter / dt / 1e9);
  }
  return best;
}

std::string ftl::bench::argValue(int argc, char **argv, const std::string &name,
                                 const std::string &fallback) {
  std::string key = "--" + name;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == key && i + 1 < argc)
      return argv[i + 1];
    if (a.rfind(key + "=", 0) == 0)
      return a.substr(key.size() + 1);
  }
  return fallback;
}

bool ftl::bench::hasFlag(int argc, char **argv, const std::string &name) {
  std::string key = "--" + name;
  for (int i = 1; i < argc; ++i)
    if (key == argv[i])
      return true;
  return false;
}

std::string ftl::bench::cpuDescription() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(in, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0)
      model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0)
      flags = line;
  }
  std::string out = model.empty() ? "unknown CPU" : model;
  for (const char *f : {"avx512f", "avx512_bf16", "avx512_fp16", "amx_tile"})
    if (flags.find(std::string(" ") + f) != std::string::npos)
      out += std::string(" +") + f;
  return out;
}

ftl::bench::HugeArray::HugeArray(int64_t n) : count(n) {
  const size_t huge = size_t(1) << 21;
  size_t bytes =
      (static_cast<size_t>(n) * sizeof(float) + huge - 1) / huge * huge;
  ptr = static_cast<float *>(std::aligned_alloc(huge, bytes ? bytes : huge));
  if (!ptr)
    std::abort();
  (void)madvise(ptr, bytes, MADV_HUGEPAGE);
  std::memset(ptr, 0, bytes);
}

ftl::bench::HugeArray::~HugeArray() { std::free(ptr); }
