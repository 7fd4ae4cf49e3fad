//===- InterpretedKernels.cpp - Fused groups, interpreted -----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/InterpretedKernels.h"

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"

#include <cmath>
#include <vector>

using namespace ftl::rt;
using namespace mlir;

namespace {
enum class Code {
  Arg,
  Const,
  Add,
  Sub,
  Mul,
  Div,
  Neg,
  Exp,
  Log,
  Tanh,
  Sqrt,
  Rsqrt,
  Max,
  Min,
  Log1p,
  Abs,
  Cmp,    ///< 1.0 where the predicate holds, else 0.0
  Select, ///< a != 0 ? b : c
  RowSum,
  RowMax,
};
struct Step {
  Code code;
  int a = -1, b = -1; ///< operand registers
  double constant = 0;
  int arg = -1;
  int c = -1; ///< third operand (select)
  arith::CmpFPredicate predicate = arith::CmpFPredicate::OGT;
};

bool compare(arith::CmpFPredicate p, double x, double y) {
  using P = arith::CmpFPredicate;
  bool unordered = std::isnan(x) || std::isnan(y);
  switch (p) {
  case P::OGT: return !unordered && x > y;
  case P::OGE: return !unordered && x >= y;
  case P::OLT: return !unordered && x < y;
  case P::OLE: return !unordered && x <= y;
  case P::OEQ: return !unordered && x == y;
  case P::ONE: return !unordered && x != y;
  case P::UGT: return unordered || x > y;
  case P::UGE: return unordered || x >= y;
  case P::ULT: return unordered || x < y;
  case P::ULE: return unordered || x <= y;
  case P::UEQ: return unordered || x == y;
  case P::UNE: return unordered || x != y;
  case P::ORD: return !unordered;
  case P::UNO: return unordered;
  case P::AlwaysTrue: return true;
  case P::AlwaysFalse: return false;
  }
  return false;
}
} // namespace

struct InterpretedKernels::Group {
  int64_t cols = 0;
  std::vector<Step> steps;         ///< one register per step
  std::vector<std::string> inAccess;
  std::vector<std::string> outAccess;
  std::vector<int> outputs;        ///< registers yielded
};

InterpretedKernels::~InterpretedKernels() = default;

/// The entry point: buffers[-1] is the Group.
static void interpretRows(void **buffers, int64_t rowBegin, int64_t rowEnd);

llvm::Expected<std::unique_ptr<InterpretedKernels>>
InterpretedKernels::create(ModuleOp module) {
  auto kernels = std::make_unique<InterpretedKernels>();
  llvm::Error error = llvm::Error::success();
  module.walk([&](ftlt::FusedOp op) {
    if (error)
      return;
    auto group = std::make_unique<Group>();
    group->cols = op.getCols();
    for (Attribute a : op.getInputAccess())
      group->inAccess.push_back(cast<StringAttr>(a).getValue().str());
    for (Attribute a : op.getResultAccess())
      group->outAccess.push_back(cast<StringAttr>(a).getValue().str());
    llvm::DenseMap<Value, int> reg;
    Block &block = op.getBody().front();
    for (BlockArgument arg : block.getArguments()) {
      Step s;
      s.code = Code::Arg;
      s.arg = arg.getArgNumber();
      reg[arg] = group->steps.size();
      group->steps.push_back(s);
    }
    for (Operation &inner : block) {
      if (auto yield = dyn_cast<ftlt::FusedYieldOp>(inner)) {
        for (Value v : yield.getValues())
          group->outputs.push_back(reg.lookup(v));
        continue;
      }
      Step s;
      auto operand = [&](unsigned i) { return reg.lookup(inner.getOperand(i)); };
      if (auto c = dyn_cast<arith::ConstantOp>(inner)) {
        s.code = Code::Const;
        s.constant = cast<FloatAttr>(c.getValue()).getValueAsDouble();
      } else if (isa<arith::AddFOp>(inner)) {
        s = {Code::Add, operand(0), operand(1)};
      } else if (isa<arith::SubFOp>(inner)) {
        s = {Code::Sub, operand(0), operand(1)};
      } else if (isa<arith::MulFOp>(inner)) {
        s = {Code::Mul, operand(0), operand(1)};
      } else if (isa<arith::DivFOp>(inner)) {
        s = {Code::Div, operand(0), operand(1)};
      } else if (isa<arith::MaximumFOp, arith::MaxNumFOp>(inner)) {
        s = {Code::Max, operand(0), operand(1)};
      } else if (isa<arith::MinimumFOp, arith::MinNumFOp>(inner)) {
        s = {Code::Min, operand(0), operand(1)};
      } else if (isa<arith::NegFOp>(inner)) {
        s = {Code::Neg, operand(0)};
      } else if (isa<math::ExpOp>(inner)) {
        s = {Code::Exp, operand(0)};
      } else if (isa<math::LogOp>(inner)) {
        s = {Code::Log, operand(0)};
      } else if (isa<math::TanhOp>(inner)) {
        s = {Code::Tanh, operand(0)};
      } else if (isa<math::SqrtOp>(inner)) {
        s = {Code::Sqrt, operand(0)};
      } else if (isa<math::RsqrtOp>(inner)) {
        s = {Code::Rsqrt, operand(0)};
      } else if (isa<math::Log1pOp>(inner)) {
        s = {Code::Log1p, operand(0)};
      } else if (isa<math::AbsFOp>(inner)) {
        s = {Code::Abs, operand(0)};
      } else if (auto cmp = dyn_cast<arith::CmpFOp>(inner)) {
        s = {Code::Cmp, operand(0), operand(1)};
        s.predicate = cmp.getPredicate();
      } else if (isa<arith::SelectOp>(inner)) {
        s = {Code::Select, operand(1), operand(2)};
        s.c = operand(0);
      } else if (auto r = dyn_cast<ftlt::RowReduceOp>(inner)) {
        s = {r.getKind() == "sum" ? Code::RowSum : Code::RowMax, operand(0)};
      } else {
        error = llvm::createStringError("the fused-group interpreter cannot "
                                        "run '" +
                                        inner.getName().getStringRef().str() +
                                        "'");
        return;
      }
      reg[inner.getResult(0)] = group->steps.size();
      group->steps.push_back(s);
    }
    kernels->groups[op] = std::move(group);
  });
  if (error)
    return std::move(error);
  return kernels;
}

