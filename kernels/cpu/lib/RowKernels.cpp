//===- RowKernels.cpp - Vectorized row reductions -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "RowKernels.h"

#include "Avx512Math.h"

#include <cmath>
#include <limits>

using namespace ftl::kernels;
using namespace ftl::kernels::detail;

namespace {

float rowMaxPortable(const float *x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i)
    m = x[i] > m ? x[i] : m;
  return m;
}

float sumExpPortable(const float *x, int64_t n, float shift) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    s += std::exp(x[i] - shift);
  return s;
}

void expScalePortable(float *x, int64_t n, float shift, float scale) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = scale * std::exp(x[i] - shift);
}

#ifdef FTL_HAVE_X86
FTL_TARGET_AVX512 float rowMaxAvx512(const float *x, int64_t n) {
  const __m512 negInf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 m0 = negInf, m1 = negInf;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
  }
  for (; i < n; i += 16)
    m0 = _mm512_max_ps(m0,
                       _mm512_mask_loadu_ps(negInf, firstLanes(n - i), x + i));
  return max512(_mm512_max_ps(m0, m1));
}

FTL_TARGET_AVX512 float sumExpAvx512(const float *x, int64_t n, float shift) {
  const __m512 vs = _mm512_set1_ps(shift);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_add_ps(s0, exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vs)));
    s1 = _mm512_add_ps(s1,
                       exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vs)));
  }
  for (; i < n; i += 16) {
    __mmask16 m = firstLanes(n - i);
    s0 = _mm512_add_ps(
        s0, _mm512_maskz_mov_ps(
                m, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vs))));
  }
  return sum512(_mm512_add_ps(s0, s1));
}

FTL_TARGET_AVX512 void expScaleAvx512(float *x, int64_t n, float shift,
                                      float scale) {
  const __m512 vs = _mm512_set1_ps(shift), vc = _mm512_set1_ps(scale);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = firstLanes(n - i);
    __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(x + i, m,
                          _mm512_mul_ps(vc, exp512(_mm512_sub_ps(v, vs))));
  }
}
#endif

} // namespace

const RowKernels &ftl::kernels::detail::portableRowKernels() {
  static const RowKernels k{rowMaxPortable, sumExpPortable, expScalePortable};
  return k;
}

const RowKernels &ftl::kernels::detail::avx512RowKernels() {
#ifdef FTL_HAVE_X86
  static const RowKernels k{rowMaxAvx512, sumExpAvx512, expScaleAvx512};
  return k;
#else
  return portableRowKernels();
#endif
}

const RowKernels &ftl::kernels::detail::rowKernelsFor(KernelIsa isa) {
  if (isa == KernelIsa::Avx512 && kernelIsaSupported(KernelIsa::Avx512))
    return avx512RowKernels();
  return portableRowKernels();
}
