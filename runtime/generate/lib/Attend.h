//===- Attend.h - One token's attention over its cached positions -*- C++ -*-=//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The attention of one token for the query heads that share a kv head:
/// out[g] = softmax(scale * q[g] K^T) V over the n cached positions of its
/// slot. The result depends only on the inputs and the code path (AVX-512,
/// AVX2 or portable), never on threads or other tokens.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_GENERATE_ATTEND_H
#define FTL_GENERATE_ATTEND_H

#include "ftl/Kernels/Isa.h"

#include <cstdint>

namespace ftl::rt::detail {

/// q and out: `group` rows of `headDim` (row stride headDim); K and V: n
/// rows of headDim; scores: `group` rows of at least n floats (row stride
/// `scoreStride`), scratch. `isa` must be supported by this CPU.
void attendCached(kernels::KernelIsa isa, int64_t n, int64_t headDim,
                  int64_t group, float scale, const float *q, const float *K,
                  const float *V, float *scores, int64_t scoreStride,
                  float *out);

} // namespace ftl::rt::detail

#endif // FTL_GENERATE_ATTEND_H
