//===- ftl/Engine/JitKernels.h - JIT-compiled fused groups ------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The default fused-kernel provider: every `ftlt.fused` group of a module
/// compiled to native code by the CPU code generator (docs/codegen.md).
/// `FTL_FUSED_BACKEND=interpret` selects the reference interpreter instead
/// (`makeFusedKernels`), for debugging a suspected code-generation bug.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_JITKERNELS_H
#define FTL_ENGINE_JITKERNELS_H

#include "ftl/Engine/Program.h"

#include <memory>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace ftl::codegen {
class FusedKernels;
} // namespace ftl::codegen

namespace ftl::rt {

class JitKernels : public FusedKernelProvider {
public:
  /// Compiles every fused group of `module` (and names each group's kernel
  /// on the op, so clones of the module find theirs too).
  static llvm::Expected<std::unique_ptr<JitKernels>> create(mlir::ModuleOp module);
  ~JitKernels() override;

  FusedKernel lookup(mlir::ftlt::FusedOp op) const override;
  /// Seconds spent generating and compiling.
  double compileSeconds() const;

private:
  JitKernels();
  std::unique_ptr<codegen::FusedKernels> kernels;
};

/// The provider the environment asks for: the JIT, or the interpreter when
/// `FTL_FUSED_BACKEND=interpret` (any other value is an error).
llvm::Expected<std::unique_ptr<FusedKernelProvider>>
makeFusedKernels(mlir::ModuleOp module);

} // namespace ftl::rt

#endif // FTL_ENGINE_JITKERNELS_H
