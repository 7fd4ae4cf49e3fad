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
  /// C[m x n] = alpha * A B, plus C when `accumulate`. A(i, p) is
  /// a[i * ars + p * acs]; row p of B starts at b + p * ldb. Each element is
  /// summed over p in increasing order.
  void (*tileGemm)(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t ars, int64_t acs, const float *b, int64_t ldb,
                   float *c, int64_t ldc, bool accumulate);

  /// Online-softmax step on a score tile s[rows x cols] (row stride lds):
  /// x = scale * s (-inf where masked); mNew = max(m, column max of x);
  /// s = exp(x - mNew) (0 where masked); corr = exp(m - mNew) (1 while mNew is
  /// -inf); l = l * corr + column sum of s (rows in increasing order);
  /// m = mNew. mask may be null (every pair allowed).
  void (*softmaxForward)(int64_t rows, int64_t cols, float *s, int64_t lds,
                         float scale, const TileMask *mask, float *m, float *l,
                         float *corr);

  /// Backward step on tiles s (scores in, probabilities out) and dp (dP in,
  /// dS out), both with row stride ld: p = exp(scale * s - lse[col]) (0 where
  /// masked), dp = p * (dp - delta[col]).
  void (*softmaxBackward)(int64_t rows, int64_t cols, float *s, float *dp,
                          int64_t ld, float scale, const TileMask *mask,
                          const float *lse, const float *delta);
};

const AttentionKernels &avx512AttentionKernels();
const AttentionKernels &portableAttentionKernels();
/// The kernels for `isa` (AVX-512 when asked and supported, else portable).
const AttentionKernels &attentionKernelsFor(KernelIsa isa);

} // namespace ftl::kernels::detail

#endif // FTL_KERNELS_LIB_ATTENTIONKERNELS_H
