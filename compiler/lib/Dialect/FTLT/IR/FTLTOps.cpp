//===- FTLTOps.cpp - The ftlt dialect: registration and verifiers ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/DialectImplementation.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::ftlt;

#include "ftl/Dialect/FTLT/IR/FTLTInterfaces.cpp.inc"
#include "ftl/Dialect/FTLT/IR/FTLTOpsDialect.cpp.inc"

#define GET_OP_CLASSES
#include "ftl/Dialect/FTLT/IR/FTLTOps.cpp.inc"

void FTLTDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ftl/Dialect/FTLT/IR/FTLTOps.cpp.inc"
      >();
}

StringRef mlir::ftlt::stringifyAccess(Access access) {
  switch (access) {
  case Access::Elem:
    return "elem";
  case Access::Col:
    return "col";
  case Access::Row:
    return "row";
  case Access::Scalar:
    return "scalar";
  case Access::ColSum:
    return "colsum";
  }
  return "?";
}

std::optional<Access> mlir::ftlt::parseAccess(StringRef text) {
  return llvm::StringSwitch<std::optional<Access>>(text)
      .Case("elem", Access::Elem)
      .Case("col", Access::Col)
      .Case("row", Access::Row)
      .Case("scalar", Access::Scalar)
      .Case("colsum", Access::ColSum)
      .Default(std::nullopt);
}

std::pair<int64_t, int64_t> mlir::ftlt::rowsAndCols(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  if (tensor.getRank() == 0)
    return {1, 1};
  int64_t cols = tensor.getShape().back();
  int64_t rows = 1;
  for (int64_t d : tensor.getShape().drop_back())
    rows *= d;
  return {rows, cols};
}

//===----------------------------------------------------------------------===//
// Verifiers
//===----------------------------------------------------------------------===//

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

static LogicalResult expectShape(Operation *op, StringRef what, Value v,
                                 ArrayRef<int64_t> expected) {
  if (shapeOf(v) == expected)
    return success();
  auto diag = op->emitOpError() << what << " must have shape [";
  llvm::interleaveComma(expected, diag);
  diag << "], found [";
  llvm::interleaveComma(shapeOf(v), diag);
  return diag << "]";
}

LogicalResult EmbeddingOp::verify() {
  auto table = shapeOf(getTable());
  auto ids = shapeOf(getIds());
  if (table.size() != 2 || ids.size() != 1)
    return emitOpError("expects a [V, D] table and [N] ids");
  return expectShape(*this, "the result", getResult(), {ids[0], table[1]});
}

LogicalResult LinearOp::verify() {
  auto x = shapeOf(getX());
  auto w = shapeOf(getWeight());
  if (x.size() != 2 || w.size() != 2)
    return emitOpError("expects a [N, K] input and a [M, K] weight");
  if (x[1] != w[1])
    return emitOpError("input has ")
           << x[1] << " features but the weight " << w[1];
  if (getBias() && failed(expectShape(*this, "the bias", getBias(), {w[0]})))
    return failure();
  return expectShape(*this, "the result", getResult(), {x[0], w[0]});
}

LogicalResult RmsNormOp::verify() {
  auto x = shapeOf(getX());
  if (x.empty() ||
      failed(expectShape(*this, "the weight", getWeight(), {x.back()})))
    return failure();
  return expectShape(*this, "the result", getResult(), x);
}

LogicalResult LayerNormOp::verify() {
  auto x = shapeOf(getX());
  if (x.empty() ||
      failed(expectShape(*this, "the weight", getWeight(), {x.back()})) ||
      failed(expectShape(*this, "the bias", getBias(), {x.back()})))
    return failure();
  return expectShape(*this, "the result", getResult(), x);
}

LogicalResult RopeOp::verify() {
  auto x = shapeOf(getX());
  int64_t hd = getHeadDim();
  if (x.size() != 2 || hd <= 0 || hd % 2 || x[1] % hd)
    return emitOpError("expects [N, H * head_dim] with an even head_dim");
  return expectShape(*this, "the positions", getPositions(), {x[0]});
}

