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
    SmallVector<ftlt::CrossEntropyOp> candidates;
    getOperation().walk([&](ftlt::CrossEntropyOp ce) {
      auto linear = ce.getLogits().getDefiningOp<ftlt::LinearOp>();
      // The logits must be used by the cross-entropy alone, or they would
      // have to exist anyway.
      if (linear && !linear.getBias() && linear->hasOneUse())
        candidates.push_back(ce);
    });
    for (ftlt::CrossEntropyOp ce : candidates) {
      auto linear = ce.getLogits().getDefiningOp<ftlt::LinearOp>();
      OpBuilder b(ce);
      auto fused = b.create<ftlt::LinearCrossEntropyOp>(
          ce.getLoc(), ce.getLoss().getType(), ce.getLse().getType(),
          linear.getX(), linear.getWeight(), ce.getTargets(), ce.getWeights(),
          b.getI64IntegerAttr(chunk));
      ce.getLoss().replaceAllUsesWith(fused.getLoss());
      ce.getLse().replaceAllUsesWith(fused.getLse());
      ce.erase();
      linear.erase();
    }
  }
};
} // namespace
