//===- GemmAvx2.cpp - AVX2 + FMA GEMM micro-kernel ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A 6 x 16 tile: 12 ymm accumulators, two ymm loads of packed B per k and six
// broadcasts of packed A. Compiled with target attributes; used only after a
// run-time CPU check.
//
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FTL_HAVE_X86 1
#define FTL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

using namespace ftl::kernels::detail;

#ifdef FTL_HAVE_X86
namespace {
constexpr int kMR = 6;
constexpr int kNR = 16;

FTL_TARGET_AVX2 void kernel6x16(int64_t kc, const float *a, const float *b,
                                float *c, int64_t ldc, float alpha,
                                float beta) {
  __m256 acc[kMR][2];
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    acc[i][0] = _mm256_setzero_ps();
    acc[i][1] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMR;
    b += kNR;
  }
  __m256 va = _mm256_set1_ps(alpha);
  __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < kMR; ++i) {
    float *row = c + i * ldc;
    __m256 r0 = _mm256_mul_ps(va, acc[i][0]);
    __m256 r1 = _mm256_mul_ps(va, acc[i][1]);
    if (beta != 0.0f) {
      r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
      r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
    }
    _mm256_storeu_ps(row, r0);
    _mm256_storeu_ps(row + 8, r1);
  }
}
} // namespace

const GemmKernel &ftl::kernels::detail::avx2GemmKernel() {
  static const GemmKernel kernel{kMR,
                                 kNR,
                                 /*kcMax=*/256,
                                 /*mcMax=*/768,
                                 /*ncMax=*/1024,
                                 kernel6x16,
                                 copyPanelPortable,
                                 transposePanelPortable};
  return kernel;
}
#else
const GemmKernel &ftl::kernels::detail::avx2GemmKernel() {
  return scalarGemmKernel();
}
#endif
