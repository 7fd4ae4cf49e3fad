//===- ReferenceAttention.cpp - Naive attention in double -----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Straight from the definition: for each query, the full row of scores over
// the keys it may attend, a max-shifted softmax in double, and the weighted
// sum of values. The backward pass uses the textbook formulas
//   dP = dO V^T, dS = P * (dP - rowsum(P * dP)), dQ = s dS K, dK = s dS^T Q,
//   dV = P^T dO.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace ftl::kernels;

namespace {

bool attends(const AttentionShape &s, int64_t b, int64_t i, int64_t j) {
  if (j > i)
    return false;
  return !s.segmentIds ||
         s.segmentIds[b * s.seqLen + i] == s.segmentIds[b * s.seqLen + j];
}

/// Softmax probabilities of query (b, h, i) over all keys (0 where masked).
template <typename T>
void probabilities(const AttentionShape &s, const T *q, const T *k, int64_t b,
                   int64_t h, int64_t i, std::vector<double> &p,
                   double &logSum) {
  const int64_t D = s.headDim, H = s.numHeads, KVH = s.numKvHeads;
  const int64_t kvh = h / (H / KVH);
  const double scale = s.effectiveScale();
  const T *qi = q + ((b * s.seqLen + i) * H + h) * D;
  double maxScore = -INFINITY;
  p.assign(s.seqLen, 0.0);
  for (int64_t j = 0; j < s.seqLen; ++j) {
    if (!attends(s, b, i, j))
      continue;
    const T *kj = k + ((b * s.seqLen + j) * KVH + kvh) * D;
    double dot = 0;
    for (int64_t d = 0; d < D; ++d)
      dot += static_cast<double>(qi[d]) * static_cast<double>(kj[d]);
    p[j] = scale * dot;
    maxScore = std::max(maxScore, p[j]);
  }
  double sum = 0;
  for (int64_t j = 0; j < s.seqLen; ++j)
    if (attends(s, b, i, j)) {
      p[j] = std::exp(p[j] - maxScore);
      sum += p[j];
    }
  for (double &x : p)
    x /= sum;
  logSum = maxScore + std::log(sum);
}

template <typename T>
void forwardImpl(const AttentionShape &s, const T *q, const T *k, const T *v,
                 T *out, T *lse) {
  const int64_t D = s.headDim, H = s.numHeads, KVH = s.numKvHeads;
  std::vector<double> p;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / (H / KVH);
      for (int64_t i = 0; i < s.seqLen; ++i) {
        double logSum;
        probabilities(s, q, k, b, h, i, p, logSum);
        T *o = out + ((b * s.seqLen + i) * H + h) * D;
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < s.seqLen; ++j)
            acc += p[j] * static_cast<double>(
                              v[((b * s.seqLen + j) * KVH + kvh) * D + d]);
          o[d] = static_cast<T>(acc);
        }
        lse[(b * H + h) * s.seqLen + i] = static_cast<T>(logSum);
      }
    }
}

} // namespace

void ftl::kernels::attentionForwardReference(const AttentionShape &shape,
                                             const float *q, const float *k,
                                             const float *v, float *out,
                                             float *lse) {
  forwardImpl(shape, q, k, v, out, lse);
}

void ftl::kernels::attentionForwardReference(const AttentionShape &shape,
                                             const double *q, const double *k,
                                             const double *v, double *out,
                                             double *lse) {
  forwardImpl(shape, q, k, v, out, lse);
}

void ftl::kernels::attentionBackwardReference(const AttentionShape &s,
                                              const float *q, const float *k,
                                              const float *v, const float *dOut,
                                              float *dq, float *dk, float *dv) {
  const int64_t D = s.headDim, H = s.numHeads, KVH = s.numKvHeads;
  const int64_t T = s.seqLen;
  const double scale = s.effectiveScale();
  std::vector<double> gq(s.batch * T * H * D, 0.0);
  std::vector<double> gk(s.batch * T * KVH * D, 0.0), gv(gk.size(), 0.0);
  std::vector<double> p, dp(T);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / (H / KVH);
      for (int64_t i = 0; i < T; ++i) {
        double logSum;
        probabilities(s, q, k, b, h, i, p, logSum);
        const float *dOi = dOut + ((b * T + i) * H + h) * D;
        double rowDot = 0;
        for (int64_t j = 0; j < T; ++j) {
          dp[j] = 0;
          if (p[j] == 0)
            continue;
          const float *vj = v + ((b * T + j) * KVH + kvh) * D;
          for (int64_t d = 0; d < D; ++d)
            dp[j] += static_cast<double>(dOi[d]) * vj[d];
          rowDot += p[j] * dp[j];
        }
        const float *qi = q + ((b * T + i) * H + h) * D;
        double *gqi = gq.data() + ((b * T + i) * H + h) * D;
        for (int64_t j = 0; j < T; ++j) {
          if (p[j] == 0)
            continue;
          const double ds = p[j] * (dp[j] - rowDot);
          const int64_t kvRow = ((b * T + j) * KVH + kvh) * D;
          for (int64_t d = 0; d < D; ++d) {
            gqi[d] += scale * ds * k[kvRow + d];
            gk[kvRow + d] += scale * ds * qi[d];
            gv[kvRow + d] += p[j] * dOi[d];
          }
        }
      }
    }
  for (size_t i = 0; i < gq.size(); ++i)
    dq[i] = static_cast<float>(gq[i]);
  for (size_t i = 0; i < gk.size(); ++i) {
    dk[i] = static_cast<float>(gk[i]);
    dv[i] = static_cast<float>(gv[i]);
  }
}
