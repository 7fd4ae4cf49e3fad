//===- LinearCrossEntropy.cpp - Fused LM head + cross-entropy -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Forward, for each vocabulary chunk [v0, v1): logits = hidden W[v0:v1]^T
// (sgemm), then per token an online log-sum-exp update (running max and
// rescaled sum) and the target logit if it falls in the chunk.
//
// Backward, for each chunk: recompute the logits, turn them into
// g[t] * (softmax - onehot) in place, then dHidden += G W[v0:v1] and
// dWeight[v0:v1] += G^T hidden (both sgemm). Chunks run in increasing order.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/LinearCrossEntropy.h"

#include "llvm/Support/Error.h"

#include "ftl/Kernels/Gemm.h"

#include "RowKernels.h"
#include "VocabChunks.h"
#include "Workspace.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace ftl::kernels;
using namespace ftl::kernels::detail;

llvm::Error ftl::kernels::validateLinearCrossEntropyArgs(int64_t T, int64_t D,
                                                         int64_t V,
                                                         const int32_t *targets,
                                                         int64_t chunk) {
  auto negative = [](const char *what, int64_t found) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "linear cross-entropy: '%s' must be non-negative, found %lld", what,
        static_cast<long long>(found));
  };
  if (T < 0)
    return negative("T", T);
  if (D < 0)
    return negative("D", D);
  if (V < 0)
    return negative("V", V);
  if (chunk < 0)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "linear cross-entropy: 'chunk' must be positive (or 0 for the default "
        "%lld), found %lld",
        static_cast<long long>(kDefaultCrossEntropyChunk),
        static_cast<long long>(chunk));
  if (T > 0 && V == 0)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "linear cross-entropy: the vocabulary is empty ('V' is 0) but there "
        "are %lld tokens",
        static_cast<long long>(T));
  for (int64_t t = 0; t < T; ++t)
    if (targets[t] >= V)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "linear cross-entropy: target %d of token %lld is outside the "
          "vocabulary of %lld entries (use a negative target to ignore a "
          "token)",
          targets[t], static_cast<long long>(t), static_cast<long long>(V));
  return llvm::Error::success();
}

void ftl::kernels::linearCrossEntropyForward(
    int64_t T, int64_t D, int64_t V, const float *hidden, const float *weight,
    const int32_t *targets, const float *tokenWeights, int64_t chunk,
    float *lossPerToken, float *lse, float *logProb, ThreadPool *pool,
    KernelIsa isa) {
  if (T <= 0)
    return;
  const RowKernels &R = rowKernelsFor(isa);
  const int64_t C = effectiveChunk(chunk, V);
  float *logits = workspace(WorkspaceSlot::CrossEntropy, T * C + 3 * T);
  float *runMax = logits + T * C;
  float *runSum = runMax + T;
  float *targetLogit = runSum + T;
  std::fill(runMax, runMax + T, -std::numeric_limits<float>::infinity());
  std::fill(runSum, runSum + T, 0.0f);
  std::fill(targetLogit, targetLogit + T, 0.0f);

  for (int64_t v0 = 0; v0 < V; v0 += C) {
    const int64_t n = std::min(C, V - v0);
    sgemmWithIsa(isa, Trans::No, Trans::Yes, T, n, D, 1.0f, hidden, D,
                 weight + v0 * D, D, 0.0f, logits, n, pool);
    forEachRow(pool, T, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const float *row = logits + t * n;
        const float chunkMax = R.rowMax(row, n);
        const float newMax = std::max(runMax[t], chunkMax);
        const float rescale =
            runMax[t] == -std::numeric_limits<float>::infinity()
                ? 0.0f
                : std::exp(runMax[t] - newMax);
        runSum[t] = runSum[t] * rescale + R.sumExp(row, n, newMax);
        runMax[t] = newMax;
        const int64_t target = targets[t];
        if (target >= v0 && target < v0 + n)
          targetLogit[t] = row[target - v0];
      }
    });
  }
  for (int64_t t = 0; t < T; ++t) {
    lse[t] = runMax[t] + std::log(runSum[t]);
    if (targets[t] < 0) {
      lossPerToken[t] = 0.0f;
      if (logProb)
        logProb[t] = 0.0f;
      continue;
    }
    const float lp = targetLogit[t] - lse[t];
    if (logProb)
      logProb[t] = lp;
    lossPerToken[t] = -(tokenWeights ? tokenWeights[t] : 1.0f) * lp;
  }
}

void ftl::kernels::linearCrossEntropyBackward(
    int64_t T, int64_t D, int64_t V, const float *hidden, const float *weight,
    const int32_t *targets, const float *tokenWeights, int64_t chunk,
    const float *gradPerToken, const float *lse, float *dHidden, float *dWeight,
    ThreadPool *pool, KernelIsa isa) {
  if (T <= 0)
    return;
  if (V <= 0) {
    std::fill(dHidden, dHidden + T * D, 0.0f);
    return;
  }
  const RowKernels &R = rowKernelsFor(isa);
  const KernelIsa gi = isa;
  const int64_t C = effectiveChunk(chunk, V);
  float *grad = workspace(WorkspaceSlot::CrossEntropy, T * C + T);
  float *coef = grad + T * C;
  for (int64_t t = 0; t < T; ++t)
    coef[t] = targets[t] < 0
                  ? 0.0f
                  : gradPerToken[t] * (tokenWeights ? tokenWeights[t] : 1.0f);

  for (int64_t v0 = 0; v0 < V; v0 += C) {
    const int64_t n = std::min(C, V - v0);
    const float *w = weight + v0 * D;
    sgemmWithIsa(gi, Trans::No, Trans::Yes, T, n, D, 1.0f, hidden, D, w, D,
                 0.0f, grad, n, pool);
    forEachRow(pool, T, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        float *row = grad + t * n;
        if (coef[t] == 0.0f) {
          std::fill(row, row + n, 0.0f);
          continue;
        }
        R.expScale(row, n, lse[t], coef[t]);
        const int64_t target = targets[t];
        if (target >= v0 && target < v0 + n)
          row[target - v0] -= coef[t];
      }
    });
    // dHidden (+)= G W[v0:v1];  dWeight[v0:v1] += G^T hidden.
    sgemmWithIsa(gi, Trans::No, Trans::No, T, D, n, 1.0f, grad, n, w, D,
                 v0 == 0 ? 0.0f : 1.0f, dHidden, D, pool);
    sgemmWithIsa(gi, Trans::Yes, Trans::No, n, D, T, 1.0f, grad, n, hidden, D,
                 1.0f, dWeight + v0 * D, D, pool);
  }
}
