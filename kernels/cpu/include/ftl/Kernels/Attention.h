//===- ftl/Kernels/Attention.h - Causal flash attention (fp32) ---*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Causal scaled-dot-product attention with grouped-query heads and optional
/// packed-document segments, computed in tiles with an online softmax: no
/// [T x T] matrix is ever stored, only per-row log-sum-exp values.
///
/// Layouts (row-major, fp32):
///   q, out, dq, dout  [B, T, H, D]    (row stride H * D: the natural output
///                                      of a q projection)
///   k, v, dk, dv      [B, T, KVH, D]
///   lse               [B, H, T]       natural log of the softmax denominator
///   segmentIds        [B, T]          optional
/// Query head h reads kv head h / (H / KVH). Token i attends to token j iff
/// j <= i and (no segments or segmentIds[b, i] == segmentIds[b, j]).
/// Scores are scale * q.k with scale = 1 / sqrt(D) unless given.
///
/// Determinism: every output element is computed by one thread with a fixed
/// summation order (dk and dv sum over the query heads of a group and then
/// over query tiles, always in increasing order), so results are bitwise
/// identical run to run and for any thread count.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_ATTENTION_H
#define FTL_KERNELS_ATTENTION_H

#include "ftl/Kernels/Isa.h"
#include "ftl/Kernels/ThreadPool.h"

#include <cstdint>

namespace ftl::kernels {

struct AttentionShape {
  int64_t batch = 1;
  int64_t seqLen = 0;     ///< T
  int64_t numHeads = 1;   ///< H
  int64_t numKvHeads = 1; ///< KVH, divides H
  int64_t headDim = 0;    ///< D
  /// Score scale; 0 means 1 / sqrt(headDim).
  float scale = 0.0f;
  /// Optional [batch, seqLen] document ids; null means one document per row.
  const int32_t *segmentIds = nullptr;

  float effectiveScale() const;
};

/// Checks that the sizes are positive and that numKvHeads divides numHeads.
llvm::Error validateAttentionShape(const AttentionShape &shape);

/// out = softmax(scale * q k^T + mask) v, lse = log of the row sums.
/// `isa` picks the code path (AVX-512 or portable; others use portable).
void attentionForward(const AttentionShape &shape, const float *q,
                      const float *k, const float *v, float *out, float *lse,
                      ThreadPool *pool = defaultPool(),
                      KernelIsa isa = detectKernelIsa());

/// Gradients of sum(out * dOut) with respect to q, k and v, given the
/// forward's `out` and `lse`. dq, dk and dv are overwritten.
void attentionBackward(const AttentionShape &shape, const float *q,
                       const float *k, const float *v, const float *out,
                       const float *dOut, const float *lse, float *dq,
                       float *dk, float *dv, ThreadPool *pool = defaultPool(),
                       KernelIsa isa = detectKernelIsa());

/// Naive references: full score rows in double, same layouts. The double
/// overloads serve finite-difference checks.
void attentionForwardReference(const AttentionShape &shape, const float *q,
                               const float *k, const float *v, float *out,
                               float *lse);
void attentionForwardReference(const AttentionShape &shape, const double *q,
                               const double *k, const double *v, double *out,
                               double *lse);
void attentionBackwardReference(const AttentionShape &shape, const float *q,
                                const float *k, const float *v,
                                const float *dOut, float *dq, float *dk,
                                float *dv);

} // namespace ftl::kernels

#endif // FTL_KERNELS_ATTENTION_H
