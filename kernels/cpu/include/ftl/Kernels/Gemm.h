//===- ftl/Kernels/Gemm.h - Single-precision matrix multiply -----*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Row-major SGEMM: C[M x N] = alpha * op(A) * op(B) + beta * C, where op(A)
/// is M x K and op(B) is K x N. With Trans::No, A is stored M x K (row stride
/// lda >= K); with Trans::Yes, A is stored K x M (lda >= M). Likewise B is
/// K x N (ldb >= N) or, transposed, N x K (ldb >= K). ldc >= N.
///
/// The training step uses y = x W^T (No, Yes), dX = dY W (No, No) and
/// dW = dY^T X (Yes, No).
///
/// beta == 0 overwrites C without reading it (NaN in C is ignored); alpha == 0
/// or K == 0 only scales C by beta (A and B are not read).
///
/// Results are deterministic: the same inputs give bitwise identical C for
/// any thread count and any pool, because every element of C is produced by
/// one thread, accumulating over K in an order that depends only on K.
/// Different instruction sets (AVX-512, AVX2, scalar) may round differently.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_GEMM_H
#define FTL_KERNELS_GEMM_H

#include "ftl/Kernels/Isa.h"
#include "ftl/Kernels/ThreadPool.h"

#include <cstdint>

namespace ftl::kernels {

enum class Trans { No, Yes };

/// C = alpha * op(A) op(B) + beta * C on the best path for this CPU. A null
/// pool runs on the calling thread.
void sgemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
           const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
           float *C, int64_t ldc, ThreadPool *pool = defaultPool());

/// The same on a chosen path (for tests and benchmarks). A path this CPU
/// does not support (see kernelIsaSupported) is replaced by the best one it
/// does.
void sgemmWithIsa(KernelIsa isa, Trans ta, Trans tb, int64_t M, int64_t N,
                  int64_t K, float alpha, const float *A, int64_t lda,
                  const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc, ThreadPool *pool = defaultPool());

/// Checks the sizes and leading dimensions of an sgemm call: dimensions
/// non-negative, lda >= K (A not transposed) or M (transposed), ldb >= N or K,
/// ldc >= N, each at least 1. The kernels assume valid arguments; callers that
/// take shapes from outside check them here first.
llvm::Error validateSgemmArgs(Trans ta, Trans tb, int64_t M, int64_t N,
                              int64_t K, int64_t lda, int64_t ldb, int64_t ldc);

/// Naive reference: each element summed in double in index order, then
/// C = alpha * sum + beta * C (C not read when beta == 0; A and B not read
/// when alpha == 0).
void sgemmReference(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc);

} // namespace ftl::kernels

#endif // FTL_KERNELS_GEMM_H
