//===- AttentionPortable.cpp - Portable attention tile primitives ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"

#include <cmath>
#include <limits>

using namespace ftl::kernels;
using namespace ftl::kernels::detail;

namespace {

bool allowed(const TileMask *mask, int64_t j, int64_t i) {
  if (!mask)
    return true;
  if (mask->causal && mask->k0 + j > mask->q0 + i)
    return false;
  if (mask->qseg && mask->qseg[i] != mask->kseg[j])
    return false;
  return true;
}

void tileGemmPortable(int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t ars, int64_t acs, const float *b,
                      int64_t ldb, float *c, int64_t ldc, bool accumulate,
                      const float *rowScale) {
  constexpr int64_t kMaxCols = 256;
  float acc[kMaxCols];
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j0 = 0; j0 < n; j0 += kMaxCols) {
      int64_t nj = n - j0 < kMaxCols ? n - j0 : kMaxCols;
      for (int64_t j = 0; j < nj; ++j)
        acc[j] = 0.0f;
      for (int64_t p = 0; p < k; ++p) {
        float av = a[i * ars + p * acs];
        const float *brow = b + p * ldb + j0;
        for (int64_t j = 0; j < nj; ++j)
          acc[j] += av * brow[j];
      }
      float *crow = c + i * ldc + j0;
      const float cs = rowScale ? rowScale[i] : 1.0f;
      for (int64_t j = 0; j < nj; ++j)
        crow[j] = accumulate ? cs * crow[j] + alpha * acc[j] : alpha * acc[j];
    }
  }
}

void softmaxForwardPortable(int64_t rows, int64_t cols, float *s, int64_t lds,
                            float scale, const TileMask *mask, float *m,
                            float *l, float *corr) {
  const float negInf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < cols; ++i) {
    float colMax = negInf;
    for (int64_t j = 0; j < rows; ++j) {
      float &x = s[j * lds + i];
      x = allowed(mask, j, i) ? scale * x : negInf;
      colMax = x > colMax ? x : colMax;
    }
    float mNew = m[i] > colMax ? m[i] : colMax;
    float sum = 0.0f;
    for (int64_t j = 0; j < rows; ++j) {
      float &x = s[j * lds + i];
      x = x == negInf ? 0.0f : std::exp2(x - mNew);
      sum += x;
    }
    corr[i] = mNew == negInf ? 1.0f : std::exp2(m[i] - mNew);
    l[i] = l[i] * corr[i] + sum;
    m[i] = mNew;
  }
}

void softmaxBackwardPortable(int64_t rows, int64_t cols, float *s, float *dp,
                             int64_t ld, float scale, const TileMask *mask,
                             const float *lse, const float *delta) {
  for (int64_t j = 0; j < rows; ++j)
    for (int64_t i = 0; i < cols; ++i) {
      float p = allowed(mask, j, i) ? std::exp2(scale * s[j * ld + i] - lse[i])
                                    : 0.0f;
      s[j * ld + i] = p;
      dp[j * ld + i] = p * (dp[j * ld + i] - delta[i]);
    }
}

void transposePortable(const float *src, int64_t srcStride, int64_t rows,
                       int64_t cols, float *dst, int64_t ldd) {
  constexpr int64_t kStep = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kStep) {
    const int64_t r1 = r0 + kStep < rows ? r0 + kStep : rows;
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t r = r0; r < r1; ++r)
        dst[c * ldd + r] = src[r * srcStride + c];
  }
}

void rowDotsPortable(const float *a, const float *b, int64_t stride,
                     int64_t rows, int64_t n, float *out) {
  for (int64_t r = 0; r < rows; ++r) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i)
      sum += a[r * stride + i] * b[r * stride + i];
    out[r] = sum;
  }
}

} // namespace

const AttentionKernels &ftl::kernels::detail::portableAttentionKernels() {
  static const AttentionKernels kernels{
      tileGemmPortable, softmaxForwardPortable, softmaxBackwardPortable,
      transposePortable, rowDotsPortable};
  return kernels;
}

const AttentionKernels &
ftl::kernels::detail::attentionKernelsFor(KernelIsa isa) {
  if (isa == KernelIsa::Avx512 && kernelIsaSupported(KernelIsa::Avx512))
    return avx512AttentionKernels();
  return portableAttentionKernels();
}
