//===- Gradients.cpp - Reverse-mode rules of ftlt ops ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// One rule per differentiable op: given the gradients of its results, build
// the gradients of its operands. The autodiff pass walks a function backwards
// and calls these. Each rule is checked against central finite differences in
// test/Transforms/autodiff-*.mlir and compiler/unittests.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::ftlt;

LogicalResult EmbeddingOp::buildGradients(OpBuilder &b,
                                          ArrayRef<Value> resultGrads,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  if (needed[0] && resultGrads[0])
    grads[0] = b.create<EmbeddingGradOp>(getLoc(), getTable().getType(),
                                         resultGrads[0], getIds());
  return success();
}

LogicalResult LinearOp::buildGradients(OpBuilder &b,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  grads.assign(getNumOperands(), Value());
  Value dy = resultGrads[0];
  if (!dy)
    return success();
  if (needed[0])
    grads[0] = b.create<LinearGradInputOp>(getLoc(), getX().getType(), dy,
                                           getWeight());
  if (needed[1])
    grads[1] = b.create<LinearGradWeightOp>(getLoc(), getWeight().getType(), dy,
                                            getX(), Value());
  if (getBias() && needed[2])
    grads[2] = b.create<ColumnSumOp>(getLoc(), getBias().getType(), dy);
  return success();
}

LogicalResult RmsNormOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  if (!resultGrads[0])
    return success();
  auto op =
      b.create<RmsNormGradOp>(getLoc(), getX().getType(), getWeight().getType(),
                              resultGrads[0], getX(), getWeight(), getEps());
  grads[0] = op.getDx();
  grads[1] = op.getDweight();
  return success();
}

LogicalResult LayerNormOp::buildGradients(OpBuilder &b,
                                          ArrayRef<Value> resultGrads,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  grads.assign(3, Value());
  if (!resultGrads[0])
    return success();
  auto op = b.create<LayerNormGradOp>(
      getLoc(), getX().getType(), getWeight().getType(), getBias().getType(),
      resultGrads[0], getX(), getWeight(), getEps());
  grads[0] = op.getDx();
  grads[1] = op.getDweight();
  grads[2] = op.getDbias();
  return success();
}

LogicalResult RopeOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  if (needed[0] && resultGrads[0])
    grads[0] = b.create<RopeGradOp>(getLoc(), getX().getType(), resultGrads[0],
                                    getPositions(), getTheta(), getHeadDim());
  return success();
}

LogicalResult AttentionOp::buildGradients(OpBuilder &b,
                                          ArrayRef<Value> resultGrads,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  grads.assign(4, Value());
  // The log-sum-exp is an auxiliary output: nothing differentiable uses it.
  if (!resultGrads[0])
    return success();
  auto op = b.create<AttentionGradOp>(
      getLoc(), getQ().getType(), getK().getType(), getV().getType(),
      resultGrads[0], getQ(), getK(), getV(), getResult(), getLse(),
      getSegments(), getBatch(), getSeq(), getHeads(), getKvHeads(),
      getHeadDim());
  grads[0] = op.getDq();
  grads[1] = op.getDk();
  grads[2] = op.getDv();
  return success();
}

LogicalResult AddOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  grads.assign(2, resultGrads[0]);
  return success();
}

LogicalResult SubOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  Value dy = resultGrads[0];
  if (!dy)
    return success();
  grads[0] = dy;
  if (needed[1])
    grads[1] =
        b.create<ScaleOp>(getLoc(), dy.getType(), dy, b.getF64FloatAttr(-1.0));
  return success();
}

LogicalResult MulOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  Value dy = resultGrads[0];
  if (!dy)
    return success();
  if (needed[0])
    grads[0] = b.create<MulOp>(getLoc(), dy.getType(), dy, getRhs());
  if (needed[1])
    grads[1] = b.create<MulOp>(getLoc(), dy.getType(), dy, getLhs());
  return success();
}

// d(l / r) = dl / r - l dr / r^2.
LogicalResult DivOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  Value dy = resultGrads[0];
  if (!dy)
    return success();
  Value quotient = b.create<DivOp>(getLoc(), dy.getType(), dy, getRhs());
  if (needed[0])
    grads[0] = quotient;
  if (needed[1]) {
    Value ratio = b.create<DivOp>(getLoc(), dy.getType(), getLhs(), getRhs());
    Value product = b.create<MulOp>(getLoc(), dy.getType(), quotient, ratio);
    grads[1] = b.create<ScaleOp>(getLoc(), dy.getType(), product,
                                 b.getF64FloatAttr(-1.0));
  }
  return success();
}

/// x times a broadcast factor (a scalar, or one per column): dx is dy times
/// the same factor; the factor's gradient reduces dy * x over what it was
/// broadcast across (ReduceOp: sum, or column_sum).
template <typename ScaleOpT, typename ReduceOpT>
static void broadcastScaleGradients(OpBuilder &b, ScaleOpT op, Value dy,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  if (!dy)
    return;
  if (needed[0])
    grads[0] = b.create<ScaleOpT>(op.getLoc(), dy, op.getFactor());
  if (needed[1]) {
    Value product = b.create<MulOp>(op.getLoc(), dy.getType(), dy, op.getX());
    grads[1] =
        b.create<ReduceOpT>(op.getLoc(), op.getFactor().getType(), product);
  }
}

LogicalResult ScaleColsOp::buildGradients(OpBuilder &b,
                                          ArrayRef<Value> resultGrads,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  broadcastScaleGradients<ScaleColsOp, ColumnSumOp>(b, *this, resultGrads[0],
                                                    needed, grads);
  return success();
}

// The norm is held constant (the DoRA paper, section 4.3): no gradient.
LogicalResult DoraNormOp::buildGradients(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &grads) {
  grads.assign(3, Value());
  return success();
}