LogicalResult AttentionOp::verify() {
  int64_t b = getBatch(), t = getSeq(), h = getHeads(), kv = getKvHeads(),
          d = getHeadDim();
  if (b <= 0 || t <= 0 || h <= 0 || kv <= 0 || d <= 0 || h % kv)
    return emitOpError("needs positive sizes and kv_heads dividing heads");
  if (failed(expectShape(*this, "q", getQ(), {b * t, h * d})) ||
      failed(expectShape(*this, "k", getK(), {b * t, kv * d})) ||
      failed(expectShape(*this, "v", getV(), {b * t, kv * d})) ||
      failed(expectShape(*this, "the segments", getSegments(), {b * t})) ||
      failed(expectShape(*this, "the result", getResult(), {b * t, h * d})))
    return failure();
  return expectShape(*this, "the log-sum-exp", getLse(), {b, h, t});
}

LogicalResult CrossEntropyOp::verify() {
  auto logits = shapeOf(getLogits());
  if (logits.size() != 2)
    return emitOpError("expects [N, V] logits");
  if (failed(expectShape(*this, "the targets", getTargets(), {logits[0]})) ||
      failed(expectShape(*this, "the weights", getWeights(), {logits[0]})))
    return failure();
  return expectShape(*this, "the log-sum-exp", getLse(), {logits[0]});
}

LogicalResult TokenNllOp::verify() {
  auto logits = shapeOf(getLogits());
  if (logits.size() != 2)
    return emitOpError("expects [N, V] logits");
  if (failed(expectShape(*this, "the targets", getTargets(), {logits[0]})) ||
      failed(expectShape(*this, "the NLL", getNll(), {logits[0]})))
    return failure();
  return expectShape(*this, "the log-sum-exp", getLse(), {logits[0]});
}

LogicalResult LinearTokenNllOp::verify() {
  auto h = shapeOf(getHidden());
  auto w = shapeOf(getWeight());
  if (h.size() != 2 || w.size() != 2 || h[1] != w[1])
    return emitOpError("expects [N, D] hidden states and a [V, D] head");
  if (getChunk() <= 0)
    return emitOpError("needs a positive chunk");
  if (failed(expectShape(*this, "the targets", getTargets(), {h[0]})) ||
      failed(expectShape(*this, "the NLL", getNll(), {h[0]})))
    return failure();
  return expectShape(*this, "the log-sum-exp", getLse(), {h[0]});
}

LogicalResult SeqSumOp::verify() {
  auto x = shapeOf(getX());
  int64_t seq = int64_t(getSeq());
  if (x.size() != 1 || seq <= 0 || x[0] % seq != 0)
    return emitOpError("expects a [rows * seq] vector and a positive 'seq'");
  return expectShape(*this, "the result", getResult(), {x[0] / seq});
}

LogicalResult PairDiffOp::verify() {
  auto x = shapeOf(getX());
  if (x.size() != 1 || x[0] % 2 != 0)
    return emitOpError("expects a vector of even length (chosen, rejected)");
  return expectShape(*this, "the result", getResult(), {x[0] / 2});
}

LogicalResult PreferenceLossOp::verify() {
  StringRef kind = getKind();
  if (kind != "sigmoid" && kind != "ipo" && kind != "hinge")
    return emitOpError("unknown preference loss '")
           << kind << "' (expected sigmoid, ipo or hinge)";
  if (!(getBeta().convertToDouble() > 0))
    return emitOpError("needs beta > 0");
  return success();
}

LogicalResult LinearCrossEntropyOp::verify() {
  auto h = shapeOf(getHidden());
  auto w = shapeOf(getWeight());
  if (h.size() != 2 || w.size() != 2 || h[1] != w[1])
    return emitOpError("expects [N, D] hidden states and a [V, D] head");
  if (getChunk() <= 0)
    return emitOpError("needs a positive chunk");
  if (failed(expectShape(*this, "the targets", getTargets(), {h[0]})) ||
      failed(expectShape(*this, "the weights", getWeights(), {h[0]})))
    return failure();
  return expectShape(*this, "the log-sum-exp", getLse(), {h[0]});
}

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0 && rate < 1))
    return emitOpError("needs a rate in [0, 1), found ") << rate;
  return expectShape(*this, "the seed", getSeed(), {1});
}

