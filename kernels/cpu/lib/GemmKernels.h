//===- GemmKernels.h - Micro-kernels behind sgemm ----------------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Private interface between the GEMM driver (Gemm.cpp) and the per-ISA
/// micro-kernels (GemmAvx512.cpp, GemmAvx2.cpp, GemmScalar.cpp).
///
/// A micro-kernel computes one MR x NR tile of C from packed panels:
///   a: kc steps of MR values (a[k * MR + i] = op(A)(i, k)),
///   b: kc steps of NR values (b[k * NR + j] = op(B)(k, j)),
/// accumulating over k in increasing order (fused multiply-adds on the AVX
/// paths), then
///   C = alpha * acc              when beta == 0 (C not read),
///   C = fma(beta, C, alpha * acc) otherwise.
/// Edge tiles are computed into a scratch tile with beta == 0 and merged with
/// the same formula, so every element of C rounds identically wherever its
/// tile falls.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LIB_GEMMKERNELS_H
#define FTL_KERNELS_LIB_GEMMKERNELS_H

#include <cstdint>

namespace ftl::kernels::detail {

using MicroKernelFn = void (*)(int64_t kc, const float *a, const float *b,
                               float *c, int64_t ldc, float alpha, float beta);

/// Copies `count` rows of `width` floats, row i from src + i * srcStride, to
/// dst + i * dstWidth, zero-filling columns width..dstWidth-1 (a panel row).
using PanelCopyFn = void (*)(const float *src, int64_t srcStride, int64_t count,
                             int width, int dstWidth, float *dst);

/// Transposing pack: dst[k * dstWidth + i] = src[i * srcStride + k] for
/// i < width, k < count; columns width..dstWidth-1 zero.
using PanelTransposeFn = void (*)(const float *src, int64_t srcStride,
                                  int64_t count, int width, int dstWidth,
                                  float *dst);

struct GemmKernel {
  int mr;    ///< rows of the C tile (broadcast operand A)
  int nr;    ///< columns of the C tile (vector operand B)
  int kcMax; ///< depth of one packed block
  int mcMax; ///< rows of A packed at once
  int ncMax; ///< columns of B packed at once
  MicroKernelFn kernel;
  PanelCopyFn copy;
  PanelTransposeFn transpose;
};

const GemmKernel &avx512GemmKernel();
const GemmKernel &avx2GemmKernel();
const GemmKernel &scalarGemmKernel();

/// Portable packers (used by the scalar path and as fallbacks).
void copyPanelPortable(const float *src, int64_t srcStride, int64_t count,
                       int width, int dstWidth, float *dst);
void transposePanelPortable(const float *src, int64_t srcStride, int64_t count,
                            int width, int dstWidth, float *dst);

} // namespace ftl::kernels::detail

#endif // FTL_KERNELS_LIB_GEMMKERNELS_H
