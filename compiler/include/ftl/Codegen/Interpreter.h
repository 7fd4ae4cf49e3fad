//===- ftl/Codegen/Interpreter.h - ftlt.fused semantics -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A straightforward scalar interpreter of `ftlt.fused` groups, in double
/// precision: for each row it evaluates every body op at every column in
/// block order, so a `row_reduce` simply sums (or maxes) its operand's row.
/// Independent of the code generators' staging; tests compare them with it.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_CODEGEN_INTERPRETER_H
#define FTL_CODEGEN_INTERPRETER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

namespace mlir::ftlt {
class FusedOp;
} // namespace mlir::ftlt

namespace ftl::codegen {

/// Runs `op` over its whole [rows, cols] space. `inputs[i]` and `results[i]`
/// are laid out as in the kernels' ABI (elem [rows * cols], col [cols], row
/// [rows], scalar [1], colsum [cols]). A row result takes the body's value
/// at the row's last column.
llvm::Error interpretFused(mlir::ftlt::FusedOp op,
                           llvm::ArrayRef<const float *> inputs,
                           llvm::ArrayRef<float *> results);

} // namespace ftl::codegen

#endif // FTL_CODEGEN_INTERPRETER_H
