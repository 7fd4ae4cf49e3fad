//===- AttentionKernels.h - Tile primitives behind attention -----*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Private interface between the attention driver (Attention.cpp) and its
/// per-ISA tile primitives (AttentionAvx512.cpp, AttentionPortable.cpp).
///
/// Score tiles are stored transposed, S^T[j][i] with j a key row and i a query
/// column, so the softmax statistics of a query are vectors along a row.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LIB_ATTENTIONKERNELS_H
#define FTL_KERNELS_LIB_ATTENTIONKERNELS_H

#include "ftl/Kernels/Isa.h"

#include <cstdint>

namespace ftl::kernels::detail {

/// Which (key row j, query column i) pairs of a tile may attend: key position
/// k0 + j <= query position q0 + i when `causal`, and kseg[j] == qseg[i] when
/// the segment arrays are given.
struct TileMask {
  bool causal = false;
  int64_t q0 = 0, k0 = 0;
  const int32_t *qseg = nullptr, *kseg = nullptr;
};

struct AttentionKernels {
  /// C[m x n] = alpha * A B, plus C (times rowScale[i] for row i when
  /// rowScale is not null) when `accumulate`. A(i, p) is a[i * ars + p * acs];
  /// row p of B starts at b + p * ldb. Each element is summed over p in
  /// increasing order.
  void (*tileGemm)(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t ars, int64_t acs, const float *b, int64_t ldb,
                   float *c, int64_t ldc, bool accumulate,
                   const float *rowScale);

  /// Online-softmax step, in base 2, on a score tile s[rows x cols] (row
  /// stride lds): x = scale2 * s (-inf where masked); mNew = max(m, column
  /// max of x); s = 2^(x - mNew) (0 where masked); corr = 2^(m - mNew) (1
  /// while mNew is -inf); l = l * corr + column sum of s (rows in increasing
  /// order); m = mNew. The driver passes scale2 = scale * log2(e), so that
  /// lse = ln(2) * (m + log2(l)). mask may be null (every pair allowed).
  void (*softmaxForward)(int64_t rows, int64_t cols, float *s, int64_t lds,
                         float scale2, const TileMask *mask, float *m, float *l,
                         float *corr);

  /// Backward step on tiles s (scores in, probabilities out) and dp (dP in,
  /// dS out), both with row stride ld: p = 2^(scale2 * s - lse2[col]) (0
  /// where masked), dp = p * (dp - delta[col]), with lse2 = lse * log2(e).
  void (*softmaxBackward)(int64_t rows, int64_t cols, float *s, float *dp,
                          int64_t ld, float scale2, const TileMask *mask,
                          const float *lse2, const float *delta);

  /// dst[c * ldd + r] = src[r * srcStride + c] for r < rows, c < cols.
  void (*transpose)(const float *src, int64_t srcStride, int64_t rows,
                    int64_t cols, float *dst, int64_t ldd);

  /// out[r] = sum_i a[r * stride + i] * b[r * stride + i] for i < n.
  void (*rowDots)(const float *a, const float *b, int64_t stride, int64_t rows,
                  int64_t n, float *out);
};

const AttentionKernels &avx512AttentionKernels();
const AttentionKernels &portableAttentionKernels();
/// The kernels for `isa` (AVX-512 when asked and supported, else portable).
const AttentionKernels &attentionKernelsFor(KernelIsa isa);

} // namespace ftl::kernels::detail

#endif // FTL_KERNELS_LIB_ATTENTIONKERNELS_H
