//===- Pipeline.cpp - The compilation levels ------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Pipeline/Pipeline.h"

#include "ftl/Dialect/FTL/IR/FTLDialect.h"
#include "ftl/Dialect/FTLT/IR/FTLTDialect.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void (::ftl::registerCompilerDialects)(DialectRegistry &registry) {
  registry.insert<mlir::ftl::FTLDialect, ftlt::FTLTDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect,
                  func::FuncDialect>();
}

void (::ftl::registerCompilerPasses)() { mlir::ftl::registerFTLPasses(); }

LogicalResult (::ftl::lowerTo)(ModuleOp module, ::ftl::Level level) {
  using ::ftl::Level;
  if (level == Level::FTL)
    return success();
  PassManager pm(module.getContext());
  pm.addPass(mlir::ftl::createLowerTrain());
  if (level >= Level::Grad) {
    pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseLMHead());
    pm.addPass(mlir::ftl::createAutodiff());
    pm.addPass(createCSEPass());
  }
  if (level >= Level::Fused) {
    pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseGradAccumulation());
    pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseElementwise());
    pm.addPass(createCSEPass());
  }
  return pm.run(module);
}
