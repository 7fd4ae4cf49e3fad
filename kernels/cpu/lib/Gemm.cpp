//===- Gemm.cpp - SGEMM driver: blocking, packing, threads ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The classic packed GEMM: K is cut into blocks of depth kc; for each block a
// slab of op(A) (mc rows) is packed into MR-row panels and a slab of op(B) (nc
// columns) into NR-column panels, and the micro-kernel sweeps the tiles. The
// A panel of a tile row stays in L1 while the kernel walks the B slab (L2).
//
// Threads get disjoint rectangles of C (a pm x pn grid, chosen to keep the
// redundant packing small). Every element's sum runs over the same kc blocks
// in the same order whatever the grid, hence bitwise identical results for
// any thread count.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Gemm.h"

#include "llvm/Support/Error.h"

#include "GemmKernels.h"
#include "Workspace.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace ftl::kernels;
using namespace ftl::kernels::detail;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

/// Splits `extent` into blocks of at most `maxBlock`, all of equal size (the
/// last may be smaller), rounded up to `unit`.
int64_t blockSize(int64_t extent, int64_t maxBlock, int64_t unit) {
  int64_t blocks = ceilDiv(extent, maxBlock);
  return std::min(roundUp(ceilDiv(extent, blocks), unit),
                  roundUp(extent, unit));
}

void scaleC(int64_t M, int64_t N, float beta, float *C, int64_t ldc,
            ThreadPool *pool) {
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float *row = C + i * ldc;
      if (beta == 0.0f)
        std::fill(row, row + N, 0.0f);
      else if (beta != 1.0f)
        for (int64_t j = 0; j < N; ++j)
          row[j] *= beta;
    }
  };
  if (pool && M * N >= (1 << 16))
    pool->parallelFor(M, rows);
  else
    rows(0, M);
}

struct Problem {
  Trans ta, tb;
  int64_t M, N, K;
  float alpha;
  const float *A;
  int64_t lda;
  const float *B;
  int64_t ldb;
  float beta;
  float *C;
  int64_t ldc;
};

struct Blocking {
  int64_t kc, mc, nc;
};

/// Computes rows [m0, m1) x columns [n0, n1) of C.
void runRectangle(const GemmKernel &kern, const Problem &p, const Blocking &blk,
                  int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int MR = kern.mr, NR = kern.nr;
  int64_t mcMax = std::min(blk.mc, roundUp(m1 - m0, MR));
  int64_t ncMax = std::min(blk.nc, roundUp(n1 - n0, NR));
  int64_t kcMax = std::min(blk.kc, p.K);
  float *packA = workspace(WorkspaceSlot::GemmA, mcMax * kcMax);
  float *packB = workspace(WorkspaceSlot::GemmB, ncMax * kcMax);
  alignas(64) float edge[32 * 32];

  for (int64_t pc = 0; pc < p.K; pc += blk.kc) {
    const int64_t kc = std::min(blk.kc, p.K - pc);
    const float beta = pc == 0 ? p.beta : 1.0f;
    for (int64_t ic = m0; ic < m1; ic += blk.mc) {
      const int64_t mc = std::min(blk.mc, m1 - ic);
      // Pack op(A)[ic : ic + mc, pc : pc + kc] into MR-row panels.
      for (int64_t i = 0; i < mc; i += MR) {
        int w = static_cast<int>(std::min<int64_t>(MR, mc - i));
        float *dst = packA + i * kc;
        if (p.ta == Trans::Yes)
          kern.copy(p.A + pc * p.lda + ic + i, p.lda, kc, w, MR, dst);
        else
          kern.transpose(p.A + (ic + i) * p.lda + pc, p.lda, kc, w, MR, dst);
      }
      for (int64_t jc = n0; jc < n1; jc += blk.nc) {
        const int64_t nc = std::min(blk.nc, n1 - jc);
        // Pack op(B)[pc : pc + kc, jc : jc + nc] into NR-column panels.
        for (int64_t j = 0; j < nc; j += NR) {
          int w = static_cast<int>(std::min<int64_t>(NR, nc - j));
          float *dst = packB + j * kc;
          if (p.tb == Trans::No)
            kern.copy(p.B + pc * p.ldb + jc + j, p.ldb, kc, w, NR, dst);
          else
            kern.transpose(p.B + (jc + j) * p.ldb + pc, p.ldb, kc, w, NR, dst);
        }
        for (int64_t i = 0; i < mc; i += MR) {
          const float *a = packA + i * kc;
          const int64_t mr = std::min<int64_t>(MR, mc - i);
          for (int64_t j = 0; j < nc; j += NR) {
            const float *b = packB + j * kc;
            const int64_t nr = std::min<int64_t>(NR, nc - j);
            float *c = p.C + (ic + i) * p.ldc + jc + j;
            if (mr == MR && nr == NR) {
              kern.kernel(kc, a, b, c, p.ldc, p.alpha, beta);
              continue;
            }
            kern.kernel(kc, a, b, edge, NR, p.alpha, 0.0f);
            for (int64_t r = 0; r < mr; ++r)
              for (int64_t q = 0; q < nr; ++q) {
                float v = edge[r * NR + q];
                float &dst = c[r * p.ldc + q];
                dst = beta == 0.0f ? v : std::fma(beta, dst, v);
              }
          }
        }
      }
    }
  }
}

