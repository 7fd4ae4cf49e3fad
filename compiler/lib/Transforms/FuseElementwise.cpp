//===- FuseElementwise.cpp - Fusible op chains to ftlt.fused groups -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Greedy producer-consumer fusion in block order. A fusible op joins the open
// group of one of its producers when they share the [rows, cols] space, the
// value passes with the same access on both sides (elem to elem), and no op
// outside the group has used the group's values since (the group is emitted
// where its last member is, so every consumer must come later). Every fusible
// op ends up in a group, so all of them run as generated code.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::ftl {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "ftl/Transforms/Passes.h.inc"
} // namespace mlir::ftl

using namespace mlir;
using namespace mlir::ftlt;

namespace {

struct Group {
  SmallVector<Operation *> members;
  int64_t rows = 0, cols = 0;
  bool open = true;
};

/// The [rows, cols] space of a fusible op: that of its first elem operand or
/// result.
static std::pair<int64_t, int64_t> spaceOf(FusibleOpInterface op) {
  SmallVector<Access> in = op.getOperandAccess();
  for (auto [i, access] : llvm::enumerate(in))
    if (access == Access::Elem)
      return rowsAndCols(op->getOperand(i).getType());
  SmallVector<Access> out = op.getResultAccess();
  for (auto [i, access] : llvm::enumerate(out))
    if (access == Access::Elem)
      return rowsAndCols(op->getResult(i).getType());
  // Only col/row/scalar operands and colsum results: take the first operand.
  return rowsAndCols(op->getOperand(0).getType());
}

class Fuser {
public:
  explicit Fuser(func::FuncOp fn) : fn(fn) {}

