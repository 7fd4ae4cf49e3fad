//===- RowGemm.h - Few rows times a weight matrix, unpacked -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// y = alpha * x W^T (+ y) for a handful of rows x [M, K] and a weight W
/// [N, K] in nn.Linear layout: the decode step's product, where M is the
/// number of sequences and a packed GEMM spends as long repacking W as
/// multiplying (8 rows x a 1408 x 512 weight in cache: 0.25 ms here, 0.46 ms
/// with sgemm). Each row of W is read in place, once per block of up to 12
/// (AVX-512) or 6 (AVX2) rows of x.
///
/// Every element is one dot product over K in vector lanes followed by a
/// fixed horizontal sum, so its rounding depends only on K and the code path
/// — never on M, on the row's place in a block, or on the thread count.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_GENERATE_ROWGEMM_H
#define FTL_GENERATE_ROWGEMM_H

#include "ftl/Kernels/Isa.h"
#include "ftl/Kernels/ThreadPool.h"

#include <cstdint>

namespace ftl::rt::detail {

/// y[m, n] = alpha * dot(x[m, :], W[n, :]) (+ y[m, n] when `accumulate`),
/// for m < M, n < N, over K. Row strides ldx, ldw, ldy. A null pool runs on
/// the calling thread; `isa` is replaced by a supported path if needed.
void rowGemm(kernels::KernelIsa isa, int64_t M, int64_t N, int64_t K,
             float alpha, const float *x, int64_t ldx, const float *w,
             int64_t ldw, bool accumulate, float *y, int64_t ldy,
             kernels::ThreadPool *pool);

} // namespace ftl::rt::detail

#endif // FTL_GENERATE_ROWGEMM_H
