//===- GemmScalar.cpp - Portable GEMM micro-kernel and packers ------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"

#include <cmath>
#include <cstring>

using namespace ftl::kernels::detail;

void ftl::kernels::detail::copyPanelPortable(const float *src,
                                             int64_t srcStride, int64_t count,
                                             int width, int dstWidth,
                                             float *dst) {
  for (int64_t k = 0; k < count; ++k) {
    std::memcpy(dst + k * dstWidth, src + k * srcStride,
                static_cast<size_t>(width) * sizeof(float));
    for (int i = width; i < dstWidth; ++i)
      dst[k * dstWidth + i] = 0.0f;
  }
}

void ftl::kernels::detail::transposePanelPortable(const float *src,
                                                  int64_t srcStride,
                                                  int64_t count, int width,
                                                  int dstWidth, float *dst) {
  // Blocks of 8 source columns keep the writes within a few cache lines.
  constexpr int64_t kStep = 8;
  for (int64_t k0 = 0; k0 < count; k0 += kStep) {
    int64_t kEnd = k0 + kStep < count ? k0 + kStep : count;
    for (int i = 0; i < width; ++i) {
      const float *row = src + i * srcStride;
      for (int64_t k = k0; k < kEnd; ++k)
        dst[k * dstWidth + i] = row[k];
    }
    for (int i = width; i < dstWidth; ++i)
      for (int64_t k = k0; k < kEnd; ++k)
        dst[k * dstWidth + i] = 0.0f;
  }
}

namespace {
constexpr int kMR = 4;
constexpr int kNR = 8;

void scalarKernel(int64_t kc, const float *a, const float *b, float *c,
                  int64_t ldc, float alpha, float beta) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < kMR; ++i) {
      float ai = a[k * kMR + i];
      for (int j = 0; j < kNR; ++j)
        acc[i][j] += ai * b[k * kNR + j];
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) {
      float v = alpha * acc[i][j];
      float &dst = c[i * ldc + j];
      dst = beta == 0.0f ? v : std::fma(beta, dst, v);
    }
}
} // namespace

const GemmKernel &ftl::kernels::detail::scalarGemmKernel() {
  static const GemmKernel kernel{kMR,
                                 kNR,
                                 /*kcMax=*/256,
                                 /*mcMax=*/256,
                                 /*ncMax=*/1024,
                                 scalarKernel,
                                 copyPanelPortable,
                                 transposePanelPortable};
  return kernel;
}
