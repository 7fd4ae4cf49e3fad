//===- ftl/Engine/InterpretedKernels.h - Fused groups, interpreted -*- C++ -*-//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Runs `ftlt.fused` bodies by interpretation: each body value is a row
/// vector (or a per-row scalar after a row reduction), evaluated op by op in
/// double precision. Slow, simple and independent of the JIT: the reference
/// the generated code is checked against, and a fallback
/// (FTL_FUSED_BACKEND=interpret) when chasing a code generation bug.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_INTERPRETEDKERNELS_H
#define FTL_ENGINE_INTERPRETEDKERNELS_H

#include "ftl/Engine/Program.h"

#include "llvm/ADT/DenseMap.h"

namespace mlir {
class ModuleOp;
class Operation;
} // namespace mlir

namespace ftl::rt {

class InterpretedKernels : public FusedKernelProvider {
public:
  /// Prepares every fused group of `module`; errors name an unsupported op.
  static llvm::Expected<std::unique_ptr<InterpretedKernels>>
  create(mlir::ModuleOp module);
  ~InterpretedKernels() override;

  FusedKernel lookup(mlir::ftlt::FusedOp op) const override;

  struct Group;

private:
  llvm::DenseMap<mlir::Operation *, std::unique_ptr<Group>> groups;
};

} // namespace ftl::rt

#endif // FTL_ENGINE_INTERPRETEDKERNELS_H
