//===- AttentionAvx512.cpp - AVX-512 attention tile primitives ------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Tile products with up to 6 x 64 register accumulators and the softmax steps
// vectorized along query columns, with a polynomial exp. Compiled with target
// attributes; chosen only after a run-time CPU check.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"
#include "Avx512Math.h"

#include <limits>

using namespace ftl::kernels;
using namespace ftl::kernels::detail;

#ifdef FTL_HAVE_X86
namespace {

constexpr int kRows = 6;
constexpr int kVecs = 4;

template <int R, int NV>
FTL_TARGET_AVX512 void
tileBlock(int64_t k, float alpha, const float *a, int64_t ars, int64_t acs,
          const float *b, int64_t ldb, float *c, int64_t ldc, bool accumulate,
          const float *rowScale, __mmask16 last) {
  __m512 acc[R][NV];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const float *brow = b + p * ldb;
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, brow + 16 * v)
                          : _mm512_loadu_ps(brow + 16 * v);
    const float *acol = a + p * acs;
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      __m512 ar = _mm512_set1_ps(acol[r * ars]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float *crow = c + r * ldc;
    const __m512 cs = _mm512_set1_ps(rowScale ? rowScale[r] : 1.0f);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __mmask16 m = v == NV - 1 ? last : static_cast<__mmask16>(0xFFFF);
      __m512 res = _mm512_mul_ps(va, acc[r][v]);
      if (accumulate) {
        __m512 old = _mm512_maskz_loadu_ps(m, crow + 16 * v);
        res =
            rowScale ? _mm512_fmadd_ps(cs, old, res) : _mm512_add_ps(old, res);
      }
      _mm512_mask_storeu_ps(crow + 16 * v, m, res);
    }
  }
}

using TileBlockFn = void (*)(int64_t, float, const float *, int64_t, int64_t,
                             const float *, int64_t, float *, int64_t, bool,
                             const float *, __mmask16);

template <int R>
constexpr TileBlockFn kByVecs[kVecs] = {tileBlock<R, 1>, tileBlock<R, 2>,
                                        tileBlock<R, 3>, tileBlock<R, 4>};
const TileBlockFn *const kBlocks[kRows] = {kByVecs<1>, kByVecs<2>, kByVecs<3>,
                                           kByVecs<4>, kByVecs<5>, kByVecs<6>};

FTL_TARGET_AVX512 void tileGemmAvx512(int64_t m, int64_t n, int64_t k,
                                      float alpha, const float *a, int64_t ars,
                                      int64_t acs, const float *b, int64_t ldb,
                                      float *c, int64_t ldc, bool accumulate,
                                      const float *rowScale) {
  for (int64_t c0 = 0; c0 < n; c0 += 16 * kVecs) {
    int64_t width = n - c0 < 16 * kVecs ? n - c0 : 16 * kVecs;
    int nv = static_cast<int>((width + 15) / 16);
    __mmask16 last = firstLanes(width - 16 * (nv - 1));
    for (int64_t r0 = 0; r0 < m; r0 += kRows) {
      int rows = static_cast<int>(m - r0 < kRows ? m - r0 : kRows);
      kBlocks[rows - 1][nv - 1](k, alpha, a + r0 * ars, ars, acs, b + c0, ldb,
                                c + r0 * ldc + c0, ldc, accumulate,
                                rowScale ? rowScale + r0 : nullptr, last);
    }
  }
}

/// Lanes of columns [c0, c0 + 16) that row j may attend.
FTL_TARGET_AVX512 inline __mmask16 allowedLanes(const TileMask *mask, int64_t j,
                                                int64_t c0, __mmask16 valid) {
  __mmask16 ok = valid;
  if (mask->causal) {
    // key k0 + j <= query q0 + c0 + lane  <=>  lane >= k0 + j - q0 - c0.
    int64_t first = mask->k0 + j - mask->q0 - c0;
    if (first > 0)
      ok &= first >= 16 ? 0 : static_cast<__mmask16>(0xFFFFu << first);
  }
  if (mask->qseg) {
    __m512i qs = _mm512_maskz_loadu_epi32(valid, mask->qseg + c0);
    ok &= _mm512_cmpeq_epi32_mask(qs, _mm512_set1_epi32(mask->kseg[j]));
  }
  return ok;
}

