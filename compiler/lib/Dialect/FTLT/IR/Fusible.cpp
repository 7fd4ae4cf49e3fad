//===- Fusible.cpp - Scalar bodies of fusible ftlt ops --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The computation of each fusible op as scalar code over one element of its
// [rows, cols] space, with `ftlt.row_reduce` for row reductions. The fusion
// pass concatenates these bodies into `ftlt.fused` groups; the same bodies
// are the reference semantics of the ops (the interpreter in tests runs them).
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ftlt;

namespace {
/// Small helper to write scalar f32 arithmetic readably.
struct Scalar {
  OpBuilder &b;
  Location loc;

  Value c(double v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(float(v)));
  }
  Value add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
  Value div(Value x, Value y) { return b.create<arith::DivFOp>(loc, x, y); }
  Value neg(Value x) { return b.create<arith::NegFOp>(loc, x); }
  Value exp(Value x) { return b.create<math::ExpOp>(loc, x); }
  Value tanh(Value x) { return b.create<math::TanhOp>(loc, x); }
  Value sqrt(Value x) { return b.create<math::SqrtOp>(loc, x); }
  Value rsqrt(Value x) { return b.create<math::RsqrtOp>(loc, x); }
  Value rowSum(Value x) {
    return b.create<RowReduceOp>(loc, b.getF32Type(), "sum", x);
  }
  Value sigmoid(Value x) { return div(c(1.0), add(c(1.0), exp(neg(x)))); }
  Value log(Value x) { return b.create<math::LogOp>(loc, x); }
  Value log1p(Value x) { return b.create<math::Log1pOp>(loc, x); }
  Value abs(Value x) { return b.create<math::AbsFOp>(loc, x); }
  Value max(Value x, Value y) { return b.create<arith::MaximumFOp>(loc, x, y); }
  Value min(Value x, Value y) { return b.create<arith::MinimumFOp>(loc, x, y); }
  Value greater(Value x, Value y) {
    return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, y);
  }
  Value notEqual(Value x, Value y) {
    return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::ONE, x, y);
  }
  Value select(Value cond, Value x, Value y) {
    return b.create<arith::SelectOp>(loc, cond, x, y);
  }
  /// log(sigmoid(x)) without overflow: min(x, 0) - log1p(exp(-|x|)).
  Value logSigmoid(Value x) {
    return sub(min(x, c(0.0)), log1p(exp(neg(abs(x)))));
  }
};

SmallVector<Access> elems(unsigned n) {
  return SmallVector<Access>(n, Access::Elem);
}

constexpr double kGeluC = 0.7978845608028654; // sqrt(2 / pi)
constexpr double kGeluA = 0.044715;
} // namespace

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

#define ELEMENTWISE_ACCESS(OP, N_IN, N_OUT)                                    \
  SmallVector<Access> OP::getOperandAccess() { return elems(N_IN); }           \
  SmallVector<Access> OP::getResultAccess() { return elems(N_OUT); }

ELEMENTWISE_ACCESS(AddOp, 2, 1)
ELEMENTWISE_ACCESS(SubOp, 2, 1)
ELEMENTWISE_ACCESS(MulOp, 2, 1)
ELEMENTWISE_ACCESS(DivOp, 2, 1)
ELEMENTWISE_ACCESS(ScaleOp, 1, 1)
ELEMENTWISE_ACCESS(SiluOp, 1, 1)
ELEMENTWISE_ACCESS(AbsOp, 1, 1)
ELEMENTWISE_ACCESS(AbsGradOp, 2, 1)
ELEMENTWISE_ACCESS(GeluOp, 1, 1)
ELEMENTWISE_ACCESS(SiluGradOp, 2, 1)
ELEMENTWISE_ACCESS(GeluGradOp, 2, 1)
ELEMENTWISE_ACCESS(PreferenceLossOp, 1, 1)
ELEMENTWISE_ACCESS(PreferenceLossGradOp, 2, 1)
ELEMENTWISE_ACCESS(UnlikelihoodOp, 1, 1)
ELEMENTWISE_ACCESS(UnlikelihoodGradOp, 2, 1)
#undef ELEMENTWISE_ACCESS

