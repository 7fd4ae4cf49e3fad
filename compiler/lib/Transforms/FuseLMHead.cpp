//===- FuseLMHead.cpp - LM head + cross-entropy over vocabulary chunks ----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::ftl {
#define GEN_PASS_DEF_FUSELMHEAD
#include "ftl/Transforms/Passes.h.inc"
} // namespace mlir::ftl

using namespace mlir;

namespace {
struct FuseLMHeadPass : public mlir::ftl::impl::FuseLMHeadBase<FuseLMHeadPass> {
  using FuseLMHeadBase::FuseLMHeadBase;

  void runOnOperation() override {
    // The logits must be used by the loss alone, or they would have to exist
    // anyway.
    auto fusibleHead = [](Value logits) {
      auto linear = logits.getDefiningOp<ftlt::LinearOp>();
      return linear && !linear.getBias() && linear->hasOneUse() ? linear
                                                                : nullptr;
    };
    SmallVector<Operation *> candidates;
    getOperation().walk([&](Operation *op) {
      if (auto ce = dyn_cast<ftlt::CrossEntropyOp>(op))
        if (fusibleHead(ce.getLogits()))
          candidates.push_back(op);
      if (auto nll = dyn_cast<ftlt::TokenNllOp>(op))
        if (fusibleHead(nll.getLogits()))
          candidates.push_back(op);
    });
    for (Operation *op : candidates) {
      OpBuilder b(op);
      Operation *fused;
      ftlt::LinearOp linear;
      if (auto ce = dyn_cast<ftlt::CrossEntropyOp>(op)) {
        linear = fusibleHead(ce.getLogits());
        fused = b.create<ftlt::LinearCrossEntropyOp>(
            ce.getLoc(), ce.getLoss().getType(), ce.getLse().getType(),
            linear.getX(), linear.getWeight(), ce.getTargets(),
            ce.getWeights(), b.getI64IntegerAttr(chunk));
      } else {
        auto nll = cast<ftlt::TokenNllOp>(op);
        linear = fusibleHead(nll.getLogits());
        fused = b.create<ftlt::LinearTokenNllOp>(
            nll.getLoc(), nll.getNll().getType(), nll.getLse().getType(),
            linear.getX(), linear.getWeight(), nll.getTargets(),
            b.getI64IntegerAttr(chunk));
      }
      op->replaceAllUsesWith(fused->getResults());
      op->erase();
      linear.erase();
    }
  }
};
} // namespace
