//===- ftl/Dialect/FTL/IR/FTLTypes.h - Types of the ftl dialect -*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTL_IR_FTLTYPES_H
#define FTL_DIALECT_FTL_IR_FTLTYPES_H

#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "ftl/Dialect/FTL/IR/FTLOpsTypes.h.inc"

#endif // FTL_DIALECT_FTL_IR_FTLTYPES_H
