//===- Avx512Math.h - Vector math for the AVX-512 kernels --------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// exp and log on 16 floats, for files whose AVX-512 functions carry the
/// FTL_TARGET_AVX512 attribute. Include only from such files, and only on
/// x86-64 (FTL_HAVE_X86 is defined when this header is usable).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LIB_AVX512MATH_H
#define FTL_KERNELS_LIB_AVX512MATH_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined registers inside its own AVX-512
// intrinsics (_mm512_undefined_ps) as uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define FTL_HAVE_X86 1
#define FTL_TARGET_AVX512                                                      \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

namespace ftl::kernels::detail {

/// exp(x) within about 2 ulp for x in [-87, 88]; smaller x give (nearly) 0,
/// larger give a large finite value or +inf. NaN propagates.
FTL_TARGET_AVX512 static inline __m512 exp512(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-88.0f), hi = _mm512_set1_ps(88.7f);
  __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
  __m512 n = _mm512_roundscale_ps(
      _mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - n ln2 in two steps (ln2 = hi + lo, hi with few mantissa bits).
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  // Taylor polynomial of degree 7 on |r| <= ln2 / 2.
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  __m512 result = _mm512_scalef_ps(p, n);
  // Keep NaN inputs NaN (min/max above would have replaced them).
  __mmask16 isNan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_mov_ps(result, isNan, x);
}

/// 2^x for x <= 0 (larger x are not clamped), within about 2 ulp for
/// x >= -126; smaller x give (nearly) 0. -inf gives 0; NaN is not handled.
/// Cheaper than exp512: softmax kernels fold log2(e) into their scale.
FTL_TARGET_AVX512 static inline __m512 exp2NonPositive512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-127.0f));
  __m512 n =
      _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_sub_ps(x, n); // [-0.5, 0.5]
  // 2^f = e^(f ln 2): Taylor coefficients (ln 2)^k / k!, degree 6.
  __m512 p = _mm512_set1_ps(1.5403530393381608e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076284772e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108664821580e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650695910071e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718055994531e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

/// In-register transpose: on return r[c] holds column c of the 16 x 16 block
/// whose rows were r[0..15].
FTL_TARGET_AVX512 static inline void transpose16x16(__m512 r[16]) {
  __m512 a[16], b[16];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    a[2 * j] = _mm512_unpacklo_ps(r[2 * j], r[2 * j + 1]);
    a[2 * j + 1] = _mm512_unpackhi_ps(r[2 * j], r[2 * j + 1]);
  }
  // b[4j + c], 128-bit lane L: rows 4j..4j+3 of column 4L + c.
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    __m512d a0 = _mm512_castps_pd(a[4 * j]),
            a1 = _mm512_castps_pd(a[4 * j + 1]);
    __m512d a2 = _mm512_castps_pd(a[4 * j + 2]),
            a3 = _mm512_castps_pd(a[4 * j + 3]);
    b[4 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    b[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    b[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    b[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  // Column 4L + c gathers lane L of b[c], b[4 + c], b[8 + c], b[12 + c].
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    __m512 e0 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x44);
    __m512 e1 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xEE);
    __m512 f0 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x44);
    __m512 f1 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xEE);
    r[c] = _mm512_shuffle_f32x4(e0, f0, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(e0, f0, 0xDD);
    r[8 + c] = _mm512_shuffle_f32x4(e1, f1, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(e1, f1, 0xDD);
  }
}

/// Horizontal sum of 16 floats in a fixed order.
FTL_TARGET_AVX512 static inline float sum512(__m512 v) {
  __m256 a =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

/// Horizontal maximum of 16 floats.
FTL_TARGET_AVX512 static inline float max512(__m512 v) {
  __m256 a =
      _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_max_ps(b, _mm_movehl_ps(b, b));
  b = _mm_max_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

/// Mask of the first `n` lanes (n in [0, 16]).
FTL_TARGET_AVX512 static inline __mmask16 firstLanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : static_cast<__mmask16>((1u << n) - 1);
}

} // namespace ftl::kernels::detail

#endif
#endif // FTL_KERNELS_LIB_AVX512MATH_H
