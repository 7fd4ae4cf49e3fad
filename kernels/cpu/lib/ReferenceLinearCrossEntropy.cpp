//===- ReferenceLinearCrossEntropy.cpp - Naive LM head + CE in double -----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Materializes the full [T x V] logits in double and applies the textbook
// formulas; the fused kernel is tested against this.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/LinearCrossEntropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace ftl::kernels;

namespace {

template <typename H, typename W>
std::vector<double> logitsOf(int64_t T, int64_t D, int64_t V, const H *hidden,
                             const W *weight) {
  std::vector<double> logits(T * V);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t v = 0; v < V; ++v) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d)
        dot += static_cast<double>(hidden[t * D + d]) *
               static_cast<double>(weight[v * D + d]);
      logits[t * V + v] = dot;
    }
  return logits;
}

double logSumExp(const double *row, int64_t V) {
  double m = *std::max_element(row, row + V);
  double s = 0;
  for (int64_t v = 0; v < V; ++v)
    s += std::exp(row[v] - m);
  return m + std::log(s);
}

template <typename F>
void forwardImpl(int64_t T, int64_t D, int64_t V, const F *hidden,
                 const F *weight, const int32_t *targets, const F *tokenWeights,
                 F *loss, F *lse, F *logProb) {
  std::vector<double> logits = logitsOf(T, D, V, hidden, weight);
  for (int64_t t = 0; t < T; ++t) {
    const double l = logSumExp(logits.data() + t * V, V);
    lse[t] = static_cast<F>(l);
    if (targets[t] < 0) {
      loss[t] = 0;
      if (logProb)
        logProb[t] = 0;
      continue;
    }
    const double lp = logits[t * V + targets[t]] - l;
    if (logProb)
      logProb[t] = static_cast<F>(lp);
    const double w = tokenWeights ? static_cast<double>(tokenWeights[t]) : 1.0;
    loss[t] = static_cast<F>(-w * lp);
  }
}

} // namespace

void ftl::kernels::linearCrossEntropyForwardReference(
    int64_t T, int64_t D, int64_t V, const float *hidden, const float *weight,
    const int32_t *targets, const float *tokenWeights, float *lossPerToken,
    float *lse, float *logProb) {
  forwardImpl(T, D, V, hidden, weight, targets, tokenWeights, lossPerToken, lse,
              logProb);
}

void ftl::kernels::linearCrossEntropyForwardReference(
    int64_t T, int64_t D, int64_t V, const double *hidden, const double *weight,
    const int32_t *targets, const double *tokenWeights, double *lossPerToken,
    double *lse, double *logProb) {
  forwardImpl(T, D, V, hidden, weight, targets, tokenWeights, lossPerToken, lse,
              logProb);
}

void ftl::kernels::linearCrossEntropyBackwardReference(
    int64_t T, int64_t D, int64_t V, const float *hidden, const float *weight,
    const int32_t *targets, const float *tokenWeights,
    const float *gradPerToken, float *dHidden, float *dWeight) {
  std::vector<double> logits = logitsOf(T, D, V, hidden, weight);
  std::vector<double> gh(T * D, 0.0), gw(V * D, 0.0);
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] < 0)
      continue;
    const double *row = logits.data() + t * V;
    const double l = logSumExp(row, V);
    const double g = static_cast<double>(gradPerToken[t]) *
                     (tokenWeights ? tokenWeights[t] : 1.0);
    for (int64_t v = 0; v < V; ++v) {
      const double dz = g * (std::exp(row[v] - l) - (v == targets[t] ? 1 : 0));
      for (int64_t d = 0; d < D; ++d) {
        gh[t * D + d] += dz * weight[v * D + d];
        gw[v * D + d] += dz * hidden[t * D + d];
      }
    }
  }
  for (int64_t i = 0; i < T * D; ++i)
    dHidden[i] = static_cast<float>(gh[i]);
  for (int64_t i = 0; i < V * D; ++i)
    dWeight[i] = static_cast<float>(dWeight[i] + gw[i]);
}
