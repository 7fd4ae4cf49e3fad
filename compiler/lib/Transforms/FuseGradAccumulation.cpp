//===- FuseGradAccumulation.cpp - Accumulate gradients in place -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A gradient function (from the autodiff pass) returns the gradients of one
// micro-batch. This pass makes it accumulate: it takes one accumulator per
// trainable parameter (`ftl.grad_acc`) and returns accumulator + gradient.
// Where the gradient comes from a weight GEMM (or the fused LM head), the sum
// happens inside the GEMM (beta = 1), so accumulation costs no extra pass.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::ftl {
#define GEN_PASS_DEF_FUSEGRADACCUMULATION
#include "ftl/Transforms/Passes.h.inc"
} // namespace mlir::ftl

using namespace mlir;

namespace {
struct FuseGradAccumulationPass
    : public mlir::ftl::impl::FuseGradAccumulationBase<
          FuseGradAccumulationPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr("ftl.grad") || fn->hasAttr("ftl.accumulates"))
      return;
    Block &body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    auto names = fn->getAttrOfType<ArrayAttr>("ftl.grad_params");
    OpBuilder b(ret);
    SmallVector<Value> results = {ret.getOperand(0)};
    for (unsigned i = 1; i < ret.getNumOperands(); ++i) {
      Value grad = ret.getOperand(i);
      unsigned argIndex = body.getNumArguments();
      fn.insertArgument(argIndex, grad.getType(),
                        b.getDictionaryAttr({b.getNamedAttr(
                            "ftl.grad_acc", names[i - 1])}),
                        fn.getLoc());
      Value acc = body.getArgument(argIndex);
      Operation *def = grad.getDefiningOp();
      bool single = grad.hasOneUse();
      if (auto gemm = dyn_cast_or_null<ftlt::LinearGradWeightOp>(def);
          gemm && single && !gemm.getAccumulate()) {
        gemm.getAccumulateMutable().assign(acc);
        results.push_back(grad);
        continue;
      }
      if (auto lce = dyn_cast_or_null<ftlt::LinearCrossEntropyGradOp>(def);
          lce && grad == lce.getDweight() && grad.hasOneUse() &&
          !lce.getAccumulate()) {
        lce.getAccumulateMutable().assign(acc);
        results.push_back(grad);
        continue;
      }
      results.push_back(b.create<ftlt::AddOp>(fn.getLoc(), acc, grad));
    }
    b.create<func::ReturnOp>(fn.getLoc(), results);
    ret.erase();
    fn->setAttr("ftl.accumulates", b.getUnitAttr());
  }
};
} // namespace
