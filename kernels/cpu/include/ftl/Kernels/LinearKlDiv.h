//===- ftl/Kernels/LinearKlDiv.h - Fused LM heads + KL divergence -*-
//C++-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The KL divergence from a reference model's next-token distribution to the
/// trained model's, with both LM heads fused in, over vocabulary chunks: the
/// [T x V] logits of neither model are ever stored.
///
///   z[t, v] = hidden[t, :] . weight[v, :]        p = softmax(z[t])
///   r[t, v] = refHidden[t, :] . refWeight[v, :]  q = softmax(r[t])
///   kl[t]   = tokenWeight[t] * sum_v q (log q - log p)     (KL(q || p))
///
/// One pass: per token, online log-sum-exps of z and r and a rescaled
/// running sum of exp(r - max r) (r - z), so
///   kl = sum_v q (r - z) - lse(r) + lse(z).
///
/// Backward, with g[t] = gradPerToken[t] * tokenWeight[t]:
///   dz[t, v] = g[t] (p[t, v] - q[t, v]),
///   dHidden = dz W (overwritten), dWeight += dz^T hidden.
/// Nothing flows to the reference. A token of weight 0 (padding, unsupervised)
/// has kl 0 and no gradient.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LINEARKLDIV_H
#define FTL_KERNELS_LINEARKLDIV_H

#include "ftl/Kernels/Isa.h"
#include "ftl/Kernels/ThreadPool.h"

#include <cstdint>

namespace ftl::kernels {

/// The shapes of one call: T tokens, hidden size D (the reference's may
/// differ: refD), vocabulary V shared by both heads.
struct KlShape {
  int64_t tokens = 0, hidden = 0, refHidden = 0, vocab = 0, chunk = 0;
};

/// Forward: klPerToken [T], lse [T] and refLse [T] (both kept for the
/// backward). tokenWeights may be null (all 1).
void linearKlForward(const KlShape &shape, const float *hidden,
                     const float *weight, const float *refHidden,
                     const float *refWeight, const float *tokenWeights,
                     float *klPerToken, float *lse, float *refLse,
                     ThreadPool *pool = defaultPool(),
                     KernelIsa isa = detectKernelIsa());

/// Backward: dHidden [T, D] is overwritten, dWeight [V, D] accumulated into.
void linearKlBackward(const KlShape &shape, const float *hidden,
                      const float *weight, const float *refHidden,
                      const float *refWeight, const float *tokenWeights,
                      const float *gradPerToken, const float *lse,
                      const float *refLse, float *dHidden, float *dWeight,
                      ThreadPool *pool = defaultPool(),
                      KernelIsa isa = detectKernelIsa());

/// Naive reference in double with the full logits of both models.
void linearKlForwardReference(const KlShape &shape, const double *hidden,
                              const double *weight, const double *refHidden,
                              const double *refWeight,
                              const double *tokenWeights, double *klPerToken);

} // namespace ftl::kernels

#endif // FTL_KERNELS_LINEARKLDIV_H
