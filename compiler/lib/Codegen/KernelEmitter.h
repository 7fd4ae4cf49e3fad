//===- KernelEmitter.h - Loop nests for fused groups ------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Builds the loop nest of one kernel group, for the CPU (`func.func` with
/// the row-range ABI) or for CUDA (`gpu.func` kernel, one block per chunk of
/// rows), from scf/arith/math ops and LLVM pointer loads and stores.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LIB_CODEGEN_KERNELEMITTER_H
#define FTL_LIB_CODEGEN_KERNELEMITTER_H

#include "FusedPlan.h"

#include "mlir/IR/Builders.h"

namespace ftl::codegen {

/// Adds `void name(void **buffers, int64_t rowBegin, int64_t rowEnd)` at the
/// builder's insertion point (inside a builtin.module).
void emitCpuKernel(mlir::OpBuilder &builder, const KernelGroup &group);

/// Adds the kernel `name(float *buffers..., int64_t rows, int64_t
/// rowsPerBlock)` at the builder's insertion point (inside a gpu.module).
void emitGpuKernel(mlir::OpBuilder &builder, const KernelGroup &group);

} // namespace ftl::codegen

#endif // FTL_LIB_CODEGEN_KERNELEMITTER_H