LogicalResult AddOp::emitScalarBody(OpBuilder &b, Location loc,
                                    ArrayRef<Value> in,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(Scalar{b, loc}.add(in[0], in[1]));
  return success();
}

LogicalResult SubOp::emitScalarBody(OpBuilder &b, Location loc,
                                    ArrayRef<Value> in,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(Scalar{b, loc}.sub(in[0], in[1]));
  return success();
}

LogicalResult MulOp::emitScalarBody(OpBuilder &b, Location loc,
                                    ArrayRef<Value> in,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(Scalar{b, loc}.mul(in[0], in[1]));
  return success();
}

LogicalResult DivOp::emitScalarBody(OpBuilder &b, Location loc,
                                    ArrayRef<Value> in,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(Scalar{b, loc}.div(in[0], in[1]));
  return success();
}

SmallVector<Access> ScaleColsOp::getOperandAccess() {
  return {Access::Elem, Access::Col};
}
SmallVector<Access> ScaleColsOp::getResultAccess() { return elems(1); }
LogicalResult ScaleColsOp::emitScalarBody(OpBuilder &b, Location loc,
                                          ArrayRef<Value> in,
                                          SmallVectorImpl<Value> &out) {
  out.push_back(Scalar{b, loc}.mul(in[0], in[1]));
  return success();
}

LogicalResult ScaleOp::emitScalarBody(OpBuilder &b, Location loc,
                                      ArrayRef<Value> in,
                                      SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  out.push_back(s.mul(in[0], s.c(getFactor().convertToDouble())));
  return success();
}

SmallVector<Access> ScaleByOp::getOperandAccess() {
  return {Access::Elem, Access::Scalar};
}
SmallVector<Access> ScaleByOp::getResultAccess() { return elems(1); }
LogicalResult ScaleByOp::emitScalarBody(OpBuilder &b, Location loc,
                                        ArrayRef<Value> in,
                                        SmallVectorImpl<Value> &out) {
  out.push_back(Scalar{b, loc}.mul(in[0], in[1]));
  return success();
}

SmallVector<Access> MaskRowsOp::getOperandAccess() {
  return {Access::Elem, Access::Row};
}
SmallVector<Access> MaskRowsOp::getResultAccess() { return elems(1); }
LogicalResult MaskRowsOp::emitScalarBody(OpBuilder &b, Location loc,
                                         ArrayRef<Value> in,
                                         SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value masked = s.notEqual(in[1], s.c(0.0));
  out.push_back(getKeep() ? s.select(masked, in[0], s.c(0.0))
                          : s.select(masked, s.c(0.0), in[0]));
  return success();
}

LogicalResult AbsOp::emitScalarBody(OpBuilder &b, Location loc,
                                    ArrayRef<Value> in,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(Scalar{b, loc}.abs(in[0]));
  return success();
}

LogicalResult AbsGradOp::emitScalarBody(OpBuilder &b, Location loc,
                                        ArrayRef<Value> in,
                                        SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value dy = in[0], x = in[1], zero = s.c(0.0);
  out.push_back(s.select(s.greater(x, zero), dy,
                         s.select(s.greater(zero, x), s.neg(dy), zero)));
  return success();
}

LogicalResult SiluOp::emitScalarBody(OpBuilder &b, Location loc,
                                     ArrayRef<Value> in,
                                     SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  out.push_back(s.mul(in[0], s.sigmoid(in[0])));
  return success();
}

LogicalResult GeluOp::emitScalarBody(OpBuilder &b, Location loc,
                                     ArrayRef<Value> in,
                                     SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value x = in[0];
  Value x3 = s.mul(s.mul(x, x), x);
  Value inner = s.mul(s.c(kGeluC), s.add(x, s.mul(s.c(kGeluA), x3)));
  out.push_back(s.mul(s.mul(s.c(0.5), x), s.add(s.c(1.0), s.tanh(inner))));
  return success();
}

LogicalResult SiluGradOp::emitScalarBody(OpBuilder &b, Location loc,
                                         ArrayRef<Value> in,
                                         SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value dy = in[0], x = in[1];
  Value sig = s.sigmoid(x);
  // d/dx x*sig(x) = sig * (1 + x * (1 - sig))
  Value d = s.mul(sig, s.add(s.c(1.0), s.mul(x, s.sub(s.c(1.0), sig))));
  out.push_back(s.mul(dy, d));
  return success();
}

