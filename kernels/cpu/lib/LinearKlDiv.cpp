//===- LinearKlDiv.cpp - Fused LM heads + KL divergence -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Forward, per vocabulary chunk: both models' logits (two sgemms into a
// [T x chunk] block each), then per token the online log-sum-exp of each and
// the running sum of exp(r - max r) (r - z), rescaled when max r grows.
//
// Backward, per chunk: recompute both blocks, turn the trained model's into
// g (softmax(z) - softmax(r)) in place, then dHidden (+)= G W[v0:v1] and
// dWeight[v0:v1] += G^T hidden, as the cross-entropy kernel does.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/LinearKlDiv.h"

#include "ftl/Kernels/Gemm.h"

#include "RowKernels.h"
#include "VocabChunks.h"
#include "Workspace.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace ftl::kernels;
using namespace ftl::kernels::detail;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// Both models' logits for vocabulary entries [v0, v0 + n).
void chunkLogits(const KlShape &s, KernelIsa isa, int64_t v0, int64_t n,
                 const float *hidden, const float *weight,
                 const float *refHidden, const float *refWeight, float *z,
                 float *r, ThreadPool *pool) {
  const int64_t T = s.tokens, D = s.hidden, RD = s.refHidden;
  sgemmWithIsa(isa, Trans::No, Trans::Yes, T, n, D, 1.0f, hidden, D,
               weight + v0 * D, D, 0.0f, z, n, pool);
  sgemmWithIsa(isa, Trans::No, Trans::Yes, T, n, RD, 1.0f, refHidden, RD,
               refWeight + v0 * RD, RD, 0.0f, r, n, pool);
}

} // namespace

void ftl::kernels::linearKlForward(const KlShape &s, const float *hidden,
                                   const float *weight, const float *refHidden,
                                   const float *refWeight,
                                   const float *tokenWeights, float *klPerToken,
                                   float *lse, float *refLse, ThreadPool *pool,
                                   KernelIsa isa) {
  const int64_t T = s.tokens, V = s.vocab;
  if (T <= 0)
    return;
  const RowKernels &R = rowKernelsFor(isa);
  const int64_t C = effectiveChunk(s.chunk, V);
  float *z = workspace(WorkspaceSlot::KlDiv, 2 * T * C);
  float *r = z + T * C;
  std::vector<float> zMax(T, kNegInf), rMax(T, kNegInf);
  std::vector<double> zSum(T, 0.0), rSum(T, 0.0), cross(T, 0.0);

  for (int64_t v0 = 0; v0 < V; v0 += C) {
    const int64_t n = std::min(C, V - v0);
    chunkLogits(s, isa, v0, n, hidden, weight, refHidden, refWeight, z, r,
                pool);
    forEachRow(pool, T, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const float *zr = z + t * n, *rr = r + t * n;
        const float newZ = std::max(zMax[t], R.rowMax(zr, n));
        if (zMax[t] != kNegInf)
          zSum[t] *= std::exp(double(zMax[t]) - newZ);
        zMax[t] = newZ;

        const float newR = std::max(rMax[t], R.rowMax(rr, n));
        if (rMax[t] != kNegInf) {
          const double rescale = std::exp(double(rMax[t]) - newR);
          rSum[t] *= rescale;
          cross[t] *= rescale;
        }
        // Both sums in the same arithmetic, so equal logits give equal
        // log-sum-exps to the last bit.
        double sumZ = 0, sum = 0, crossSum = 0;
        for (int64_t v = 0; v < n; ++v) {
          sumZ += std::exp(double(zr[v]) - newZ);
          const double e = std::exp(double(rr[v]) - newR);
          sum += e;
          crossSum += e * (double(rr[v]) - double(zr[v]));
        }
        zSum[t] += sumZ;
        rSum[t] += sum;
        cross[t] += crossSum;
        rMax[t] = newR;
      }
    });
  }
  for (int64_t t = 0; t < T; ++t) {
    const double zLse = zMax[t] + std::log(zSum[t]);
    const double rLse = rMax[t] + std::log(rSum[t]);
    lse[t] = float(zLse);
    refLse[t] = float(rLse);
    const float w = tokenWeights ? tokenWeights[t] : 1.0f;
    // Equal logits give exactly 0 (cross is 0 and the two sums agree).
    klPerToken[t] =
        w == 0.0f ? 0.0f : float(w * (cross[t] / rSum[t] - rLse + zLse));
  }
}