LogicalResult ScaleOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] = b.create<ScaleOp>(getLoc(), resultGrads[0].getType(),
                                 resultGrads[0], getFactorAttr());
  return success();
}

// Dropout is linear in x with the same mask every time it is computed: its
// gradient is the same dropout of dy.
LogicalResult DropoutOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  if (resultGrads[0] && needed[0])
    grads[0] = b.create<DropoutOp>(getLoc(), resultGrads[0], getSeed(),
                                   getRateAttr(), getSaltAttr());
  return success();
}

// The mask is data (virtual token slots): no gradient flows to it.
LogicalResult MaskRowsOp::buildGradients(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  if (resultGrads[0] && needed[0])
    grads[0] = b.create<MaskRowsOp>(getLoc(), resultGrads[0], getMask(),
                                    getKeepAttr());
  return success();
}

LogicalResult ScaleByOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  broadcastScaleGradients<ScaleByOp, SumOp>(b, *this, resultGrads[0], needed,
                                            grads);
  return success();
}

LogicalResult AbsOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] =
        b.create<AbsGradOp>(getLoc(), getX().getType(), resultGrads[0], getX());
  return success();
}

LogicalResult SiluOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] = b.create<SiluGradOp>(getLoc(), getX().getType(), resultGrads[0],
                                    getX());
  return success();
}

LogicalResult GeluOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] = b.create<GeluGradOp>(getLoc(), getX().getType(), resultGrads[0],
                                    getX());
  return success();
}

LogicalResult SumOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] =
        b.create<BroadcastOp>(getLoc(), getX().getType(), resultGrads[0]);
  return success();
}

LogicalResult CrossEntropyOp::buildGradients(OpBuilder &b,
                                             ArrayRef<Value> resultGrads,
                                             ArrayRef<bool> needed,
                                             SmallVectorImpl<Value> &grads) {
  grads.assign(3, Value());
  if (needed[0] && resultGrads[0])
    grads[0] = b.create<CrossEntropyGradOp>(
        getLoc(), getLogits().getType(), resultGrads[0], getLogits(),
        getTargets(), getWeights(), getLse());
  return success();
}

LogicalResult
LinearCrossEntropyOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  grads.assign(4, Value());
  if (!resultGrads[0])
    return success();
  auto op = b.create<LinearCrossEntropyGradOp>(
      getLoc(), getHidden().getType(), getWeight().getType(), resultGrads[0],
      getHidden(), getWeight(), getTargets(), getWeights(), getLse(),
      getChunk(), Value());
  grads[0] = op.getDhidden();
  grads[1] = op.getDweight();
  return success();
}

/// A 0-d f32 constant.
static Value scalarConstant(OpBuilder &b, Location loc, float value) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(type, b.getF32FloatAttr(value)));
}

// d nll[i] / d logits[i] = softmax(logits[i]) - onehot(targets[i]): the
// cross-entropy gradient with the incoming per-token gradient as weights.
LogicalResult TokenNllOp::buildGradients(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &grads) {
  grads.assign(2, Value());
  if (needed[0] && resultGrads[0])
    grads[0] = b.create<CrossEntropyGradOp>(
        getLoc(), getLogits().getType(), scalarConstant(b, getLoc(), 1.0f),
        getLogits(), getTargets(), resultGrads[0], getLse());
  return success();
}

LogicalResult LinearTokenNllOp::buildGradients(OpBuilder &b,
                                               ArrayRef<Value> resultGrads,
                                               ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  grads.assign(3, Value());
  if (!resultGrads[0])
    return success();
  auto op = b.create<LinearCrossEntropyGradOp>(
      getLoc(), getHidden().getType(), getWeight().getType(),
      scalarConstant(b, getLoc(), 1.0f), getHidden(), getWeight(), getTargets(),
      resultGrads[0], getLse(), getChunk(), Value());
  grads[0] = op.getDhidden();
  grads[1] = op.getDweight();
  return success();
}

// Only the trained model's operands get gradients: the reference is fixed.
LogicalResult LinearKlOp::buildGradients(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &grads) {
  grads.assign(5, Value());
  if (!resultGrads[0] || !(needed[0] || needed[1]))
    return success();
  auto op = b.create<LinearKlGradOp>(
      getLoc(), getHidden().getType(), getWeight().getType(), resultGrads[0],
      getHidden(), getWeight(), getRefHidden(), getRefWeight(), getWeights(),
      getLse(), getRefLse(), getChunk());
  grads[0] = op.getDhidden();
  grads[1] = op.getDweight();
  return success();
}

LogicalResult SeqSumOp::buildGradients(OpBuilder &b,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] = b.create<SeqExpandOp>(getLoc(), getX().getType(), resultGrads[0],
                                     getSeq());
  return success();
}

LogicalResult PairDiffOp::buildGradients(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] =
        b.create<PairSpreadOp>(getLoc(), getX().getType(), resultGrads[0]);
  return success();
}

LogicalResult PreferenceLossOp::buildGradients(OpBuilder &b,
                                               ArrayRef<Value> resultGrads,
                                               ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] = b.create<PreferenceLossGradOp>(
        getLoc(), getH().getType(), resultGrads[0], getH(), getKindAttr(),
        getBetaAttr(), getLabelSmoothingAttr());
  return success();
}

LogicalResult UnlikelihoodOp::buildGradients(OpBuilder &b,
                                             ArrayRef<Value> resultGrads,
                                             ArrayRef<bool> needed,
                                             SmallVectorImpl<Value> &grads) {
  grads.assign(1, Value());
  if (resultGrads[0])
    grads[0] = b.create<UnlikelihoodGradOp>(getLoc(), getNll().getType(),
                                            resultGrads[0], getNll());
  return success();
}
