//===- GemmAvx512.cpp - AVX-512 GEMM micro-kernel -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A 14 x 32 tile: 28 zmm accumulators, two zmm loads of packed B per k and 14
// broadcasts of packed A folded into the FMAs. Compiled with target
// attributes so that the library still runs on CPUs without AVX-512; the
// driver calls it only after a run-time CPU check.
//
//===----------------------------------------------------------------------===//

#include "Avx512Math.h"
#include "GemmKernels.h"

using namespace ftl::kernels::detail;

#ifdef FTL_HAVE_X86
namespace {
constexpr int kMR = 14;
constexpr int kNR = 32;

/// dst[k * dstWidth + i] = src[i * srcStride + k] (zero for i >= width),
/// 16 x 16 blocks at a time. dstWidth <= 32.
FTL_TARGET_AVX512 void transposePanelAvx512(const float *src, int64_t srcStride,
                                            int64_t count, int width,
                                            int dstWidth, float *dst) {
  for (int64_t k0 = 0; k0 < count; k0 += 16) {
    const int kn = count - k0 < 16 ? static_cast<int>(count - k0) : 16;
    const __mmask16 loadMask = static_cast<__mmask16>((1u << kn) - 1);
    for (int i0 = 0; i0 < dstWidth; i0 += 16) {
      const int lanes = dstWidth - i0 < 16 ? dstWidth - i0 : 16;
      const __mmask16 storeMask = static_cast<__mmask16>((1u << lanes) - 1);
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        r[i] = i0 + i < width ? _mm512_maskz_loadu_ps(
                                    loadMask, src + (i0 + i) * srcStride + k0)
                              : _mm512_setzero_ps();
      transpose16x16(r);
      float *out = dst + k0 * dstWidth + i0;
      if (lanes == 16) {
        for (int k = 0; k < kn; ++k)
          _mm512_storeu_ps(out + k * dstWidth, r[k]);
      } else {
        for (int k = 0; k < kn; ++k)
          _mm512_mask_storeu_ps(out + k * dstWidth, storeMask, r[k]);
      }
    }
  }
}

/// dst[k * dstWidth + i] = src[k * srcStride + i] (zero for i >= width).
/// dstWidth <= 32.
FTL_TARGET_AVX512 void copyPanelAvx512(const float *src, int64_t srcStride,
                                       int64_t count, int width, int dstWidth,
                                       float *dst) {
  const int w0 = width < 16 ? width : 16;
  const int w1 = width - w0;
  const __mmask16 m0 = static_cast<__mmask16>((1u << w0) - 1);
  const __mmask16 m1 = static_cast<__mmask16>((1u << w1) - 1);
  const int d1 = dstWidth - 16;
  if (dstWidth == 32) {
    for (int64_t k = 0; k < count; ++k) {
      const float *s = src + k * srcStride;
      _mm512_storeu_ps(dst + k * 32, _mm512_maskz_loadu_ps(m0, s));
      _mm512_storeu_ps(dst + k * 32 + 16, _mm512_maskz_loadu_ps(m1, s + 16));
    }
    return;
  }
  const __mmask16 s0 =
      static_cast<__mmask16>((1u << (dstWidth < 16 ? dstWidth : 16)) - 1);
  const __mmask16 s1 = static_cast<__mmask16>(d1 > 0 ? (1u << d1) - 1 : 0);
  for (int64_t k = 0; k < count; ++k) {
    const float *s = src + k * srcStride;
    _mm512_mask_storeu_ps(dst + k * dstWidth, s0, _mm512_maskz_loadu_ps(m0, s));
    if (d1 > 0)
      _mm512_mask_storeu_ps(dst + k * dstWidth + 16, s1,
                            _mm512_maskz_loadu_ps(m1, s + 16));
  }
}

FTL_TARGET_AVX512 void kernel14x32(int64_t kc, const float *a, const float *b,
                                   float *c, int64_t ldc, float alpha,
                                   float beta) {
  __m512 acc[kMR][2];
#pragma GCC unroll 14
  for (int i = 0; i < kMR; ++i) {
    acc[i][0] = _mm512_setzero_ps();
    acc[i][1] = _mm512_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char *>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char *>(c + i * ldc + 16), _MM_HINT_T0);
  }
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < kMR; ++i) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kMR;
    b += kNR;
  }
  __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 14
    for (int i = 0; i < kMR; ++i) {
      _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, acc[i][0]));
      _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, acc[i][1]));
    }
  } else {
    __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
    for (int i = 0; i < kMR; ++i) {
      float *row = c + i * ldc;
      _mm512_storeu_ps(row, _mm512_fmadd_ps(vb, _mm512_loadu_ps(row),
                                            _mm512_mul_ps(va, acc[i][0])));
      _mm512_storeu_ps(row + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16),
                                                 _mm512_mul_ps(va, acc[i][1])));
    }
  }
}
} // namespace

const GemmKernel &ftl::kernels::detail::avx512GemmKernel() {
  static const GemmKernel kernel{
      kMR,           kNR,         /*kcMax=*/384,   /*mcMax=*/4096,
      /*ncMax=*/512, kernel14x32, copyPanelAvx512, transposePanelAvx512};
  return kernel;
}
#else
const GemmKernel &ftl::kernels::detail::avx512GemmKernel() {
  return scalarGemmKernel();
}
#endif