void ftl::kernels::linearKlBackward(
    const KlShape &s, const float *hidden, const float *weight,
    const float *refHidden, const float *refWeight, const float *tokenWeights,
    const float *gradPerToken, const float *lse, const float *refLse,
    float *dHidden, float *dWeight, ThreadPool *pool, KernelIsa isa) {
  const int64_t T = s.tokens, D = s.hidden, V = s.vocab;
  if (T <= 0)
    return;
  if (V <= 0) {
    std::fill(dHidden, dHidden + T * D, 0.0f);
    return;
  }
  const int64_t C = effectiveChunk(s.chunk, V);
  float *z = workspace(WorkspaceSlot::KlDiv, 2 * T * C);
  float *r = z + T * C;
  std::vector<float> coef(T);
  for (int64_t t = 0; t < T; ++t)
    coef[t] = gradPerToken[t] * (tokenWeights ? tokenWeights[t] : 1.0f);

  for (int64_t v0 = 0; v0 < V; v0 += C) {
    const int64_t n = std::min(C, V - v0);
    chunkLogits(s, isa, v0, n, hidden, weight, refHidden, refWeight, z, r,
                pool);
    forEachRow(pool, T, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        float *zr = z + t * n;
        const float *rr = r + t * n;
        if (coef[t] == 0.0f) {
          std::fill(zr, zr + n, 0.0f);
          continue;
        }
        for (int64_t v = 0; v < n; ++v)
          zr[v] = coef[t] *
                  (std::exp(zr[v] - lse[t]) - std::exp(rr[v] - refLse[t]));
      }
    });
    const float *w = weight + v0 * D;
    sgemmWithIsa(isa, Trans::No, Trans::No, T, D, n, 1.0f, z, n, w, D,
                 v0 == 0 ? 0.0f : 1.0f, dHidden, D, pool);
    sgemmWithIsa(isa, Trans::Yes, Trans::No, n, D, T, 1.0f, z, n, hidden, D,
                 1.0f, dWeight + v0 * D, D, pool);
  }
}

void ftl::kernels::linearKlForwardReference(
    const KlShape &s, const double *hidden, const double *weight,
    const double *refHidden, const double *refWeight,
    const double *tokenWeights, double *klPerToken) {
  const int64_t T = s.tokens, D = s.hidden, RD = s.refHidden, V = s.vocab;
  std::vector<double> z(V), r(V);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t v = 0; v < V; ++v) {
      double a = 0, b = 0;
      for (int64_t k = 0; k < D; ++k)
        a += hidden[t * D + k] * weight[v * D + k];
      for (int64_t k = 0; k < RD; ++k)
        b += refHidden[t * RD + k] * refWeight[v * RD + k];
      z[v] = a;
      r[v] = b;
    }
    auto logSumExp = [&](const std::vector<double> &x) {
      double m = *std::max_element(x.begin(), x.end()), sum = 0;
      for (double e : x)
        sum += std::exp(e - m);
      return m + std::log(sum);
    };
    const double zl = logSumExp(z), rl = logSumExp(r);
    double kl = 0;
    for (int64_t v = 0; v < V; ++v) {
      const double logQ = r[v] - rl, logP = z[v] - zl;
      kl += std::exp(logQ) * (logQ - logP);
    }
    klPerToken[t] = (tokenWeights ? tokenWeights[t] : 1.0) * kl;
  }
}
