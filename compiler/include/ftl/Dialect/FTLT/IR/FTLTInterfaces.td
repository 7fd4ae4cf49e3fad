//===- FTLTInterfaces.td - Interfaces of ftlt ops ----------*- tablegen -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_DIALECT_FTLT_IR_FTLTINTERFACES_TD
#define FTL_DIALECT_FTLT_IR_FTLTINTERFACES_TD

include "mlir/IR/OpBase.td"

def FTLT_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::ftlt";
  let description = [{
    An op that reverse-mode autodiff knows how to differentiate.
  }];
  let methods = [
    InterfaceMethod<[{
      Builds the gradients of the operands, given the gradients of the
      results (null for results nothing depends on). `needed[i]` says whether
      operand i needs a gradient; others may be left null.
    }], "::llvm::LogicalResult", "buildGradients", (ins
      "::mlir::OpBuilder &":$builder,
      "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
      "::llvm::ArrayRef<bool>":$needed,
      "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

def FTLT_FusibleOpInterface : OpInterface<"FusibleOpInterface"> {
  let cppNamespace = "::mlir::ftlt";
  let description = [{
    An op whose computation is a scalar body over rows of its operands, so it
    can become part of an `ftlt.fused` kernel group. Each operand and result
    has an access kind: `elem` (one value per element of an [N, C] tensor),
    `col` (a [C] vector broadcast over rows), `row` (an [N] vector, one
    value per row) or `scalar` (a 0-d tensor).
  }];
  let methods = [
    InterfaceMethod<"Access kinds of the operands.",
      "::llvm::SmallVector<::mlir::ftlt::Access>", "getOperandAccess">,
    InterfaceMethod<"Access kinds of the results.",
      "::llvm::SmallVector<::mlir::ftlt::Access>", "getResultAccess">,
    InterfaceMethod<[{
      Emits the scalar computation inside a fused group body: `inputs` are
      the scalar values of the operands at the current element; returns the
      results' scalars (for `row` results, the value per row).
    }], "::llvm::LogicalResult", "emitScalarBody", (ins
      "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
      "::llvm::ArrayRef<::mlir::Value>":$inputs,
      "::llvm::SmallVectorImpl<::mlir::Value> &":$results)>,
  ];
}

#endif // FTL_DIALECT_FTLT_IR_FTLTINTERFACES_TD