/// Picks a pm x pn grid of rectangles for `threads` threads, minimizing the
/// busiest thread's estimated cycles (compute plus packing).
void chooseGrid(const GemmKernel &kern, const Blocking &blk, int64_t M,
                int64_t N, int64_t K, int threads, int &pm, int &pn) {
  const int64_t tilesM = ceilDiv(M, kern.mr), tilesN = ceilDiv(N, kern.nr);
  double best = -1;
  pm = pn = 1;
  for (int a = 1; a <= threads; ++a) {
    if (threads % a)
      continue;
    int b = threads / a;
    if (a > tilesM || b > tilesN)
      continue;
    double rows = static_cast<double>(ceilDiv(tilesM, a) * kern.mr);
    double cols = static_cast<double>(ceilDiv(tilesN, b) * kern.nr);
    double compute = rows * cols * K / 32.0;
    double packing =
        rows * K + cols * K * std::ceil(rows / static_cast<double>(blk.mc));
    double cost = compute + packing;
    if (best < 0 || cost < best) {
      best = cost;
      pm = a;
      pn = b;
    }
  }
}

const GemmKernel &kernelFor(KernelIsa isa) {
  switch (isa) {
  case KernelIsa::Avx512:
    return avx512GemmKernel();
  case KernelIsa::Avx2:
    return avx2GemmKernel();
  case KernelIsa::Scalar:
    break;
  }
  return scalarGemmKernel();
}

} // namespace

void ftl::kernels::sgemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                         float alpha, const float *A, int64_t lda,
                         const float *B, int64_t ldb, float beta, float *C,
                         int64_t ldc, ThreadPool *pool) {
  sgemmWithIsa(detectKernelIsa(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta,
               C, ldc, pool);
}

void ftl::kernels::sgemmWithIsa(KernelIsa isa, Trans ta, Trans tb, int64_t M,
                                int64_t N, int64_t K, float alpha,
                                const float *A, int64_t lda, const float *B,
                                int64_t ldb, float beta, float *C, int64_t ldc,
                                ThreadPool *pool) {
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0 || alpha == 0.0f) {
    scaleC(M, N, beta, C, ldc, pool);
    return;
  }
  // A path this CPU cannot run would fault; use the best one it can.
  const GemmKernel &kern =
      kernelFor(kernelIsaSupported(isa) ? isa : detectKernelIsa());
  Problem p{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  // Block sizes depend only on the shape, never on the thread count.
  Blocking blk;
  blk.kc = blockSize(K, kern.kcMax, 1);
  blk.mc = blockSize(M, kern.mcMax, kern.mr);
  blk.nc = blockSize(N, kern.ncMax, kern.nr);

  int threads =
      pool && !ThreadPool::insideParallelRegion() ? pool->numThreads() : 1;
  // Small products are not worth waking the workers.
  if (static_cast<double>(M) * N * K < 64.0 * 64.0 * 64.0)
    threads = 1;
  if (threads <= 1) {
    runRectangle(kern, p, blk, 0, M, 0, N);
    return;
  }
  int pm, pn;
  chooseGrid(kern, blk, M, N, K, threads, pm, pn);
  const int64_t tilesM = ceilDiv(M, kern.mr), tilesN = ceilDiv(N, kern.nr);
  pool->parallelFor(pm * pn, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t a = t / pn, b = t % pn;
      int64_t m0 = std::min(M, tilesM * a / pm * kern.mr);
      int64_t m1 = std::min(M, tilesM * (a + 1) / pm * kern.mr);
      int64_t n0 = std::min(N, tilesN * b / pn * kern.nr);
      int64_t n1 = std::min(N, tilesN * (b + 1) / pn * kern.nr);
      if (m0 < m1 && n0 < n1)
        runRectangle(kern, p, blk, m0, m1, n0, n1);
    }
  });
}

llvm::Error ftl::kernels::validateSgemmArgs(Trans ta, Trans tb, int64_t M,
                                            int64_t N, int64_t K, int64_t lda,
                                            int64_t ldb, int64_t ldc) {
  auto fail = [](const char *what, int64_t expected, int64_t found,
                 const char *why) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "sgemm: '%s' must be at least %lld (%s), found %lld", what,
        static_cast<long long>(expected), why, static_cast<long long>(found));
  };
  if (M < 0)
    return fail("M", 0, M, "a row count");
  if (N < 0)
    return fail("N", 0, N, "a column count");
  if (K < 0)
    return fail("K", 0, K, "the inner dimension");
  if (ta == Trans::No && lda < std::max<int64_t>(1, K))
    return fail("lda", std::max<int64_t>(1, K), lda,
                "K, the row length of a non-transposed A");
  if (ta == Trans::Yes && lda < std::max<int64_t>(1, M))
    return fail("lda", std::max<int64_t>(1, M), lda,
                "M, the row length of a transposed A");
  if (tb == Trans::No && ldb < std::max<int64_t>(1, N))
    return fail("ldb", std::max<int64_t>(1, N), ldb,
                "N, the row length of a non-transposed B");
  if (tb == Trans::Yes && ldb < std::max<int64_t>(1, K))
    return fail("ldb", std::max<int64_t>(1, K), ldb,
                "K, the row length of a transposed B");
  if (ldc < std::max<int64_t>(1, N))
    return fail("ldc", std::max<int64_t>(1, N), ldc, "N, the row length of C");
  return llvm::Error::success();
}
