//===- Dora.h - DoRA's weight norms -----------------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// DoRA decomposes an adapted weight into a magnitude per output feature
/// and a direction: W' = m (W + s B A) / ||W + s B A||, row by row. The same
/// function gives the step function's norms (ftlt.dora_norm) and the
/// magnitude's initial value, so that m / ||W + s B A|| is exactly 1 when
/// training starts.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_DORA_H
#define FTL_ENGINE_LIB_DORA_H

#include "ftl/Runtime/Tensor.h"

#include <cstdint>

namespace ftl::rt {

/// norms[i] = ||W[i, :] + scale * (B A)[i, :]||_2 for W [out, in], A
/// [rank, in] and B [out, rank], accumulated in double.
void doraRowNorms(const float *weight, const float *a, const float *b,
                  int64_t out, int64_t in, int64_t rank, double scale,
                  float *norms);

/// The merged weight of a DoRA module: row i of W + s B A times m[i] over
/// that row's norm (doraRowNorms), computed in double and rounded once.
Tensor doraMergedWeight(const Tensor &weight, const Tensor &a, const Tensor &b,
                        const Tensor &magnitude, double scale);

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_DORA_H
