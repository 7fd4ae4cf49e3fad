//===- Interpreter.cpp - Reference semantics of ftlt.fused ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Row by row, every body op is evaluated at every column in block order, in
// double precision, with the C library's math functions. No staging, no
// approximations: the code generators are checked against this.
//
//===----------------------------------------------------------------------===//

#include "ftl/Codegen/Interpreter.h"

#include "FusedPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>
#include <vector>

using namespace mlir;
using namespace mlir::ftlt;

namespace ftl::codegen {

static bool comparePredicate(arith::CmpFPredicate predicate, double a,
                             double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  using P = arith::CmpFPredicate;
  switch (predicate) {
  case P::AlwaysFalse:
    return false;
  case P::AlwaysTrue:
    return true;
  case P::OEQ:
    return !unordered && a == b;
  case P::OGT:
    return !unordered && a > b;
  case P::OGE:
    return !unordered && a >= b;
  case P::OLT:
    return !unordered && a < b;
  case P::OLE:
    return !unordered && a <= b;
  case P::ONE:
    return !unordered && a != b;
  case P::ORD:
    return !unordered;
  case P::UEQ:
    return unordered || a == b;
  case P::UGT:
    return unordered || a > b;
  case P::UGE:
    return unordered || a >= b;
  case P::ULT:
    return unordered || a < b;
  case P::ULE:
    return unordered || a <= b;
  case P::UNE:
    return unordered || a != b;
  case P::UNO:
    return unordered;
  }
  return false;
}

/// IEEE 754-2019 maximum/minimum: NaN if either is NaN, -0 < +0.
static double maximum(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<double>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

static double minimum(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<double>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

/// One body op at one column; nullopt if the op is not known.
static std::optional<double> evaluate(Operation *op, ArrayRef<double> in) {
  using Result = std::optional<double>;
  return llvm::TypeSwitch<Operation *, Result>(op)
      .Case([&](arith::ConstantOp c) -> Result {
        return cast<FloatAttr>(c.getValue()).getValueAsDouble();
      })
      .Case([&](arith::AddFOp) -> Result { return in[0] + in[1]; })
      .Case([&](arith::SubFOp) -> Result { return in[0] - in[1]; })
      .Case([&](arith::MulFOp) -> Result { return in[0] * in[1]; })
      .Case([&](arith::DivFOp) -> Result { return in[0] / in[1]; })
      .Case([&](arith::NegFOp) -> Result { return -in[0]; })
      .Case([&](arith::MaximumFOp) -> Result { return maximum(in[0], in[1]); })
      .Case([&](arith::MinimumFOp) -> Result { return minimum(in[0], in[1]); })
      .Case([&](arith::MaxNumFOp) -> Result { return std::fmax(in[0], in[1]); })
      .Case([&](arith::MinNumFOp) -> Result { return std::fmin(in[0], in[1]); })
      .Case([&](arith::CmpFOp c) -> Result {
        return comparePredicate(c.getPredicate(), in[0], in[1]) ? 1.0 : 0.0;
      })
      .Case([&](arith::SelectOp) -> Result {
        return in[0] != 0.0 ? in[1] : in[2];
      })
      .Case([&](math::ExpOp) -> Result { return std::exp(in[0]); })
      .Case([&](math::Exp2Op) -> Result { return std::exp2(in[0]); })
      .Case([&](math::ExpM1Op) -> Result { return std::expm1(in[0]); })
      .Case([&](math::LogOp) -> Result { return std::log(in[0]); })
      .Case([&](math::Log2Op) -> Result { return std::log2(in[0]); })
      .Case([&](math::Log1pOp) -> Result { return std::log1p(in[0]); })
      .Case([&](math::TanhOp) -> Result { return std::tanh(in[0]); })
      .Case([&](math::SqrtOp) -> Result { return std::sqrt(in[0]); })
      .Case([&](math::RsqrtOp) -> Result { return 1.0 / std::sqrt(in[0]); })
      .Case([&](math::AbsFOp) -> Result { return std::fabs(in[0]); })
      .Case([&](math::FmaOp) -> Result { return in[0] * in[1] + in[2]; })
      .Case([&](math::ErfOp) -> Result { return std::erf(in[0]); })
      .Case([&](math::SinOp) -> Result { return std::sin(in[0]); })
      .Case([&](math::CosOp) -> Result { return std::cos(in[0]); })
      .Case([&](math::FloorOp) -> Result { return std::floor(in[0]); })
      .Case([&](math::CeilOp) -> Result { return std::ceil(in[0]); })
      .Default([](Operation *) -> Result { return std::nullopt; });
}

llvm::Error interpretFused(FusedOp op, ArrayRef<const float *> inputs,
                           ArrayRef<float *> results) {
  auto plan = planFused(op);
  if (!plan)
    return plan.takeError();
  if (inputs.size() != plan->inputAccess.size() ||
      results.size() != plan->resultAccess.size())
    return opError(
        op, "fused group has " + llvm::Twine(plan->inputAccess.size()) +
                " inputs and " + llvm::Twine(plan->resultAccess.size()) +
                " results; the interpreter got " + llvm::Twine(inputs.size()) +
                " and " + llvm::Twine(results.size()));
  const int64_t rows = op.getRows(), cols = op.getCols();
  Block &block = op.getBody().front();
  auto yield = cast<FusedYieldOp>(block.getTerminator());

  std::vector<std::vector<double>> colsums;
  for (Access access : plan->resultAccess)
    colsums.emplace_back(access == Access::ColSum ? cols : 0, 0.0);

  llvm::DenseMap<Value, std::vector<double>> values;
  for (int64_t r = 0; r < rows; ++r) {
    values.clear();
    for (auto [i, arg] : llvm::enumerate(block.getArguments())) {
      std::vector<double> &v = values[arg];
      v.resize(cols);
      for (int64_t c = 0; c < cols; ++c) {
        switch (plan->inputAccess[i]) {
        case Access::Elem:
          v[c] = inputs[i][r * cols + c];
          break;
        case Access::Col:
          v[c] = inputs[i][c];
          break;
        case Access::Row:
          v[c] = inputs[i][r];
          break;
        default:
          v[c] = inputs[i][0];
          break;
        }
      }
    }
    for (Operation &nested : block.without_terminator()) {
      if (auto reduce = dyn_cast<RowReduceOp>(nested)) {
        const std::vector<double> &in = values[reduce.getValue()];
        bool isMax = reduce.getKind() == "max";
        double acc = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
        for (double x : in)
          acc = isMax ? maximum(acc, x) : acc + x;
        values[reduce.getResult()].assign(cols, acc);
        continue;
      }
      std::vector<double> out(cols);
      SmallVector<double, 4> in(nested.getNumOperands());
      for (int64_t c = 0; c < cols; ++c) {
        for (auto [k, operand] : llvm::enumerate(nested.getOperands()))
          in[k] = values[operand][c];
        std::optional<double> v = evaluate(&nested, in);
        if (!v)
          return opError(&nested, "the interpreter does not know '" +
                                      nested.getName().getStringRef() + "'");
        out[c] = *v;
      }
      values[nested.getResult(0)] = std::move(out);
    }
    for (auto [i, value] : llvm::enumerate(yield.getValues())) {
      const std::vector<double> &v = values[value];
      switch (plan->resultAccess[i]) {
      case Access::Elem:
        for (int64_t c = 0; c < cols; ++c)
          results[i][r * cols + c] = float(v[c]);
        break;
      case Access::Row:
        results[i][r] = float(v[cols - 1]);
        break;
      case Access::ColSum:
        for (int64_t c = 0; c < cols; ++c)
          colsums[i][c] += v[c];
        break;
      default:
        break;
      }
    }
  }
  for (auto [i, access] : llvm::enumerate(plan->resultAccess))
    if (access == Access::ColSum)
      for (int64_t c = 0; c < cols; ++c)
        results[i][c] = float(colsums[i][c]);
  return llvm::Error::success();
}

} // namespace ftl::codegen