LogicalResult GeluGradOp::emitScalarBody(OpBuilder &b, Location loc,
                                         ArrayRef<Value> in,
                                         SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value dy = in[0], x = in[1];
  Value x2 = s.mul(x, x);
  Value inner = s.mul(s.c(kGeluC), s.add(x, s.mul(s.c(kGeluA), s.mul(x2, x))));
  Value t = s.tanh(inner);
  Value dinner =
      s.mul(s.c(kGeluC), s.add(s.c(1.0), s.mul(s.c(3 * kGeluA), x2)));
  Value d = s.add(
      s.mul(s.c(0.5), s.add(s.c(1.0), t)),
      s.mul(s.mul(s.mul(s.c(0.5), x), s.sub(s.c(1.0), s.mul(t, t))), dinner));
  out.push_back(s.mul(dy, d));
  return success();
}

SmallVector<Access> BroadcastOp::getOperandAccess() { return {Access::Scalar}; }
SmallVector<Access> BroadcastOp::getResultAccess() { return elems(1); }
LogicalResult BroadcastOp::emitScalarBody(OpBuilder &b, Location loc,
                                          ArrayRef<Value> in,
                                          SmallVectorImpl<Value> &out) {
  out.push_back(in[0]);
  return success();
}

SmallVector<Access> ColumnSumOp::getOperandAccess() { return elems(1); }
SmallVector<Access> ColumnSumOp::getResultAccess() { return {Access::ColSum}; }
LogicalResult ColumnSumOp::emitScalarBody(OpBuilder &b, Location loc,
                                          ArrayRef<Value> in,
                                          SmallVectorImpl<Value> &out) {
  out.push_back(in[0]);
  return success();
}

//===----------------------------------------------------------------------===//
// Norms: row reductions
//===----------------------------------------------------------------------===//

static double colsOf(Value v) {
  return double(rowsAndCols(v.getType()).second);
}

SmallVector<Access> RmsNormOp::getOperandAccess() {
  return {Access::Elem, Access::Col};
}
SmallVector<Access> RmsNormOp::getResultAccess() { return elems(1); }
LogicalResult RmsNormOp::emitScalarBody(OpBuilder &b, Location loc,
                                        ArrayRef<Value> in,
                                        SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value x = in[0], w = in[1];
  Value meanSq = s.mul(s.rowSum(s.mul(x, x)), s.c(1.0 / colsOf(getX())));
  Value r = s.rsqrt(s.add(meanSq, s.c(getEps().convertToDouble())));
  out.push_back(s.mul(s.mul(x, r), w));
  return success();
}

SmallVector<Access> RmsNormGradOp::getOperandAccess() {
  return {Access::Elem, Access::Elem, Access::Col};
}
SmallVector<Access> RmsNormGradOp::getResultAccess() {
  return {Access::Elem, Access::ColSum};
}
LogicalResult RmsNormGradOp::emitScalarBody(OpBuilder &b, Location loc,
                                            ArrayRef<Value> in,
                                            SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value dy = in[0], x = in[1], w = in[2];
  double invC = 1.0 / colsOf(getX());
  Value r = s.rsqrt(s.add(s.mul(s.rowSum(s.mul(x, x)), s.c(invC)),
                          s.c(getEps().convertToDouble())));
  Value xhat = s.mul(x, r);
  Value g = s.mul(w, dy);
  Value dot = s.mul(s.rowSum(s.mul(g, xhat)), s.c(invC));
  out.push_back(s.mul(r, s.sub(g, s.mul(xhat, dot))));
  out.push_back(s.mul(dy, xhat));
  return success();
}

SmallVector<Access> LayerNormOp::getOperandAccess() {
  return {Access::Elem, Access::Col, Access::Col};
}
SmallVector<Access> LayerNormOp::getResultAccess() { return elems(1); }
LogicalResult LayerNormOp::emitScalarBody(OpBuilder &b, Location loc,
                                          ArrayRef<Value> in,
                                          SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value x = in[0], w = in[1], bias = in[2];
  Value invC = s.c(1.0 / colsOf(getX()));
  Value mean = s.mul(s.rowSum(x), invC);
  Value d = s.sub(x, mean);
  Value var = s.mul(s.rowSum(s.mul(d, d)), invC);
  Value r = s.rsqrt(s.add(var, s.c(getEps().convertToDouble())));
  out.push_back(s.add(s.mul(s.mul(d, r), w), bias));
  return success();
}

