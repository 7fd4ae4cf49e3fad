//===- ftl/Kernels/LinearCrossEntropy.h - Fused LM head + CE -----*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The language-model head and the cross-entropy loss in one pass over
/// vocabulary chunks, so the [T x V] logits are never stored: only a
/// [T x chunk] block of them at a time.
///
///   logits[t, v] = hidden[t, :] . weight[v, :]          hidden [T, D]
///   lse[t]       = log sum_v exp(logits[t, v])          weight [V, D]
///   logProb[t]   = logits[t, target[t]] - lse[t]
///   loss[t]      = -tokenWeight[t] * logProb[t]
///
/// A negative target means "ignore": loss, logProb and all gradients of that
/// token are 0 (its lse is still computed). tokenWeights may be null (all 1).
///
/// The backward pass takes dL/dloss[t] (gradPerToken) and recomputes each
/// logits chunk from lse, so with g[t] = gradPerToken[t] * tokenWeight[t]:
///   dlogits[t, v] = g[t] * (softmax[t, v] - [v == target[t]])
///   dHidden = dlogits W (overwritten), dWeight += dlogits^T hidden.
/// For a loss on log p(target) (preference losses), pass tokenWeights = null
/// and gradPerToken[t] = -dL/dlogProb[t].
///
/// The GEMMs are ftl's sgemm; everything is deterministic (bitwise identical
/// for any thread count). Results depend slightly on `chunk` (rounding).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LINEARCROSSENTROPY_H
#define FTL_KERNELS_LINEARCROSSENTROPY_H

#include "ftl/Kernels/Isa.h"
#include "ftl/Kernels/ThreadPool.h"

#include <cstdint>

namespace ftl::kernels {

/// The vocabulary chunk used when `chunk` is 0.
constexpr int64_t kDefaultCrossEntropyChunk = 4096;

/// Checks sizes (non-negative, chunk >= 0) and that every target is below V
/// (negative targets are allowed: ignored tokens).
llvm::Error validateLinearCrossEntropyArgs(int64_t T, int64_t D, int64_t V,
                                           const int32_t *targets,
                                           int64_t chunk);

/// Forward: lossPerToken [T], lse [T], and logProb [T] (may be null).
/// Scratch: T * chunk floats plus the GEMM's packing buffers.
void linearCrossEntropyForward(int64_t T, int64_t D, int64_t V,
                               const float *hidden, const float *weight,
                               const int32_t *targets,
                               const float *tokenWeights, int64_t chunk,
                               float *lossPerToken, float *lse, float *logProb,
                               ThreadPool *pool = defaultPool(),
                               KernelIsa isa = detectKernelIsa());

/// Backward: dHidden [T, D] is overwritten, dWeight [V, D] accumulated into.
void linearCrossEntropyBackward(
    int64_t T, int64_t D, int64_t V, const float *hidden, const float *weight,
    const int32_t *targets, const float *tokenWeights, int64_t chunk,
    const float *gradPerToken, const float *lse, float *dHidden, float *dWeight,
    ThreadPool *pool = defaultPool(), KernelIsa isa = detectKernelIsa());

/// Naive references with the full [T x V] logits in double.
void linearCrossEntropyForwardReference(
    int64_t T, int64_t D, int64_t V, const float *hidden, const float *weight,
    const int32_t *targets, const float *tokenWeights, float *lossPerToken,
    float *lse, float *logProb);
void linearCrossEntropyForwardReference(
    int64_t T, int64_t D, int64_t V, const double *hidden, const double *weight,
    const int32_t *targets, const double *tokenWeights, double *lossPerToken,
    double *lse, double *logProb);
void linearCrossEntropyBackwardReference(
    int64_t T, int64_t D, int64_t V, const float *hidden, const float *weight,
    const int32_t *targets, const float *tokenWeights,
    const float *gradPerToken, float *dHidden, float *dWeight);

} // namespace ftl::kernels

#endif // FTL_KERNELS_LINEARCROSSENTROPY_H
