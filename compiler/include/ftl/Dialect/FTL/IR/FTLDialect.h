//===- ftl/Dialect/FTL/IR/FTLDialect.h - The ftl dialect --------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTL_IR_FTLDIALECT_H
#define FTL_DIALECT_FTL_IR_FTLDIALECT_H

#include "mlir/IR/Dialect.h"

#include "ftl/Dialect/FTL/IR/FTLOpsDialect.h.inc"

#endif // FTL_DIALECT_FTL_IR_FTLDIALECT_H
