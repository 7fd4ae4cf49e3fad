//===- FusedPlan.cpp - How a fused group becomes loops --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "FusedPlan.h"

#include "ftl/Codegen/FusedKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::ftlt;

namespace ftl::codegen {

llvm::Error opError(Operation *op, const llvm::Twine &message) {
  std::string where;
  op->getLoc()->walk([&](Location l) {
    if (auto file = dyn_cast<FileLineColLoc>(l)) {
      where =
          (file.getFilename().getValue() + ":" + llvm::Twine(file.getLine()) +
           ":" + llvm::Twine(file.getColumn()) + ": ")
              .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 where + message.str());
}

/// The body ops the code generators (and the interpreter) implement.
static bool isSupportedBodyOp(Operation *op) {
  if (auto constant = dyn_cast<arith::ConstantOp>(op))
    return isa<FloatAttr>(constant.getValue()) && constant.getType().isF32();
  if (isa<RowReduceOp, FusedYieldOp>(op))
    return true;
  if (!isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
           arith::NegFOp, arith::MaximumFOp, arith::MinimumFOp,
           arith::MaxNumFOp, arith::MinNumFOp, arith::CmpFOp, arith::SelectOp,
           math::ExpOp, math::Exp2Op, math::ExpM1Op, math::LogOp, math::Log2Op,
           math::Log1pOp, math::TanhOp, math::SqrtOp, math::RsqrtOp,
           math::AbsFOp, math::FmaOp, math::ErfOp, math::SinOp, math::CosOp,
           math::FloorOp, math::CeilOp>(op))
    return false;
  // Scalars only: f32 values and the i1 of comparisons.
  auto scalar = [](Type t) { return t.isF32() || t.isInteger(1); };
  return llvm::all_of(op->getOperandTypes(), scalar) &&
         llvm::all_of(op->getResultTypes(), scalar);
}

bool FusedPlan::hasColumnResults() const {
  return llvm::any_of(resultAccess, [](Access a) {
    return a == Access::Elem || a == Access::ColSum;
  });
}

static llvm::Expected<SmallVector<Access>>
accessList(FusedOp op, ArrayAttr list, StringRef what) {
  SmallVector<Access> result;
  for (Attribute attr : list) {
    auto text = cast<StringAttr>(attr).getValue();
    std::optional<Access> access = parseAccess(text);
    if (!access)
      return opError(op, "unknown " + what + " access '" + text +
                             "'; expected elem, col, row, scalar or colsum");
    result.push_back(*access);
  }
  return result;
}

llvm::Expected<FusedPlan> planFused(FusedOp op) {
  FusedPlan plan;
  plan.op = op;
  plan.cols = op.getCols();
  if (plan.cols < 1 || op.getRows() < 0)
    return opError(op, "fused group has " + llvm::Twine(op.getRows()) + " x " +
                           llvm::Twine(plan.cols) +
                           " elements; expected at least one column");
  auto in = accessList(op, op.getInputAccess(), "input");
  if (!in)
    return in.takeError();
  auto out = accessList(op, op.getResultAccess(), "result");
  if (!out)
    return out.takeError();
  plan.inputAccess = std::move(*in);
  plan.resultAccess = std::move(*out);

  Block &block = op.getBody().front();
  for (auto [i, arg] : llvm::enumerate(block.getArguments())) {
    if (!arg.getType().isF32())
      return opError(op, "fused input " + llvm::Twine(i) +
                             " has element type other than f32");
    Access access = plan.inputAccess[i];
    if (access == Access::ColSum)
      return opError(op, "fused input " + llvm::Twine(i) +
                             " has access 'colsum'; only results can");
    if (access == Access::Elem || access == Access::Col)
      plan.varying.insert(arg);
    if (access == Access::Elem || access == Access::Row)
      plan.rowDependent.insert(arg);
    plan.level[arg] = 0;
  }
  for (Operation &nested : block) {
    if (!isSupportedBodyOp(&nested)) {
      std::string name = nested.getName().getStringRef().str();
      return opError(&nested,
                     "'" + name +
                         "' in a fused group is not supported by the code "
                         "generator; expected f32 arith/math ops and "
                         "ftlt.row_reduce");
    }
    if (isa<FusedYieldOp>(nested))
      continue;
    if (auto reduce = dyn_cast<RowReduceOp>(nested)) {
      unsigned operandLevel = plan.level.lookup(reduce.getValue());
      if (plan.passes.size() <= operandLevel)
        plan.passes.resize(operandLevel + 1);
      plan.passes[operandLevel].push_back(reduce);
      plan.level[reduce.getResult()] = operandLevel + 1;
      plan.rowDependent.insert(reduce.getResult());
      continue;
    }
    bool varying = false, rowDependent = false;
    unsigned level = 0;
    for (Value operand : nested.getOperands()) {
      varying |= plan.varying.contains(operand);
      rowDependent |= plan.rowDependent.contains(operand);
      level = std::max(level, plan.level.lookup(operand));
    }
    for (Value result : nested.getResults()) {
      if (varying)
        plan.varying.insert(result);
      if (rowDependent)
        plan.rowDependent.insert(result);
      plan.level[result] = level;
    }
  }
  auto yield = cast<FusedYieldOp>(block.getTerminator());
  for (auto [i, value] : llvm::enumerate(yield.getValues())) {
    if (!value.getType().isF32())
      return opError(op, "fused result " + llvm::Twine(i) + " is not f32");
    if (plan.resultAccess[i] == Access::Row && plan.varying.contains(value))
      return opError(op, "fused result " + llvm::Twine(i) +
                             " has access 'row' but its value changes "
                             "along the row; a row result may depend only "
                             "on row reductions and row or scalar inputs");
    if (plan.resultAccess[i] == Access::Col ||
        plan.resultAccess[i] == Access::Scalar)
      return opError(op, "fused result " + llvm::Twine(i) + " has access '" +
                             stringifyAccess(plan.resultAccess[i]) +
                             "'; expected elem, row or colsum");
  }
  return plan;
}

std::string kernelKey(FusedOp op) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "cols " << op.getCols() << " in " << op.getInputAccess() << " out "
     << op.getResultAccess() << "\n";
  llvm::DenseMap<Value, unsigned> ids;
  Block &block = op.getBody().front();
  for (BlockArgument arg : block.getArguments()) {
    unsigned id = ids.size();
    ids[arg] = id;
    os << arg.getType() << " ";
  }
  os << "\n";
  for (Operation &nested : block) {
    os << nested.getName() << "(";
    for (Value operand : nested.getOperands())
      os << ids.lookup(operand) << " ";
    os << ")";
    if (Attribute props = nested.getPropertiesAsAttribute())
      os << props;
    os << nested.getDiscardableAttrDictionary() << " :";
    for (Type type : nested.getResultTypes())
      os << " " << type;
    for (Value result : nested.getResults()) {
      unsigned id = ids.size();
      ids[result] = id;
    }
    os << "\n";
  }
  return key;
}

llvm::Expected<std::vector<KernelGroup>> collectKernels(ModuleOp module) {
  std::vector<KernelGroup> groups;
  llvm::StringMap<size_t> byKey;
  llvm::Error error = llvm::Error::success();
  module.walk([&](FusedOp op) {
    std::string key = kernelKey(op);
    auto it = byKey.find(key);
    if (it == byKey.end()) {
      auto plan = planFused(op);
      if (!plan) {
        error = plan.takeError();
        return WalkResult::interrupt();
      }
      it = byKey.insert({key, groups.size()}).first;
      KernelGroup group;
      group.name = "ftl_fused_" + std::to_string(groups.size());
      group.plan = std::move(*plan);
      groups.push_back(std::move(group));
    }
    KernelGroup &group = groups[it->second];
    group.ops.push_back(op);
    op->setAttr(kKernelAttrName, StringAttr::get(op->getContext(), group.name));
    return WalkResult::advance();
  });
  if (error)
    return std::move(error);
  return groups;
}

} // namespace ftl::codegen
