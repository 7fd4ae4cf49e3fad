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

} // namespace ftl::bench

#endif // FTL_BENCH_KERNELS_BENCHUTIL_H
