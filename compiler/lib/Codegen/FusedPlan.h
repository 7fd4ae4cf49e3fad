//===- FusedPlan.h - How a fused group becomes loops ------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Analysis shared by the CPU and CUDA code generators: which body values
/// change along a row (`varying`), which change from row to row
/// (`rowDependent`), and how many row reductions each value waits for
/// (`level`). Reductions whose operand has level k are computed together in
/// column pass k; the last pass writes the elem and colsum results.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LIB_CODEGEN_FUSEDPLAN_H
#define FTL_LIB_CODEGEN_FUSEDPLAN_H

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace ftl::codegen {

struct FusedPlan {
  mlir::ftlt::FusedOp op;
  int64_t cols = 0;
  llvm::SmallVector<mlir::ftlt::Access> inputAccess, resultAccess;
  /// Values that differ between columns of one row.
  llvm::DenseSet<mlir::Value> varying;
  /// Values that differ between rows.
  llvm::DenseSet<mlir::Value> rowDependent;
  /// Number of reduction passes a value waits for.
  llvm::DenseMap<mlir::Value, unsigned> level;
  /// The reductions of each column pass, in body order.
  llvm::SmallVector<llvm::SmallVector<mlir::ftlt::RowReduceOp>> passes;

  /// True if some result is written inside a column loop (elem, colsum).
  bool hasColumnResults() const;
};

/// Checks that the body uses only supported ops and computes the plan.
llvm::Expected<FusedPlan> planFused(mlir::ftlt::FusedOp op);

/// One distinct kernel and the fused ops that share it.
struct KernelGroup {
  std::string name;
  FusedPlan plan; ///< of the first op with this body
  llvm::SmallVector<mlir::ftlt::FusedOp> ops;
};

/// Finds every `ftlt.fused` op in the module's functions (walk order),
/// deduplicates them and sets `ftl.kernel` on each.
llvm::Expected<std::vector<KernelGroup>> collectKernels(mlir::ModuleOp module);

/// A string that is equal for two groups exactly when they can share a
/// kernel: body ops with attributes and operand structure, access kinds,
/// cols (not rows).
std::string kernelKey(mlir::ftlt::FusedOp op);

/// An error located at `op`, with the op's location in the text.
llvm::Error opError(mlir::Operation *op, const llvm::Twine &message);

} // namespace ftl::codegen

#endif // FTL_LIB_CODEGEN_FUSEDPLAN_H
