//===- SimpleKernels.h - The executor's small kernels -----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Loops for the ops that are neither GEMMs, attention, the fused LM head
// (tuned kernels in kernels/cpu) nor fused groups (generated code): embedding
// lookups, RoPE, plain cross-entropy, ordered sums, and the driver of fused
// groups over rows. All are deterministic for any thread count: work is split
// so that every output element is computed by one thread in a fixed order,
// and sums combine fixed-size chunks in chunk order.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_SIMPLEKERNELS_H
#define FTL_ENGINE_LIB_SIMPLEKERNELS_H

#include "ftl/Engine/Program.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace ftl::rt {

enum class FusedAccess { Elem, Col, Row, Scalar, ColSum };

llvm::Error embeddingForward(int64_t tokens, int64_t dim, int64_t vocab,
                             const int32_t *ids, const float *table, float *out,
                             kernels::ThreadPool *pool);
/// Overwrites dTable with the scatter-add of dOut rows.
llvm::Error embeddingBackward(int64_t tokens, int64_t dim, int64_t vocab,
                              const int32_t *ids, const float *dOut,
                              float *dTable, kernels::ThreadPool *pool);
/// Every row of out [rows, cols] = row.
void fillRows(int64_t rows, int64_t cols, const float *row, float *out,
              kernels::ThreadPool *pool);
/// Hugging Face's rotate-half RoPE (inverse rotation with `inverse`).
void ropeApply(int64_t tokens, int64_t heads, int64_t headDim,
               const int32_t *positions, float theta, const float *in,
               float *out, bool inverse, kernels::ThreadPool *pool);
/// Targets must be < vocab (negative targets are ignored positions).
llvm::Error checkTargets(int64_t tokens, int64_t vocab, const int32_t *targets);
/// Per-token NLL (0 where targets < 0) and log-sum-exp of [tokens, vocab]
/// logits.
llvm::Error tokenNllForward(int64_t tokens, int64_t vocab, const float *logits,
                            const int32_t *targets, float *nll, float *lse,
                            kernels::ThreadPool *pool);
llvm::Error crossEntropyForward(int64_t tokens, int64_t vocab,
                                const float *logits, const int32_t *targets,
                                const float *weights, float *loss, float *lse,
                                kernels::ThreadPool *pool);
void crossEntropyBackward(int64_t tokens, int64_t vocab, float dLoss,
                          const float *logits, const int32_t *targets,
                          const float *weights, const float *lse,
                          float *dLogits, kernels::ThreadPool *pool);
/// Sums in double over fixed chunks combined in order.
double orderedSum(const float *x, int64_t n);
double orderedSquaredSum(const float *x, int64_t n);

/// Inverted dropout (ftlt.dropout): out[i] = x[i] / (1 - rate) where the
/// hash of (seed, salt, i) keeps element i, else 0; a negative seed copies
/// x. x and out may alias.
void applyDropout(const float *x, int64_t n, int32_t seed, uint64_t salt,
                  double rate, float *out);

/// Whether ftlt.dropout keeps element i (exposed for tests).
bool dropoutKeeps(int32_t seed, uint64_t salt, int64_t i, double rate);

/// Runs a compiled fused group over its rows: rows split across threads, or,
/// with colsum results, in fixed chunks of rows whose partial sums are added
/// in chunk order.
void runFused(FusedKernel kernel, int64_t rows, int64_t cols,
              llvm::ArrayRef<FusedAccess> inAccess,
              llvm::ArrayRef<FusedAccess> outAccess,
              llvm::ArrayRef<float *> inputs, llvm::ArrayRef<float *> results,
              std::vector<float> &scratch, kernels::ThreadPool *pool);

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_SIMPLEKERNELS_H
