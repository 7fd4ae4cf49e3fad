//===- ftl/Dialect/FTLT/IR/FTLTOps.h - Operations of ftlt -------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTLT_IR_FTLTOPS_H
#define FTL_DIALECT_FTLT_IR_FTLTOPS_H

#include "ftl/Dialect/FTLT/IR/FTLTDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ftl/Dialect/FTLT/IR/FTLTInterfaces.h.inc"

#define GET_OP_CLASSES
#include "ftl/Dialect/FTLT/IR/FTLTOps.h.inc"

namespace mlir::ftlt {

/// The [rows, cols] iteration space of a tensor: cols is the last dimension,
/// rows the product of the others (a 0-d tensor is 1 x 1).
std::pair<int64_t, int64_t> rowsAndCols(Type tensorType);

} // namespace mlir::ftlt

#endif // FTL_DIALECT_FTLT_IR_FTLTOPS_H