FTL_TARGET_AVX512 void softmaxForwardAvx512(int64_t rows, int64_t cols,
                                            float *s, int64_t lds, float scale,
                                            const TileMask *mask, float *m,
                                            float *l, float *corr) {
  const __m512 negInf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    const __mmask16 valid = firstLanes(cols - c0);
    __m512 colMax = negInf;
    for (int64_t j = 0; j < rows; ++j) {
      float *row = s + j * lds + c0;
      __m512 x = _mm512_mul_ps(vscale, _mm512_maskz_loadu_ps(valid, row));
      if (mask)
        x = _mm512_mask_mov_ps(negInf, allowedLanes(mask, j, c0, valid), x);
      _mm512_mask_storeu_ps(row, valid, x);
      colMax = _mm512_max_ps(colMax, x);
    }
    __m512 mOld = _mm512_mask_loadu_ps(negInf, valid, m + c0);
    __m512 mNew = _mm512_max_ps(mOld, colMax);
    __mmask16 live = _mm512_cmp_ps_mask(mNew, negInf, _CMP_NEQ_OQ);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < rows; ++j) {
      float *row = s + j * lds + c0;
      __m512 x = _mm512_maskz_loadu_ps(valid, row);
      __mmask16 finite = _mm512_cmp_ps_mask(x, negInf, _CMP_NEQ_OQ);
      __m512 p = _mm512_maskz_mov_ps(
          finite & valid, exp2NonPositive512(_mm512_sub_ps(x, mNew)));
      _mm512_mask_storeu_ps(row, valid, p);
      sum = _mm512_add_ps(sum, p);
    }
    __m512 cr =
        _mm512_mask_mov_ps(_mm512_set1_ps(1.0f), live,
                           exp2NonPositive512(_mm512_sub_ps(mOld, mNew)));
    __m512 lOld = _mm512_maskz_loadu_ps(valid, l + c0);
    _mm512_mask_storeu_ps(l + c0, valid, _mm512_fmadd_ps(lOld, cr, sum));
    _mm512_mask_storeu_ps(corr + c0, valid, cr);
    _mm512_mask_storeu_ps(m + c0, valid, mNew);
  }
}

FTL_TARGET_AVX512 void softmaxBackwardAvx512(int64_t rows, int64_t cols,
                                             float *s, float *dp, int64_t ld,
                                             float scale, const TileMask *mask,
                                             const float *lse,
                                             const float *delta) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    const __mmask16 valid = firstLanes(cols - c0);
    const __m512 vlse = _mm512_maskz_loadu_ps(valid, lse + c0);
    const __m512 vdelta = _mm512_maskz_loadu_ps(valid, delta + c0);
    for (int64_t j = 0; j < rows; ++j) {
      float *srow = s + j * ld + c0;
      float *drow = dp + j * ld + c0;
      __mmask16 ok = mask ? allowedLanes(mask, j, c0, valid) : valid;
      __m512 x = _mm512_maskz_loadu_ps(valid, srow);
      __m512 p = _mm512_maskz_mov_ps(
          ok, exp2NonPositive512(_mm512_fmsub_ps(vscale, x, vlse)));
      __m512 d = _mm512_maskz_loadu_ps(valid, drow);
      _mm512_mask_storeu_ps(srow, valid, p);
      _mm512_mask_storeu_ps(drow, valid,
                            _mm512_mul_ps(p, _mm512_sub_ps(d, vdelta)));
    }
  }
}

FTL_TARGET_AVX512 void transposeAvx512(const float *src, int64_t srcStride,
                                       int64_t rows, int64_t cols, float *dst,
                                       int64_t ldd) {
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int64_t nr = rows - r0 < 16 ? rows - r0 : 16;
    const __mmask16 storeMask = firstLanes(nr);
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      const int64_t nc = cols - c0 < 16 ? cols - c0 : 16;
      const __mmask16 loadMask = firstLanes(nc);
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        r[i] = i < nr ? _mm512_maskz_loadu_ps(loadMask,
                                              src + (r0 + i) * srcStride + c0)
                      : _mm512_setzero_ps();
      transpose16x16(r);
      for (int64_t c = 0; c < nc; ++c)
        _mm512_mask_storeu_ps(dst + (c0 + c) * ldd + r0, storeMask, r[c]);
    }
  }
}

FTL_TARGET_AVX512 void rowDotsAvx512(const float *a, const float *b,
                                     int64_t stride, int64_t rows, int64_t n,
                                     float *out) {
  for (int64_t r = 0; r < rows; ++r) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = firstLanes(n - i);
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + r * stride + i),
                            _mm512_maskz_loadu_ps(m, b + r * stride + i), acc);
    }
    out[r] = sum512(acc);
  }
}

} // namespace

const AttentionKernels &ftl::kernels::detail::avx512AttentionKernels() {
  static const AttentionKernels kernels{tileGemmAvx512, softmaxForwardAvx512,
                                        softmaxBackwardAvx512, transposeAvx512,
                                        rowDotsAvx512};
  return kernels;
}
#else
const AttentionKernels &ftl::kernels::detail::avx512AttentionKernels() {
  return portableAttentionKernels();
}
#endif