SmallVector<Access> LayerNormGradOp::getOperandAccess() {
  return {Access::Elem, Access::Elem, Access::Col};
}
SmallVector<Access> LayerNormGradOp::getResultAccess() {
  return {Access::Elem, Access::ColSum, Access::ColSum};
}
LogicalResult LayerNormGradOp::emitScalarBody(OpBuilder &b, Location loc,
                                              ArrayRef<Value> in,
                                              SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value dy = in[0], x = in[1], w = in[2];
  Value invC = s.c(1.0 / colsOf(getX()));
  Value mean = s.mul(s.rowSum(x), invC);
  Value d = s.sub(x, mean);
  Value var = s.mul(s.rowSum(s.mul(d, d)), invC);
  Value r = s.rsqrt(s.add(var, s.c(getEps().convertToDouble())));
  Value xhat = s.mul(d, r);
  Value g = s.mul(w, dy);
  Value meanG = s.mul(s.rowSum(g), invC);
  Value meanGX = s.mul(s.rowSum(s.mul(g, xhat)), invC);
  out.push_back(s.mul(r, s.sub(s.sub(g, meanG), s.mul(xhat, meanGX))));
  out.push_back(s.mul(dy, xhat));
  out.push_back(dy);
  return success();
}

//===----------------------------------------------------------------------===//
// Optimizers
//===----------------------------------------------------------------------===//

SmallVector<Access> AdamWOp::getOperandAccess() {
  SmallVector<Access> access = {Access::Elem,  Access::Elem,   Access::Elem,
                                Access::Elem,  Access::Scalar, Access::Scalar,
                                Access::Scalar};
  if (getLrScale())
    access.push_back(Access::Scalar);
  return access;
}
SmallVector<Access> AdamWOp::getResultAccess() { return elems(3); }
LogicalResult AdamWOp::emitScalarBody(OpBuilder &b, Location loc,
                                      ArrayRef<Value> in,
                                      SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value p = in[0], g = in[1], m = in[2], v = in[3], lr = in[4], bc1 = in[5],
        bc2 = in[6];
  // A per-tensor scale multiplies the learning rate (1.0 * lr is lr
  // exactly, so an unscaled tensor steps bitwise as without the scale).
  Value scale = getLrScale() ? in[7] : Value();
  if (scale)
    lr = s.mul(lr, scale);
  double b1 = getBeta1().convertToDouble(), b2 = getBeta2().convertToDouble();
  // Decoupled weight decay first, as torch.optim.AdamW does.
  Value decayed = s.sub(p, s.mul(s.mul(lr, s.c(getWd().convertToDouble())), p));
  Value m2 = s.add(s.mul(s.c(b1), m), s.mul(s.c(1.0 - b1), g));
  Value v2 = s.add(s.mul(s.c(b2), v), s.mul(s.c(1.0 - b2), s.mul(g, g)));
  Value denom =
      s.add(s.div(s.sqrt(v2), s.sqrt(bc2)), s.c(getEps().convertToDouble()));
  Value stepSize = s.div(lr, bc1);
  Value p2 = s.sub(decayed, s.mul(stepSize, s.div(m2, denom)));
  if (scale) {
    // Scale 0: the tensor sits the step out; parameter and moments stay
    // bitwise as they were (a frozen half in half fine-tuning).
    Value live = s.notEqual(scale, s.c(0.0));
    p2 = s.select(live, p2, p);
    m2 = s.select(live, m2, m);
    v2 = s.select(live, v2, v);
  }
  out.push_back(p2);
  out.push_back(m2);
  out.push_back(v2);
  return success();
}