  void run() {
    Block &body = fn.getBody().front();
    for (Operation &op : llvm::make_early_inc_range(body.without_terminator()))
      visit(&op);
    for (auto &group : groups)
      materialize(*group);
  }

private:
  void visit(Operation *op) {
    // A non-member use of a group's value closes that group.
    auto fusible = dyn_cast<FusibleOpInterface>(op);
    if (!fusible) {
      closeGroupsUsedBy(op);
      return;
    }
    auto [rows, cols] = spaceOf(fusible);
    SmallVector<Access> access = fusible.getOperandAccess();
    Group *target = nullptr;
    for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
      auto it = groupOf.find(operand.getDefiningOp());
      if (it == groupOf.end())
        continue;
      Group *g = it->second;
      if (!g->open || g->rows != rows || g->cols != cols)
        continue;
      // The producer's result must be an elem result read as elem.
      auto producer = cast<FusibleOpInterface>(operand.getDefiningOp());
      unsigned resultIndex = cast<OpResult>(operand).getResultNumber();
      if (producer.getResultAccess()[resultIndex] != Access::Elem ||
          access[i] != Access::Elem)
        continue;
      target = g;
      break;
    }
    // Operands from other open groups must not be read with a non-elem
    // access from a producer in the same group; other groups get closed.
    if (!target) {
      groups.push_back(std::make_unique<Group>());
      target = groups.back().get();
      target->rows = rows;
      target->cols = cols;
    }
    // Any other group whose value this op reads is closed (its value is
    // produced outside the op's group).
    for (Value operand : op->getOperands()) {
      auto it = groupOf.find(operand.getDefiningOp());
      if (it != groupOf.end() && it->second != target)
        it->second->open = false;
    }
    // A colsum or row result consumed inside the group is not allowed: it is
    // complete only after all rows.
    for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
      auto it = groupOf.find(operand.getDefiningOp());
      if (it == groupOf.end() || it->second != target)
        continue;
      auto producer = cast<FusibleOpInterface>(operand.getDefiningOp());
      unsigned resultIndex = cast<OpResult>(operand).getResultNumber();
      if (producer.getResultAccess()[resultIndex] != Access::Elem ||
          access[i] != Access::Elem) {
        // Start a fresh group instead.
        groups.push_back(std::make_unique<Group>());
        target = groups.back().get();
        target->rows = rows;
        target->cols = cols;
        break;
      }
    }
    target->members.push_back(op);
    groupOf[op] = target;
  }

  void closeGroupsUsedBy(Operation *op) {
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands()) {
        auto it = groupOf.find(operand.getDefiningOp());
        if (it != groupOf.end())
          it->second->open = false;
      }
    });
  }

  void materialize(Group &group) {
    llvm::DenseSet<Operation *> members(group.members.begin(),
                                        group.members.end());
    // Inputs: values from outside, keyed by (value, access).
    llvm::MapVector<std::pair<Value, unsigned>, unsigned> inputIndex;
    SmallVector<Value> inputs;
    SmallVector<Attribute> inputAccess;
    for (Operation *op : group.members) {
      SmallVector<Access> access =
          cast<FusibleOpInterface>(op).getOperandAccess();
      for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
        if (members.contains(operand.getDefiningOp()))
          continue;
        auto key = std::make_pair(operand, unsigned(access[i]));
        if (inputIndex.count(key))
          continue;
        inputIndex[key] = inputs.size();
        inputs.push_back(operand);
        inputAccess.push_back(
            StringAttr::get(fn.getContext(), stringifyAccess(access[i])));
      }
    }
    // Outputs: member results used outside the group.
    SmallVector<Value> outputs;
    SmallVector<Attribute> outputAccess;
    for (Operation *op : group.members) {
      SmallVector<Access> access =
          cast<FusibleOpInterface>(op).getResultAccess();
      for (auto [i, result] : llvm::enumerate(op->getResults())) {
        bool external = llvm::any_of(result.getUsers(), [&](Operation *u) {
          return !members.contains(u);
        });
        if (!external)
          continue;
        outputs.push_back(result);
        outputAccess.push_back(
            StringAttr::get(fn.getContext(), stringifyAccess(access[i])));
      }
    }

    Operation *last = group.members.back();
    OpBuilder b(last->getContext());
    b.setInsertionPointAfter(last);
    SmallVector<Type> resultTypes;
    for (Value v : outputs)
      resultTypes.push_back(v.getType());
    Location loc = group.members.size() == 1
                       ? last->getLoc()
                       : b.getFusedLoc(llvm::to_vector(llvm::map_range(
                             group.members,
                             [](Operation *op) { return op->getLoc(); })));
    auto fused = b.create<FusedOp>(
        loc, resultTypes, inputs, b.getI64IntegerAttr(group.rows),
        b.getI64IntegerAttr(group.cols), b.getArrayAttr(inputAccess),
        b.getArrayAttr(outputAccess));
    if (std::optional<int64_t> layer = commonLayer(group))
      fused->setAttr("ftl.layer", b.getI64IntegerAttr(*layer));
    Block *block = new Block();
    fused.getBody().push_back(block);
    for (Value in : inputs)
      block->addArgument(cast<RankedTensorType>(in.getType()).getElementType(),
                         loc);
    b.setInsertionPointToStart(block);
    // Scalar value of each member result, filled as members are emitted.
    llvm::DenseMap<Value, Value> scalar;
    for (Operation *op : group.members) {
      auto fusible = cast<FusibleOpInterface>(op);
      SmallVector<Access> access = fusible.getOperandAccess();
      SmallVector<Value> in;
      for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
        if (members.contains(operand.getDefiningOp())) {
          in.push_back(scalar.lookup(operand));
          continue;
        }
        in.push_back(block->getArgument(
            inputIndex[std::make_pair(operand, unsigned(access[i]))]));
      }
      SmallVector<Value> out;
      (void)fusible.emitScalarBody(b, op->getLoc(), in, out);
      for (auto [result, value] : llvm::zip(op->getResults(), out))
        scalar[result] = value;
    }
    SmallVector<Value> yields;
    for (Value v : outputs)
      yields.push_back(scalar.lookup(v));
    b.create<FusedYieldOp>(loc, yields);

    llvm::SmallPtrSet<Operation *, 8> memberSet(group.members.begin(),
                                                group.members.end());
    for (auto [old, now] : llvm::zip(outputs, fused.getResults()))
      old.replaceAllUsesExcept(now, memberSet);
    for (Operation *op : llvm::reverse(group.members)) {
      op->dropAllUses();
      op->erase();
    }
  }

  static std::optional<int64_t> commonLayer(Group &group) {
    std::optional<int64_t> layer;
    for (Operation *op : group.members) {
      auto attr = op->getAttrOfType<IntegerAttr>("ftl.layer");
      if (!attr)
        return std::nullopt;
      if (layer && *layer != attr.getInt())
        return std::nullopt;
      layer = attr.getInt();
    }
    return layer;
  }

  func::FuncOp fn;
  SmallVector<std::unique_ptr<Group>> groups;
  llvm::DenseMap<Operation *, Group *> groupOf;
};

struct FuseElementwisePass
    : public mlir::ftl::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    Fuser(fn).run();
  }
};

} // namespace
