//===- ftl/MLIRGen/MLIRGen.h - AST to the ftl dialect -----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Turns a checked program into an `ftl` dialect module. MLIRGen runs only on
/// programs Sema accepted, so it asserts instead of diagnosing. Locations are
/// FileLineColLoc into the .ftl source; statements that come from a function
/// body carry a CallSiteLoc naming the call. User functions are recipes: they
/// are expanded at each call site.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_MLIRGEN_MLIRGEN_H
#define FTL_MLIRGEN_MLIRGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace llvm {
class SourceMgr;
}

namespace ftl::lang {
struct Program;
}

namespace ftl {

/// Returns null after reporting if the generated module fails to verify
/// (which would be a compiler bug).
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context,
                                          llvm::SourceMgr &sourceMgr,
                                          const lang::Program &program);

} // namespace ftl

#endif // FTL_MLIRGEN_MLIRGEN_H
