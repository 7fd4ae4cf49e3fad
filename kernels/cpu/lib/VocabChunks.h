//===- VocabChunks.h - Shared pieces of the chunked LM-head kernels -*- C++-*-//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The fused LM-head kernels (cross-entropy, KL) walk the vocabulary in
/// chunks and process the tokens of each chunk in parallel rows.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LIB_VOCABCHUNKS_H
#define FTL_KERNELS_LIB_VOCABCHUNKS_H

#include "ftl/Kernels/LinearCrossEntropy.h"
#include "ftl/Kernels/ThreadPool.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <algorithm>
#include <cstdint>

namespace ftl::kernels::detail {

/// The chunk actually used: the default for 0, never more than V.
inline int64_t effectiveChunk(int64_t chunk, int64_t V) {
  if (chunk <= 0)
    chunk = kDefaultCrossEntropyChunk;
  return std::min(chunk, std::max<int64_t>(V, 1));
}

/// Runs fn over token ranges of [0, T), on the pool when there is one.
inline void forEachRow(ThreadPool *pool, int64_t T,
                       llvm::function_ref<void(int64_t, int64_t)> fn) {
  if (pool)
    pool->parallelFor(T, 16, fn);
  else
    fn(0, T);
}

} // namespace ftl::kernels::detail

#endif // FTL_KERNELS_LIB_VOCABCHUNKS_H
