//===- Autodiff.cpp - Reverse-mode differentiation of step functions ------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// For a function returning a scalar loss, appends the backward pass: a reverse
// sweep over the ops that lie between a trainable argument and the loss,
// calling each op's DifferentiableOpInterface rule and summing gradients of
// values with several uses. Only gradients some trainable argument needs are
// built. With `ftl.recompute = "all"`, each layer's forward ops are cloned at
// the start of that layer's backward and the rules read the clones, so the
// original activations die as soon as the forward has used them.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseSet.h"

namespace mlir::ftl {
#define GEN_PASS_DEF_AUTODIFF
#include "ftl/Transforms/Passes.h.inc"
} // namespace mlir::ftl

using namespace mlir;

namespace {

static std::optional<int64_t> layerOf(Operation *op) {
  if (auto attr = op->getAttrOfType<IntegerAttr>("ftl.layer"))
    return attr.getInt();
  return std::nullopt;
}

LogicalResult differentiate(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  if (ret.getNumOperands() != 1)
    return fn.emitError("a loss function returns exactly one scalar");
  Value loss = ret.getOperand(0);
  bool recomputeAll = false;
  if (auto policy = fn->getAttrOfType<StringAttr>("ftl.recompute"))
    recomputeAll = policy.getValue() == "all";

  // Which values depend on a trainable argument.
  llvm::DenseSet<Value> needsGrad;
  SmallVector<BlockArgument> trainable;
  for (BlockArgument arg : body.getArguments())
    if (fn.getArgAttr(arg.getArgNumber(), "ftl.trainable")) {
      needsGrad.insert(arg);
      trainable.push_back(arg);
    }
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator()) {
    forward.push_back(&op);
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return needsGrad.contains(v); }))
      for (Value r : op.getResults())
        needsGrad.insert(r);
  }

  OpBuilder b(ret);
  Location loc = fn.getLoc();
  llvm::DenseMap<Value, Value> grads;
  auto accumulate = [&](Value target, Value grad) {
    if (!grad)
      return;
    auto it = grads.find(target);
    if (it == grads.end()) {
      grads[target] = grad;
      return;
    }
    it->second = b.create<ftlt::AddOp>(loc, it->second, grad);
  };
  auto scalarType = RankedTensorType::get({}, b.getF32Type());
  grads[loss] = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(scalarType, 1.0f));

  // Recomputation: originals of a layer -> their clones.
  IRMapping recomputed;
  llvm::DenseSet<int64_t> recomputedLayers;

  for (Operation *op : llvm::reverse(forward)) {
    // Only ops on a path from a trainable argument to a value with a grad.
    bool anyResultGrad = llvm::any_of(
        op->getResults(), [&](Value r) { return grads.count(r); });
    if (!anyResultGrad)
      continue;
    SmallVector<bool> needed;
    bool anyNeeded = false;
    for (Value operand : op->getOperands()) {
      needed.push_back(needsGrad.contains(operand));
      anyNeeded |= needed.back();
    }
    if (!anyNeeded)
      continue;
    auto diff = dyn_cast<ftlt::DifferentiableOpInterface>(op);
    if (!diff)
      return op->emitError("cannot differentiate '")
             << op->getName() << "': it has no gradient rule";

    Operation *source = op;
    if (recomputeAll) {
      if (std::optional<int64_t> layer = layerOf(op)) {
        if (recomputedLayers.insert(*layer).second) {
          // Clone the whole layer's forward here, in forward order.
          for (Operation *f : forward)
            if (layerOf(f) == layer)
              b.clone(*f, recomputed);
        }
        source = recomputed.lookup(op->getResult(0)).getDefiningOp();
        diff = cast<ftlt::DifferentiableOpInterface>(source);
      }
    }

    SmallVector<Value> resultGrads;
    for (Value r : op->getResults())
      resultGrads.push_back(grads.lookup(r));
    SmallVector<Value> operandGrads;
    if (failed(diff.buildGradients(b, resultGrads, needed, operandGrads)))
      return failure();
    for (auto [i, operand] : llvm::enumerate(op->getOperands()))
      if (needed[i] && i < operandGrads.size())
        accumulate(operand, operandGrads[i]);
  }

  // Return the loss and the gradients of the trainable arguments.
  SmallVector<Value> results = {loss};
  SmallVector<Type> resultTypes = {loss.getType()};
  for (BlockArgument arg : trainable) {
    Value grad = grads.lookup(arg);
    if (!grad) {
      auto type = cast<RankedTensorType>(arg.getType());
      grad = b.create<arith::ConstantOp>(loc,
                                         DenseElementsAttr::get(type, 0.0f));
    }
    results.push_back(grad);
    resultTypes.push_back(grad.getType());
  }
  b.create<func::ReturnOp>(loc, results);
  ret.erase();
  fn.setFunctionType(
      b.getFunctionType(fn.getFunctionType().getInputs(), resultTypes));
  fn->removeAttr("ftl.loss");
  fn->setAttr("ftl.grad", b.getUnitAttr());
  SmallVector<Attribute> names;
  for (BlockArgument arg : trainable)
    names.push_back(fn.getArgAttr(arg.getArgNumber(), "ftl.param"));
  fn->setAttr("ftl.grad_params", b.getArrayAttr(names));
  return success();
}

struct AutodiffPass : public mlir::ftl::impl::AutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> fns;
    getOperation().walk([&](func::FuncOp fn) {
      if (fn->hasAttr("ftl.loss"))
        fns.push_back(fn);
    });
    for (func::FuncOp fn : fns)
      if (failed(differentiate(fn)))
        return signalPassFailure();
  }
};

} // namespace