FusedKernel InterpretedKernels::lookup(ftlt::FusedOp op) const {
  auto it = groups.find(op.getOperation());
  if (it == groups.end())
    return {};
  return {interpretRows, it->second.get()};
}

static void interpretRows(void **buffers, int64_t rowBegin, int64_t rowEnd) {
  auto *group = static_cast<InterpretedKernels::Group *>(buffers[-1]);
  const size_t nIn = group->inAccess.size();
  const int64_t cols = group->cols;
  std::vector<std::vector<double>> regs(group->steps.size(),
                                        std::vector<double>(cols));
  for (int64_t row = rowBegin; row < rowEnd; ++row) {
    for (size_t r = 0; r < group->steps.size(); ++r) {
      const Step &s = group->steps[r];
      std::vector<double> &out = regs[r];
      auto A = [&](int64_t j) { return regs[s.a][j]; };
      auto B = [&](int64_t j) { return regs[s.b][j]; };
      switch (s.code) {
      case Code::Arg: {
        const float *base = static_cast<const float *>(buffers[s.arg]);
        const std::string &access = group->inAccess[s.arg];
        if (access == "elem")
          for (int64_t j = 0; j < cols; ++j)
            out[j] = base[row * cols + j];
        else if (access == "col")
          for (int64_t j = 0; j < cols; ++j)
            out[j] = base[j];
        else
          std::fill(out.begin(), out.end(),
                    access == "row" ? base[row] : base[0]);
        break;
      }
      case Code::Const:
        std::fill(out.begin(), out.end(), s.constant);
        break;
      case Code::RowSum: {
        double sum = 0;
        for (int64_t j = 0; j < cols; ++j)
          sum += A(j);
        std::fill(out.begin(), out.end(), sum);
        break;
      }
      case Code::RowMax: {
        double max = -INFINITY;
        for (int64_t j = 0; j < cols; ++j)
          max = std::max(max, A(j));
        std::fill(out.begin(), out.end(), max);
        break;
      }
      default:
        for (int64_t j = 0; j < cols; ++j) {
          switch (s.code) {
          case Code::Add:
            out[j] = A(j) + B(j);
            break;
          case Code::Sub:
            out[j] = A(j) - B(j);
            break;
          case Code::Mul:
            out[j] = A(j) * B(j);
            break;
          case Code::Div:
            out[j] = A(j) / B(j);
            break;
          case Code::Max:
            out[j] = std::max(A(j), B(j));
            break;
          case Code::Min:
            out[j] = std::min(A(j), B(j));
            break;
          case Code::Neg:
            out[j] = -A(j);
            break;
          case Code::Exp:
            out[j] = std::exp(A(j));
            break;
          case Code::Log:
            out[j] = std::log(A(j));
            break;
          case Code::Tanh:
            out[j] = std::tanh(A(j));
            break;
          case Code::Sqrt:
            out[j] = std::sqrt(A(j));
            break;
          case Code::Rsqrt:
            out[j] = 1.0 / std::sqrt(A(j));
            break;
          case Code::Log1p:
            out[j] = std::log1p(A(j));
            break;
          case Code::Abs:
            out[j] = std::fabs(A(j));
            break;
          case Code::Cmp:
            out[j] = compare(s.predicate, A(j), B(j)) ? 1.0 : 0.0;
            break;
          case Code::Select:
            out[j] = regs[s.c][j] != 0 ? A(j) : B(j);
            break;
          default:
            break;
          }
        }
      }
    }
    for (size_t o = 0; o < group->outputs.size(); ++o) {
      float *base = static_cast<float *>(buffers[nIn + o]);
      const std::vector<double> &v = regs[group->outputs[o]];
      const std::string &access = group->outAccess[o];
      if (access == "elem") {
        for (int64_t j = 0; j < cols; ++j)
          base[row * cols + j] = float(v[j]);
      } else if (access == "row") {
        base[row] = float(v[0]);
      } else { // colsum: the partial covers [rowBegin, rowEnd)
        for (int64_t j = 0; j < cols; ++j)
          base[j] = row == rowBegin ? float(v[j]) : base[j] + float(v[j]);
      }
    }
  }
}
