//===- GemmBench.cpp - sgemm on the training shapes vs OpenBLAS -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Measures the fp32 FMA peak of the machine, then the GFLOP/s of ftl's sgemm
// and OpenBLAS's cblas_sgemm, alternately in one run, on the GEMMs of a
// training step with T = 2048 tokens: forward y = x W^T (NT), input gradient
// dX = dY W (NN) and weight gradient dW = dY^T X (TN).
//
//   OPENBLAS_CORETYPE=SkylakeX KernelsGemmBench --threads 2 [--reps 5]
//       [--filter gpt2] [--isa avx512|avx2|scalar] [--no-blas]
//
//===----------------------------------------------------------------------===//

#include "BenchUtil.h"

#include "ftl/Kernels/Gemm.h"
#include "ftl/Runtime/Rng.h"

#ifdef FTL_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace ftl::kernels;
using namespace ftl::bench;

namespace {

struct Shape {
  const char *model;
  const char *layer;
  int64_t in, out;
};

const Shape kShapes[] = {
    {"tiny", "qkv", 256, 768},       {"tiny", "attn proj", 256, 256},
    {"tiny", "mlp up", 256, 1024},   {"tiny", "mlp down", 1024, 256},
    {"tiny", "lm head", 256, 4096},  {"gpt2", "qkv", 768, 2304},
    {"gpt2", "attn proj", 768, 768}, {"gpt2", "mlp up", 768, 3072},
    {"gpt2", "mlp down", 3072, 768}, {"gpt2", "lm head", 768, 50257},
};

struct Gemm {
  Trans ta, tb;
  int64_t M, N, K;
  const char *form;
};

/// The three GEMMs of a linear layer x[T, in] -> y[T, out], W[out, in].
std::vector<Gemm> formsOf(const Shape &s, int64_t T) {
  return {{Trans::No, Trans::Yes, T, s.out, s.in, "NT y=xW^T"},
          {Trans::No, Trans::No, T, s.in, s.out, "NN dX=dYW"},
          {Trans::Yes, Trans::No, s.out, s.in, T, "TN dW=dY^TX"}};
}

/// Operands on huge pages, shared by both libraries.
struct Buffers {
  HugeArray A, B, C, C2;
  int64_t lda, ldb, ldc;
};

Buffers makeBuffers(const Gemm &g, ftl::rt::Rng &rng) {
  int64_t rowsA = g.ta == Trans::No ? g.M : g.K;
  int64_t lda = g.ta == Trans::No ? g.K : g.M;
  int64_t rowsB = g.tb == Trans::No ? g.K : g.N;
  int64_t ldb = g.tb == Trans::No ? g.N : g.K;
  Buffers b{HugeArray(rowsA * lda),
            HugeArray(rowsB * ldb),
            HugeArray(g.M * g.N),
            HugeArray(g.M * g.N),
            lda,
            ldb,
            g.N};
  for (int64_t i = 0; i < b.A.size(); ++i)
    b.A[i] = rng.uniform() - 0.5f;
  for (int64_t i = 0; i < b.B.size(); ++i)
    b.B[i] = rng.uniform() - 0.5f;
  return b;
}

} // namespace

