//===- ftl/Transforms/Passes.h - ftl passes ---------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_TRANSFORMS_PASSES_H
#define FTL_TRANSFORMS_PASSES_H

#include "ftl/Dialect/FTLT/IR/FTLTDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ftl {

#define GEN_PASS_DECL
#include "ftl/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ftl/Transforms/Passes.h.inc"

} // namespace mlir::ftl

#endif // FTL_TRANSFORMS_PASSES_H
