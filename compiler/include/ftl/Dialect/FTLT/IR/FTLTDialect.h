//===- ftl/Dialect/FTLT/IR/FTLTDialect.h - The ftlt dialect -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTLT_IR_FTLTDIALECT_H
#define FTL_DIALECT_FTLT_IR_FTLTDIALECT_H

#include "mlir/IR/Dialect.h"

#include "ftl/Dialect/FTLT/IR/FTLTOpsDialect.h.inc"

namespace mlir::ftlt {

/// How a fused group reads an operand or writes a result.
enum class Access {
  Elem,   ///< one value per element of the [rows, cols] space
  Col,    ///< a [cols] vector, the same for every row
  Row,    ///< a [rows] vector, the same for every column
  Scalar, ///< one value
  ColSum, ///< (results only) summed over rows into [cols]
};

llvm::StringRef stringifyAccess(Access access);
std::optional<Access> parseAccess(llvm::StringRef text);

} // namespace mlir::ftlt

#endif // FTL_DIALECT_FTLT_IR_FTLTDIALECT_H