LogicalResult ScaleColsOp::verify() {
  auto x = shapeOf(getX());
  if (x.size() != 2)
    return emitOpError("expects [N, D] rows");
  return expectShape(*this, "the factor", getFactor(), {x[1]});
}

LogicalResult DoraNormOp::verify() {
  auto w = shapeOf(getWeight()), a = shapeOf(getA()), b = shapeOf(getB());
  if (w.size() != 2 || a.size() != 2 || b.size() != 2 || a[1] != w[1] ||
      b[0] != w[0] || b[1] != a[0])
    return emitOpError("expects a [O, I] weight, a [R, I] A and a [O, R] B");
  return expectShape(*this, "the result", getResult(), {w[0]});
}

LogicalResult MaskRowsOp::verify() {
  auto x = shapeOf(getX());
  if (x.size() != 2)
    return emitOpError("expects [N, D] rows");
  return expectShape(*this, "the mask", getMask(), {x[0]});
}

LogicalResult LinearKlOp::verify() {
  auto h = shapeOf(getHidden());
  auto w = shapeOf(getWeight());
  auto rh = shapeOf(getRefHidden());
  auto rw = shapeOf(getRefWeight());
  if (h.size() != 2 || w.size() != 2 || h[1] != w[1])
    return emitOpError("expects [N, D] hidden states and a [V, D] head");
  if (rh.size() != 2 || rw.size() != 2 || rh[1] != rw[1] || rh[0] != h[0] ||
      rw[0] != w[0])
    return emitOpError("expects the reference's [N, D'] hidden states and "
                       "[V, D'] head, with the same N and V");
  if (getChunk() <= 0)
    return emitOpError("needs a positive chunk");
  if (failed(expectShape(*this, "the weights", getWeights(), {h[0]})) ||
      failed(expectShape(*this, "the log-sum-exp", getLse(), {h[0]})))
    return failure();
  return expectShape(*this, "the reference's log-sum-exp", getRefLse(), {h[0]});
}

LogicalResult FusedOp::verify() {
  if (getInputAccess().size() != getInputs().size())
    return emitOpError("needs one input access kind per input");
  if (getResultAccess().size() != getResults().size())
    return emitOpError("needs one result access kind per result");
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError("body takes one scalar per input");
  int64_t rows = getRows(), cols = getCols();
  for (auto [i, attr] : llvm::enumerate(getInputAccess())) {
    auto access = parseAccess(cast<StringAttr>(attr).getValue());
    if (!access || *access == Access::ColSum)
      return emitOpError("invalid input access '")
             << cast<StringAttr>(attr).getValue() << "'";
    auto type = cast<RankedTensorType>(getInputs()[i].getType());
    int64_t expected = *access == Access::Elem  ? rows * cols
                       : *access == Access::Col ? cols
                       : *access == Access::Row ? rows
                                                : 1;
    if (type.getNumElements() != expected)
      return emitOpError("input ")
             << i << " has " << type.getNumElements()
             << " elements, its access needs " << expected;
    if (block.getArgument(i).getType() != type.getElementType())
      return emitOpError("body argument ")
             << i << " must be " << type.getElementType();
  }
  auto yield = cast<FusedYieldOp>(block.getTerminator());
  if (yield.getValues().size() != getResults().size())
    return emitOpError("body must yield one value per result");
  for (auto [i, attr] : llvm::enumerate(getResultAccess())) {
    auto access = parseAccess(cast<StringAttr>(attr).getValue());
    if (!access || *access == Access::Col || *access == Access::Scalar)
      return emitOpError("invalid result access '")
             << cast<StringAttr>(attr).getValue() << "'";
    auto type = cast<RankedTensorType>(getResults()[i].getType());
    int64_t expected = *access == Access::Elem  ? rows * cols
                       : *access == Access::Row ? rows
                                                : cols;
    if (type.getNumElements() != expected)
      return emitOpError("result ")
             << i << " has " << type.getNumElements()
             << " elements, its access needs " << expected;
  }
  return success();
}

LogicalResult RowReduceOp::verify() {
  if (getKind() != "sum" && getKind() != "max")
    return emitOpError("kind must be sum or max");
  if (!(*this)->getParentOfType<FusedOp>())
    return emitOpError("is only valid inside ftlt.fused");
  return success();
}
