//===- Lowering.h - Helpers shared by the code generators -------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_LIB_CODEGEN_LOWERING_H
#define FTL_LIB_CODEGEN_LOWERING_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"

#include "llvm/Support/Error.h"

#include <string>

namespace ftl::codegen {

/// Collects the diagnostics emitted while alive (instead of passing them to
/// the context's other handlers) and turns them into an llvm::Error.
class DiagnosticCapture {
public:
  explicit DiagnosticCapture(mlir::MLIRContext *ctx);
  llvm::Error error(const llvm::Twine &what) const;

private:
  std::string messages;
  mlir::ScopedDiagnosticHandler handler;
};

/// Replaces math ops (exp, tanh, log, erf, ...) under `op` by MLIR's
/// polynomial approximations.
mlir::LogicalResult approximateMath(mlir::Operation *op);

} // namespace ftl::codegen

#endif // FTL_LIB_CODEGEN_LOWERING_H