int main(int argc, char **argv) {
  int threads = std::atoi(argValue(argc, argv, "threads",
                                   std::to_string(defaultPool()->numThreads()))
                              .c_str());
  int reps = std::atoi(argValue(argc, argv, "reps", "5").c_str());
  int64_t T = std::atoll(argValue(argc, argv, "tokens", "2048").c_str());
  std::string filter = argValue(argc, argv, "filter", "");
  std::string isaArg = argValue(argc, argv, "isa", "");
  bool useBlas = !hasFlag(argc, argv, "no-blas");
  KernelIsa isa = detectKernelIsa();
  if (isaArg == "avx2")
    isa = KernelIsa::Avx2;
  else if (isaArg == "scalar")
    isa = KernelIsa::Scalar;
  if (!kernelIsaSupported(isa)) {
    std::fprintf(stderr, "error: this CPU cannot run the '%s' path\n",
                 isaArg.c_str());
    return 1;
  }

  ThreadPool pool(threads);
#ifdef FTL_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#else
  useBlas = false;
#endif

  const char *peakIsa = "";
  double peak = measureFmaPeakGflops(pool, &peakIsa);
  ThreadPool single(1);
  double peak1 = measureFmaPeakGflops(single, nullptr);
  std::printf("cpu: %s\n", cpuDescription().c_str());
  std::printf("threads: %d  ftl path: %s  T=%lld  reps=%d (median)\n", threads,
              kernelIsaName(isa), static_cast<long long>(T), reps);
  std::printf("fp32 FMA peak (%s): %.1f GFLOP/s on %d threads, %.1f on 1\n",
              peakIsa, peak, threads, peak1);
#ifdef FTL_HAVE_OPENBLAS
  if (useBlas) {
    const char *coretype = std::getenv("OPENBLAS_CORETYPE");
    std::printf("openblas: %s, core %s, OPENBLAS_CORETYPE=%s, %d threads\n",
                openblas_get_config(), openblas_get_corename(),
                coretype ? coretype : "(unset)", openblas_get_num_threads());
  }
#endif
  struct Row {
    const char *model, *layer, *form;
    int64_t M, N, K;
    double ftl, blas;
  };
  std::vector<Row> rows;
  ftl::rt::Rng rng(12345);
  double sumFtl = 0, sumBlas = 0, sumFlop = 0;
  for (const Shape &s : kShapes) {
    std::string label = std::string(s.model) + " " + s.layer;
    if (!filter.empty() && label.find(filter) == std::string::npos)
      continue;
    for (const Gemm &g : formsOf(s, T)) {
      Buffers b = makeBuffers(g, rng);
      const double flop = 2.0 * g.M * g.N * g.K;
      auto runFtl = [&] {
        sgemmWithIsa(isa, g.ta, g.tb, g.M, g.N, g.K, 1.0f, b.A.data(), b.lda,
                     b.B.data(), b.ldb, 0.0f, b.C.data(), b.ldc, &pool);
      };
#ifdef FTL_HAVE_OPENBLAS
      auto runBlas = [&] {
        cblas_sgemm(
            CblasRowMajor, g.ta == Trans::Yes ? CblasTrans : CblasNoTrans,
            g.tb == Trans::Yes ? CblasTrans : CblasNoTrans,
            static_cast<int>(g.M), static_cast<int>(g.N), static_cast<int>(g.K),
            1.0f, b.A.data(), static_cast<int>(b.lda), b.B.data(),
            static_cast<int>(b.ldb), 0.0f, b.C2.data(),
            static_cast<int>(b.ldc));
      };
#endif
      // Warm up (page faults, packing buffers), then each library's reps in
      // a row. Not alternated: OpenBLAS's workers keep spinning for a while
      // after a call returns (its THREAD_TIMEOUT, about 0.1 s), and would
      // take a core from whatever runs next; so the next shape waits for
      // them to sleep.
      std::vector<double> tFtl, tBlas;
      runFtl();
      for (int r = 0; r < reps; ++r) {
        double t0 = nowSeconds();
        runFtl();
        tFtl.push_back(nowSeconds() - t0);
      }
#ifdef FTL_HAVE_OPENBLAS
      if (useBlas) {
        runBlas();
        for (int r = 0; r < reps; ++r) {
          double t0 = nowSeconds();
          runBlas();
          tBlas.push_back(nowSeconds() - t0);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
#endif
      double gFtl = flop / median(tFtl) / 1e9;
      double gBlas = useBlas ? flop / median(tBlas) / 1e9 : 0;
      sumFtl += median(tFtl);
      sumBlas += useBlas ? median(tBlas) : 0;
      sumFlop += flop;
      if (useBlas) {
        // Sanity: both libraries computed the same product.
        double maxDiff = 0, maxVal = 0;
        for (int64_t i = 0; i < b.C.size(); i += 97) {
          maxDiff = std::max(maxDiff, double(std::fabs(b.C[i] - b.C2[i])));
          maxVal = std::max(maxVal, double(std::fabs(b.C2[i])));
        }
        if (maxDiff > 1e-3 * (1 + maxVal))
          std::fprintf(stderr, "warning: %s %s differs from OpenBLAS by %g\n",
                       label.c_str(), g.form, maxDiff);
      }
      rows.push_back({s.model, s.layer, g.form, g.M, g.N, g.K, gFtl, gBlas});
      std::fprintf(stderr, "%s %s %s: ftl %.1f GFLOP/s, OpenBLAS %.1f\n",
                   s.model, s.layer, g.form, gFtl, gBlas);
    }
  }
  // The machine is shared: measure the peak again and use the larger (less
  // disturbed) of the two measurements.
  double peakEnd = measureFmaPeakGflops(pool, nullptr);
  std::printf("fp32 FMA peak at the end: %.1f GFLOP/s; percentages use "
              "%.1f\n",
              peakEnd, std::max(peak, peakEnd));
  peak = std::max(peak, peakEnd);
  std::printf("\n| model | layer | form | M | N | K | ftl GFLOP/s | ftl %% "
              "peak | OpenBLAS GFLOP/s | OpenBLAS %% peak | ftl/OpenBLAS |\n");
  std::printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row &r : rows) {
    std::printf("| %s | %s | %s | %lld | %lld | %lld | %.1f | %.1f%% | ",
                r.model, r.layer, r.form, static_cast<long long>(r.M),
                static_cast<long long>(r.N), static_cast<long long>(r.K), r.ftl,
                100 * r.ftl / peak);
    if (useBlas)
      std::printf("%.1f | %.1f%% | %.2f |\n", r.blas, 100 * r.blas / peak,
                  r.ftl / r.blas);
    else
      std::printf("- | - | - |\n");
  }
  if (sumFlop > 0) {
    std::printf("\nall shapes (time-weighted): ftl %.1f GFLOP/s (%.1f%% of "
                "peak)",
                sumFlop / sumFtl / 1e9, 100 * sumFlop / sumFtl / 1e9 / peak);
    if (useBlas)
      std::printf(", OpenBLAS %.1f GFLOP/s (%.1f%%)", sumFlop / sumBlas / 1e9,
                  100 * sumFlop / sumBlas / 1e9 / peak);
    std::printf("\n");
  }
  return 0;
}
