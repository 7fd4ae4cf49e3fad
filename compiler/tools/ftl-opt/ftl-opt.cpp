//===- ftl-opt.cpp - MLIR optimizer driver for ftl dialects ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Registers only what ftl's IR uses, so lit tests can round-trip, verify and
// run single passes.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTL/IR/FTLDialect.h"
#include "ftl/Dialect/FTLT/IR/FTLTDialect.h"
#include "ftl/Pipeline/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCSEPass();
  mlir::registerCanonicalizerPass();
  mlir::registerInlinerPass();
  ftl::registerCompilerPasses();
  mlir::DialectRegistry registry;
  registry.insert<mlir::ftl::FTLDialect, mlir::ftlt::FTLTDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "ftl optimizer driver\n", registry));
}
