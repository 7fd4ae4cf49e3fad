//===- RowKernels.h - Vectorized row reductions ------------------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Per-ISA primitives over one contiguous row, used by the fused LM head.
/// Sums run in a fixed order (lane-wise, then a fixed horizontal tree), so
/// results are deterministic for a given ISA.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LIB_ROWKERNELS_H
#define FTL_KERNELS_LIB_ROWKERNELS_H

#include "ftl/Kernels/Isa.h"

#include <cstdint>

namespace ftl::kernels::detail {

struct RowKernels {
  /// max_i x[i] (-inf for n == 0).
  float (*rowMax)(const float *x, int64_t n);
  /// sum_i exp(x[i] - shift).
  float (*sumExp)(const float *x, int64_t n, float shift);
  /// x[i] = scale * exp(x[i] - shift).
  void (*expScale)(float *x, int64_t n, float shift, float scale);
};

const RowKernels &avx512RowKernels();
const RowKernels &portableRowKernels();
const RowKernels &rowKernelsFor(KernelIsa isa);

} // namespace ftl::kernels::detail

#endif // FTL_KERNELS_LIB_ROWKERNELS_H
