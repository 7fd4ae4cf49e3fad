//===- Attend.cpp - One token's attention over its cached positions -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Scores: for each cached position, its key row is read once and dotted
// with every query head of the group. Softmax per head in fp32 (max-shifted
// exp, then one division's worth of scaling). Output: each value row is read
// once and added, weighted, into every head's output.
//
//===----------------------------------------------------------------------===//

#include "Attend.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FTL_ATTEND_X86 1
#define FTL_ATTEND_AVX512                                                      \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define FTL_ATTEND_AVX2 __attribute__((target("avx2,fma")))
#endif

using namespace ftl;
using namespace ftl::rt::detail;

namespace {

/// scores[g][0..n) = exp(s - max) / sum, in place.
inline void softmaxRows(int64_t n, int64_t group, float *scores,
                        int64_t stride) {
  for (int64_t g = 0; g < group; ++g) {
    float *s = scores + g * stride;
    float m = s[0];
    for (int64_t j = 1; j < n; ++j)
      m = std::max(m, s[j]);
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      s[j] = std::exp(s[j] - m);
      sum += s[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; ++j)
      s[j] *= inv;
  }
}

//===----------------------------------------------------------------------===//
// Portable
//===----------------------------------------------------------------------===//

inline float dotPortable(const float *a, const float *b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l)
      acc[l] += a[i + l] * b[i + l];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
            ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i)
    s += a[i] * b[i];
  return s;
}

void attendPortable(int64_t n, int64_t hd, int64_t group, float scale,
                    const float *q, const float *K, const float *V,
                    float *scores, int64_t stride, float *out) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t g = 0; g < group; ++g)
      scores[g * stride + j] = dotPortable(q + g * hd, K + j * hd, hd) * scale;
  softmaxRows(n, group, scores, stride);
  std::fill(out, out + group * hd, 0.0f);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t g = 0; g < group; ++g) {
      const float p = scores[g * stride + j];
      const float *v = V + j * hd;
      float *o = out + g * hd;
      for (int64_t d = 0; d < hd; ++d)
        o[d] += p * v[d];
    }
}

#ifdef FTL_ATTEND_X86

// GCC 12 warns inside its own 512-bit cast intrinsics (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

//===----------------------------------------------------------------------===//
// AVX-512
//===----------------------------------------------------------------------===//

FTL_ATTEND_AVX512 inline float hsum512(__m512 v) {
  __m256 h =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

FTL_ATTEND_AVX512 void attendAvx512(int64_t n, int64_t hd, int64_t group,
                                    float scale, const float *q, const float *K,
                                    const float *V, float *scores,
                                    int64_t stride, float *out) {
  const int64_t main = hd / 16 * 16;
  const __mmask16 tail =
      static_cast<__mmask16>((1u << static_cast<unsigned>(hd - main)) - 1u);
  for (int64_t j = 0; j < n; ++j) {
    const float *k = K + j * hd;
    for (int64_t g = 0; g < group; ++g) {
      const float *qg = q + g * hd;
      __m512 acc = _mm512_setzero_ps();
      for (int64_t d = 0; d < main; d += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(qg + d), _mm512_loadu_ps(k + d),
                              acc);
      if (tail)
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, qg + main),
                              _mm512_maskz_loadu_ps(tail, k + main), acc);
      scores[g * stride + j] = hsum512(acc) * scale;
    }
  }
  softmaxRows(n, group, scores, stride);
  std::fill(out, out + group * hd, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    const float *v = V + j * hd;
    for (int64_t g = 0; g < group; ++g) {
      const __m512 p = _mm512_set1_ps(scores[g * stride + j]);
      float *o = out + g * hd;
      for (int64_t d = 0; d < main; d += 16)
        _mm512_storeu_ps(o + d, _mm512_fmadd_ps(p, _mm512_loadu_ps(v + d),
                                                _mm512_loadu_ps(o + d)));
      if (tail)
        _mm512_mask_storeu_ps(
            o + main, tail,
            _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(tail, v + main),
                            _mm512_maskz_loadu_ps(tail, o + main)));
    }
  }
}

//===----------------------------------------------------------------------===//
// AVX2
//===----------------------------------------------------------------------===//

FTL_ATTEND_AVX2 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

FTL_ATTEND_AVX2 void attendAvx2(int64_t n, int64_t hd, int64_t group,
                                float scale, const float *q, const float *K,
                                const float *V, float *scores, int64_t stride,
                                float *out) {
  const int64_t main = hd / 8 * 8;
  for (int64_t j = 0; j < n; ++j) {
    const float *k = K + j * hd;
    for (int64_t g = 0; g < group; ++g) {
      const float *qg = q + g * hd;
      __m256 acc = _mm256_setzero_ps();
      for (int64_t d = 0; d < main; d += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(qg + d), _mm256_loadu_ps(k + d),
                              acc);
      float s = hsum256(acc);
      for (int64_t d = main; d < hd; ++d)
        s += qg[d] * k[d];
      scores[g * stride + j] = s * scale;
    }
  }
  softmaxRows(n, group, scores, stride);
  std::fill(out, out + group * hd, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    const float *v = V + j * hd;
    for (int64_t g = 0; g < group; ++g) {
      const float pj = scores[g * stride + j];
      const __m256 p = _mm256_set1_ps(pj);
      float *o = out + g * hd;
      for (int64_t d = 0; d < main; d += 8)
        _mm256_storeu_ps(o + d, _mm256_fmadd_ps(p, _mm256_loadu_ps(v + d),
                                                _mm256_loadu_ps(o + d)));
      for (int64_t d = main; d < hd; ++d)
        o[d] += pj * v[d];
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif // FTL_ATTEND_X86

} // namespace

void ftl::rt::detail::attendCached(kernels::KernelIsa isa, int64_t n,
                                   int64_t headDim, int64_t group, float scale,
                                   const float *q, const float *K,
                                   const float *V, float *scores,
                                   int64_t scoreStride, float *out) {
#ifdef FTL_ATTEND_X86
  if (isa == kernels::KernelIsa::Avx512)
    return attendAvx512(n, headDim, group, scale, q, K, V, scores, scoreStride,
                        out);
  if (isa == kernels::KernelIsa::Avx2)
    return attendAvx2(n, headDim, group, scale, q, K, V, scores, scoreStride,
                      out);
#endif
  attendPortable(n, headDim, group, scale, q, K, V, scores, scoreStride, out);
}
