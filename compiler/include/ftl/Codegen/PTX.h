//===- ftl/Codegen/PTX.h - CUDA code for fused groups -----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Lowers the `ftlt.fused` groups of a module to one `gpu.module` targeting
/// `#nvvm.target<chip = "sm_90">` and to PTX text. Kernel entry names are the
/// groups' `ftl.kernel` names (identical groups share one kernel).
///
/// Kernel ABI: one `float *` parameter per input, then per result (the
/// op's order), then `int64_t rows` and `int64_t rowsPerBlock`. Block `b`
/// handles rows [b * rowsPerBlock, min((b + 1) * rowsPerBlock, rows)); its
/// threads split each row's columns (thread t takes t, t + blockDim.x, ...),
/// and row reductions combine across the block (warp shuffles, then shared
/// memory). Launch ceil(rows / rowsPerBlock) blocks of `gpuBlockSize(cols)`
/// threads (a multiple of 32; the all-reduce handles up to 1024, but only
/// gpuBlockSize's sizes are tested). A colsum result's
/// pointer is a [gridDim.x, cols] partial buffer: block b writes row b, the
/// sum over its rows; adding the partial rows in order gives the column sums.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_CODEGEN_PTX_H
#define FTL_CODEGEN_PTX_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace ftl::codegen {

/// The PTX (`.target sm_90`) of every distinct fused group in the module's
/// functions. Sets `ftl.kernel` on every fused op.
llvm::Expected<std::string> generatePTX(mlir::ModuleOp module);

/// The `gpu.module` before lowering to NVVM (for tests and debugging).
llvm::Expected<std::string> printGPUModule(mlir::ModuleOp module);

/// A block size for a group with `cols` columns: a multiple of 32, at most
/// 256, no larger than needed for one column per thread.
unsigned gpuBlockSize(int64_t cols);

} // namespace ftl::codegen

#endif // FTL_CODEGEN_PTX_H
