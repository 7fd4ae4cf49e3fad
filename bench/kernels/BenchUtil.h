//===- BenchUtil.h - Shared helpers for the kernel benchmarks ----*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The machine's fp32 FMA peak (measured), a wall clock, medians and a tiny
/// command-line reader.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_BENCH_KERNELS_BENCHUTIL_H
#define FTL_BENCH_KERNELS_BENCHUTIL_H

#include "ftl/Kernels/ThreadPool.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ftl::bench {

double nowSeconds();
double median(std::vector<double> values);

/// fp32 GFLOP/s of an FMA-only loop (AVX-512 when the CPU has it, else
/// AVX2) on every thread of `pool` at once; best of a few tries.
double measureFmaPeakGflops(kernels::ThreadPool &pool, const char **isaName);

/// `--name=value` or `--name value` from argv, or `fallback`.
std::string argValue(int argc, char **argv, const std::string &name,
                     const std::string &fallback);
bool hasFlag(int argc, char **argv, const std::string &name);

/// Writes a short description of the CPU (model name, flags that matter).
std::string cpuDescription();

/// A float array aligned to 2 MiB and offered to the kernel as transparent
/// huge pages (as a training runtime's arena would be), filled with zeros.
class HugeArray {
public:
  explicit HugeArray(int64_t n);
  ~HugeArray();
  HugeArray(const HugeArray &) = delete;
  HugeArray &operator=(const HugeArray &) = delete;
  HugeArray(HugeArray &&other) noexcept : ptr(other.ptr), count(other.count) {
    other.ptr = nullptr;
    other.count = 0;
  }
  float *data() { return ptr; }
  const float *data() const { return ptr; }
  int64_t size() const { return count; }
  float &operator[](int64_t i) { return ptr[i]; }

private:
  float *ptr = nullptr;
  int64_t count = 0;
};

} // namespace ftl::bench

#endif // FTL_BENCH_KERNELS_BENCHUTIL_H
