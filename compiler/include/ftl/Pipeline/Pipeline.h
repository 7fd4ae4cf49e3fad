//===- ftl/Pipeline/Pipeline.h - The compilation levels ---------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The pass pipelines between the levels `ftl compile --emit` prints:
///   ftl   -> step   lower each train to its loss function
///   step  -> grad   fuse the LM head with cross-entropy, differentiate
///   grad  -> fused  accumulate gradients in place, fuse elementwise chains
///   fused -> llvm   generate code for the fused groups (CPU)
///   fused -> ptx    generate code for the fused groups (CUDA, sm_90)
///
//===----------------------------------------------------------------------===//

#ifndef FTL_PIPELINE_PIPELINE_H
#define FTL_PIPELINE_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace mlir {
class DialectRegistry;
}

namespace ftl {

enum class Level { FTL, Step, Grad, Fused };

/// Registers the dialects every level uses.
void registerCompilerDialects(mlir::DialectRegistry &registry);

/// Runs the pipelines from the ftl level up to `level`.
mlir::LogicalResult lowerTo(mlir::ModuleOp module, Level level);

/// Registers the ftl passes for ftl-opt.
void registerCompilerPasses();

} // namespace ftl

#endif // FTL_PIPELINE_PIPELINE_H
