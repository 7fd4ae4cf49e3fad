//===- ftl/Dialect/FTL/IR/FTLOps.h - Operations of ftl ----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTL_IR_FTLOPS_H
#define FTL_DIALECT_FTL_IR_FTLOPS_H

#include "ftl/Dialect/FTL/IR/FTLDialect.h"
#include "ftl/Dialect/FTL/IR/FTLTypes.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "ftl/Dialect/FTL/IR/FTLOps.h.inc"



namespace mlir::ftl {

/// A user-facing name for the construct an op implements ("loss 'dpo'",
/// "data operator 'select'", "train"), or "" for structural ops that need no
/// runtime support of their own.
std::string describeConstruct(Operation *op);

/// Whether the runtime in this build executes the op's construct. The
/// runtime registers what it supports (registerImplementedConstruct).
bool isConstructImplemented(Operation *op);
void registerImplementedConstruct(llvm::StringRef construct);

} // namespace mlir::ftl
#endif // FTL_DIALECT_FTL_IR_FTLOPS_H