SmallVector<Access> SgdOp::getOperandAccess() {
  SmallVector<Access> access = {Access::Elem, Access::Elem, Access::Elem,
                                Access::Scalar};
  if (getLrScale())
    access.push_back(Access::Scalar);
  return access;
}
SmallVector<Access> SgdOp::getResultAccess() { return elems(2); }
LogicalResult SgdOp::emitScalarBody(OpBuilder &b, Location loc,
                                    ArrayRef<Value> in,
                                    SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value p = in[0], g = in[1], buf = in[2], lr = in[3];
  Value scale = getLrScale() ? in[4] : Value();
  if (scale)
    lr = s.mul(lr, scale);
  Value gd = s.add(g, s.mul(s.c(getWd().convertToDouble()), p));
  Value buf2 = s.add(s.mul(s.c(getMomentum().convertToDouble()), buf), gd);
  Value p2 = s.sub(p, s.mul(lr, buf2));
  if (scale) {
    Value live = s.notEqual(scale, s.c(0.0));
    p2 = s.select(live, p2, p);
    buf2 = s.select(live, buf2, buf);
  }
  out.push_back(p2);
  out.push_back(buf2);
  return success();
}

//===----------------------------------------------------------------------===//
// Preference and unlikelihood losses
//===----------------------------------------------------------------------===//

LogicalResult PreferenceLossOp::emitScalarBody(OpBuilder &b, Location loc,
                                               ArrayRef<Value> in,
                                               SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  double beta = getBeta().convertToDouble();
  double ls = getLabelSmoothing().convertToDouble();
  Value h = in[0];
  Value u = s.mul(s.c(beta), h);
  StringRef kind = getKind();
  if (kind == "ipo") {
    Value d = s.sub(h, s.c(1.0 / (2.0 * beta)));
    out.push_back(s.mul(d, d));
  } else if (kind == "hinge") {
    out.push_back(s.max(s.c(0.0), s.sub(s.c(1.0), u)));
  } else {
    Value loss = s.neg(s.mul(s.c(1.0 - ls), s.logSigmoid(u)));
    if (ls != 0)
      loss = s.sub(loss, s.mul(s.c(ls), s.logSigmoid(s.neg(u))));
    out.push_back(loss);
  }
  return success();
}

LogicalResult
PreferenceLossGradOp::emitScalarBody(OpBuilder &b, Location loc,
                                     ArrayRef<Value> in,
                                     SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  double beta = getBeta().convertToDouble();
  double ls = getLabelSmoothing().convertToDouble();
  Value dy = in[0], h = in[1];
  Value u = s.mul(s.c(beta), h);
  StringRef kind = getKind();
  Value d;
  if (kind == "ipo") {
    d = s.mul(s.c(2.0), s.sub(h, s.c(1.0 / (2.0 * beta))));
  } else if (kind == "hinge") {
    d = s.select(s.greater(s.sub(s.c(1.0), u), s.c(0.0)), s.c(-beta), s.c(0.0));
  } else {
    // d/du [-(1-ls) log sig(u) - ls log sig(-u)] = -(1-ls) sig(-u) + ls sig(u)
    d = s.mul(s.c(-(1.0 - ls)), s.sigmoid(s.neg(u)));
    if (ls != 0)
      d = s.add(d, s.mul(s.c(ls), s.sigmoid(u)));
    d = s.mul(s.c(beta), d);
  }
  out.push_back(s.mul(dy, d));
  return success();
}

static constexpr double kUnlikelihoodFloor = 1e-5;

LogicalResult UnlikelihoodOp::emitScalarBody(OpBuilder &b, Location loc,
                                             ArrayRef<Value> in,
                                             SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value q = s.sub(s.c(1.0), s.exp(s.neg(in[0])));
  out.push_back(s.neg(s.log(s.max(q, s.c(kUnlikelihoodFloor)))));
  return success();
}

LogicalResult UnlikelihoodGradOp::emitScalarBody(OpBuilder &b, Location loc,
                                                 ArrayRef<Value> in,
                                                 SmallVectorImpl<Value> &out) {
  Scalar s{b, loc};
  Value dy = in[0];
  Value p = s.exp(s.neg(in[1]));
  Value q = s.sub(s.c(1.0), p);
  // d/dx -log(1 - exp(-x)) = -p / (1 - p); zero where the floor applies.
  Value d =
      s.select(s.greater(q, s.c(kUnlikelihoodFloor)),
               s.neg(s.div(p, s.max(q, s.c(kUnlikelihoodFloor)))), s.c(0.0));
  out.push_back(s.mul(dy, d));
  return success();
}
