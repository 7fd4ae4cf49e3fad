//===- Program.cpp - Running a compiled step function ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/Program.h"

#include "Dora.h"
#include "SimpleKernels.h"

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Kernels/Attention.h"
#include "ftl/Kernels/Gemm.h"
#include "ftl/Kernels/LinearCrossEntropy.h"
#include "ftl/Kernels/LinearKlDiv.h"
#include "ftl/Kernels/ThreadPool.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

using namespace ftl::rt;
using namespace mlir;
namespace k = ftl::kernels;

FusedKernelProvider::~FusedKernelProvider() = default;

int64_t ValueInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Slots and instructions
//===----------------------------------------------------------------------===//

/// Where a value lives.
struct Program::Slot {
  enum class Kind { Arg, Result, Arena };
  Kind kind = Kind::Arena;
  unsigned index = 0; ///< argument or result number
  size_t offset = 0;  ///< arena offset
  size_t bytes = 0;
  int firstUse = 0, lastUse = 0; ///< instruction indices (arena liveness)
  void *ptr = nullptr;           ///< resolved before each run
};

struct Program::Instruction {
  enum class Kind {
    Embedding,
    EmbeddingGrad,
    Linear,
    LinearGradInput,
    LinearGradWeight,
    Rope,
    RopeGrad,
    Attention,
    AttentionGrad,
    CrossEntropy,
    CrossEntropyGrad,
    LinearCrossEntropy,
    LinearCrossEntropyGrad,
    TokenNll,
    LinearTokenNll,
    LinearKl,
    LinearKlGrad,
    DoraNorm,
    Dropout,
    SeqSum,
    SeqExpand,
    PairDiff,
    PairSpread,
    Sum,
    SquaredNorm,
    Fused,
    Fill,
    Copy,
  };
  Kind kind;
  std::string name;
  std::vector<int> in;  ///< operand slots (-1 = absent)
  std::vector<int> out; ///< result slots
  int64_t d[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  double f[2] = {0, 0};
  // Fused groups.
  FusedKernel fused;
  std::vector<FusedAccess> inAccess, outAccess;
  std::vector<float> scratch; ///< colsum partials, CE per-token buffers
};

Program::Program() = default;

Program::~Program() { std::free(arena); }

static ValueInfo infoOf(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  ValueInfo info;
  info.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  info.isInt = tensor.getElementType().isInteger(32);
  return info;
}

static size_t bytesOf(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  return size_t(tensor.getNumElements()) * 4;
}

static FusedAccess toAccess(Attribute attr) {
  StringRef text = cast<StringAttr>(attr).getValue();
  return text == "elem"     ? FusedAccess::Elem
         : text == "col"    ? FusedAccess::Col
         : text == "row"    ? FusedAccess::Row
         : text == "scalar" ? FusedAccess::Scalar
                            : FusedAccess::ColSum;
}

llvm::Expected<std::unique_ptr<Program>>
Program::build(func::FuncOp fn, const FusedKernelProvider &kernels,
               k::ThreadPool *pool) {
  std::unique_ptr<Program> program(new Program());
  Program &p = *program;
  p.pool = pool ? pool : k::defaultPool();
  Block &body = fn.getBody().front();
  llvm::DenseMap<Value, int> slotOf;

  for (BlockArgument arg : body.getArguments()) {
    ValueInfo info = infoOf(arg.getType());
    unsigned i = arg.getArgNumber();
    if (auto a = fn.getArgAttrOfType<StringAttr>(i, "ftl.param"))
      info.param = a.getValue().str();
    if (auto a = fn.getArgAttrOfType<StringAttr>(i, "ftl.batch"))
      info.batch = a.getValue().str();
    if (auto a = fn.getArgAttrOfType<StringAttr>(i, "ftl.grad_acc"))
      info.gradAcc = a.getValue().str();
    info.trainable = bool(fn.getArgAttr(i, "ftl.trainable"));
    p.args.push_back(info);
    Slot slot;
    slot.kind = Slot::Kind::Arg;
    slot.index = i;
    slot.bytes = info.bytes();
    slotOf[arg] = p.slots.size();
    p.slots.push_back(slot);
  }

  auto ret = cast<func::ReturnOp>(body.getTerminator());
  // A value returned once, and produced by an op here, is written straight
  // into the caller's result memory.
  llvm::DenseMap<Value, unsigned> returnedAt;
  llvm::DenseMap<Value, unsigned> returnCount;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    p.resultInfos.push_back(infoOf(v.getType()));
    ++returnCount[v];
    returnedAt.try_emplace(v, i);
  }

  auto newSlot = [&](Value v) -> int {
    Slot slot;
    slot.bytes = bytesOf(v.getType());
    auto it = returnedAt.find(v);
    if (it != returnedAt.end() && returnCount[v] == 1 &&
        !isa<BlockArgument>(v)) {
      slot.kind = Slot::Kind::Result;
      slot.index = it->second;
    } else {
      slot.kind = Slot::Kind::Arena;
      slot.firstUse = int(p.instructions.size());
      slot.lastUse = slot.firstUse;
      p.unplannedSize += slot.bytes;
    }
    slotOf[v] = p.slots.size();
    p.slots.push_back(slot);
    return int(p.slots.size() - 1);
  };
  auto use = [&](Value v) -> int {
    if (!v)
      return -1;
    int s = slotOf.lookup(v);
    Slot &slot = p.slots[s];
    if (slot.kind == Slot::Kind::Arena)
      slot.lastUse = std::max<int>(slot.lastUse, int(p.instructions.size()));
    return s;
  };
  auto dims = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  };

  for (Operation &opRef : body.without_terminator()) {
    Operation *op = &opRef;
    Instruction inst;
    inst.name = op->getName().getStringRef().str();
    using K = Instruction::Kind;
    LogicalResult ok = success();
    // T, D, V, chunk and the reference's D of a KL op or its gradient.
    auto setKlDims = [&](auto o) {
      inst.d[0] = dims(o.getHidden())[0];
      inst.d[1] = dims(o.getHidden())[1];
      inst.d[2] = dims(o.getWeight())[0];
      inst.d[3] = o.getChunk();
      inst.d[4] = dims(o.getRefHidden())[1];
      inst.scratch.assign(size_t(inst.d[0]), 0.0f);
    };
    llvm::TypeSwitch<Operation *>(op)
        .Case([&](ftlt::EmbeddingOp o) {
          inst.kind = K::Embedding;
          inst.in = {use(o.getTable()), use(o.getIds())};
          inst.d[0] = dims(o.getIds())[0];
          inst.d[1] = dims(o.getTable())[1];
          inst.d[2] = dims(o.getTable())[0];
        })
        .Case([&](ftlt::EmbeddingGradOp o) {
          inst.kind = K::EmbeddingGrad;
          inst.in = {use(o.getDy()), use(o.getIds())};
          inst.d[0] = dims(o.getIds())[0];
          inst.d[1] = dims(o.getDy())[1];
          inst.d[2] = dims(o.getResult())[0];
        })
        .Case([&](ftlt::LinearOp o) {
          inst.kind = K::Linear;
          inst.in = {use(o.getX()), use(o.getWeight()), use(o.getBias())};
          inst.d[0] = dims(o.getX())[0];
          inst.d[1] = dims(o.getWeight())[0];
          inst.d[2] = dims(o.getX())[1];
        })
        .Case([&](ftlt::LinearGradInputOp o) {
          inst.kind = K::LinearGradInput;
          inst.in = {use(o.getDy()), use(o.getWeight())};
          inst.d[0] = dims(o.getDy())[0];
          inst.d[1] = dims(o.getWeight())[0];
          inst.d[2] = dims(o.getWeight())[1];
        })
        .Case([&](ftlt::LinearGradWeightOp o) {
          inst.kind = K::LinearGradWeight;
          inst.in = {use(o.getDy()), use(o.getX()), use(o.getAccumulate())};
          inst.d[0] = dims(o.getDy())[0];
          inst.d[1] = dims(o.getDy())[1];
          inst.d[2] = dims(o.getX())[1];
        })
        .Case([&](ftlt::RopeOp o) {
          inst.kind = K::Rope;
          inst.in = {use(o.getX()), use(o.getPositions())};
          inst.d[0] = dims(o.getX())[0];
          inst.d[1] = dims(o.getX())[1] / o.getHeadDim();
          inst.d[2] = o.getHeadDim();
          inst.f[0] = o.getTheta().convertToDouble();
        })
        .Case([&](ftlt::RopeGradOp o) {
          inst.kind = K::RopeGrad;
          inst.in = {use(o.getDy()), use(o.getPositions())};
          inst.d[0] = dims(o.getDy())[0];
          inst.d[1] = dims(o.getDy())[1] / o.getHeadDim();
          inst.d[2] = o.getHeadDim();
          inst.f[0] = o.getTheta().convertToDouble();
        })
        .Case([&](ftlt::AttentionOp o) {
          inst.kind = K::Attention;
          inst.in = {use(o.getQ()), use(o.getK()), use(o.getV()),
                     use(o.getSegments())};
          inst.d[0] = o.getBatch();
          inst.d[1] = o.getSeq();
          inst.d[2] = o.getHeads();
          inst.d[3] = o.getKvHeads();
          inst.d[4] = o.getHeadDim();
        })
        .Case([&](ftlt::AttentionGradOp o) {
          inst.kind = K::AttentionGrad;
          inst.in = {use(o.getDout()),    use(o.getQ()),   use(o.getK()),
                     use(o.getV()),       use(o.getOut()), use(o.getLse()),
                     use(o.getSegments())};
          inst.d[0] = o.getBatch();
          inst.d[1] = o.getSeq();
          inst.d[2] = o.getHeads();
          inst.d[3] = o.getKvHeads();
          inst.d[4] = o.getHeadDim();
        })
        .Case([&](ftlt::CrossEntropyOp o) {
          inst.kind = K::CrossEntropy;
          inst.in = {use(o.getLogits()), use(o.getTargets()),
                     use(o.getWeights())};
          inst.d[0] = dims(o.getLogits())[0];
          inst.d[1] = dims(o.getLogits())[1];
        })
        .Case([&](ftlt::CrossEntropyGradOp o) {
          inst.kind = K::CrossEntropyGrad;
          inst.in = {use(o.getDloss()), use(o.getLogits()), use(o.getTargets()),
                     use(o.getWeights()), use(o.getLse())};
          inst.d[0] = dims(o.getLogits())[0];
          inst.d[1] = dims(o.getLogits())[1];
        })
        .Case([&](ftlt::LinearCrossEntropyOp o) {
          inst.kind = K::LinearCrossEntropy;
          inst.in = {use(o.getHidden()), use(o.getWeight()),
                     use(o.getTargets()), use(o.getWeights())};
          inst.d[0] = dims(o.getHidden())[0];
          inst.d[1] = dims(o.getHidden())[1];
          inst.d[2] = dims(o.getWeight())[0];
          inst.d[3] = o.getChunk();
          inst.scratch.assign(size_t(inst.d[0]) * 2, 0.0f);
        })
        .Case([&](ftlt::TokenNllOp o) {
          inst.kind = K::TokenNll;
          inst.in = {use(o.getLogits()), use(o.getTargets())};
          inst.d[0] = dims(o.getLogits())[0];
          inst.d[1] = dims(o.getLogits())[1];
        })
        .Case([&](ftlt::LinearTokenNllOp o) {
          inst.kind = K::LinearTokenNll;
          inst.in = {use(o.getHidden()), use(o.getWeight()),
                     use(o.getTargets())};
          inst.d[0] = dims(o.getHidden())[0];
          inst.d[1] = dims(o.getHidden())[1];
          inst.d[2] = dims(o.getWeight())[0];
          inst.d[3] = o.getChunk();
        })
        .Case([&](ftlt::LinearKlOp o) {
          inst.kind = K::LinearKl;
          inst.in = {use(o.getHidden()), use(o.getWeight()),
                     use(o.getRefHidden()), use(o.getRefWeight()),
                     use(o.getWeights())};
          setKlDims(o);
        })
        .Case([&](ftlt::LinearKlGradOp o) {
          inst.kind = K::LinearKlGrad;
          inst.in = {use(o.getDloss()),     use(o.getHidden()),
                     use(o.getWeight()),    use(o.getRefHidden()),
                     use(o.getRefWeight()), use(o.getWeights()),
                     use(o.getLse()),       use(o.getRefLse())};
          setKlDims(o);
        })
        .Case([&](ftlt::DoraNormOp o) {
          inst.kind = K::DoraNorm;
          inst.in = {use(o.getWeight()), use(o.getA()), use(o.getB())};
          inst.d[0] = dims(o.getWeight())[0];
          inst.d[1] = dims(o.getWeight())[1];
          inst.d[2] = dims(o.getA())[0];
          inst.f[0] = o.getScale().convertToDouble();
        })
        .Case([&](ftlt::DropoutOp o) {
          inst.kind = K::Dropout;
          inst.in = {use(o.getX()), use(o.getSeed())};
          inst.d[0] =
              cast<RankedTensorType>(o.getX().getType()).getNumElements();
          inst.d[1] = o.getSalt();
          inst.f[0] = o.getRate().convertToDouble();
        })
        .Case([&](ftlt::SeqSumOp o) {
          inst.kind = K::SeqSum;
          inst.in = {use(o.getX())};
          inst.d[0] = dims(o.getResult())[0];
          inst.d[1] = o.getSeq();
        })
        .Case([&](ftlt::SeqExpandOp o) {
          inst.kind = K::SeqExpand;
          inst.in = {use(o.getX())};
          inst.d[0] = dims(o.getX())[0];
          inst.d[1] = o.getSeq();
        })
        .Case([&](ftlt::PairDiffOp o) {
          inst.kind = K::PairDiff;
          inst.in = {use(o.getX())};
          inst.d[0] = dims(o.getResult())[0];
        })
        .Case([&](ftlt::PairSpreadOp o) {
          inst.kind = K::PairSpread;
          inst.in = {use(o.getX())};
          inst.d[0] = dims(o.getX())[0];
        })
        .Case([&](ftlt::LinearCrossEntropyGradOp o) {
          inst.kind = K::LinearCrossEntropyGrad;
          inst.in = {use(o.getDloss()),     use(o.getHidden()),
                     use(o.getWeight()),    use(o.getTargets()),
                     use(o.getWeights()),   use(o.getLse()),
                     use(o.getAccumulate())};
          inst.d[0] = dims(o.getHidden())[0];
          inst.d[1] = dims(o.getHidden())[1];
          inst.d[2] = dims(o.getWeight())[0];
          inst.d[3] = o.getChunk();
          inst.scratch.assign(size_t(inst.d[0]), 0.0f);
        })
        .Case([&](ftlt::SumOp o) {
          inst.kind = K::Sum;
          inst.in = {use(o.getX())};
          inst.d[0] =
              cast<RankedTensorType>(o.getX().getType()).getNumElements();
        })
        .Case([&](ftlt::SquaredNormOp o) {
          inst.kind = K::SquaredNorm;
          inst.in = {use(o.getX())};
          inst.d[0] =
              cast<RankedTensorType>(o.getX().getType()).getNumElements();
        })
        .Case([&](ftlt::FusedOp o) {
          inst.kind = K::Fused;
          for (Value v : o.getInputs())
            inst.in.push_back(use(v));
          inst.d[0] = o.getRows();
          inst.d[1] = o.getCols();
          for (Attribute a : o.getInputAccess())
            inst.inAccess.push_back(toAccess(a));
          for (Attribute a : o.getResultAccess())
            inst.outAccess.push_back(toAccess(a));
          inst.fused = kernels.lookup(o);
          if (!inst.fused.fn)
            ok = o.emitError("no compiled code for this fused group");
          inst.name = "fused";
          if (auto kernel = o->getAttrOfType<StringAttr>("ftl.kernel"))
            inst.name += " " + kernel.getValue().str();
        })
        .Case([&](arith::ConstantOp o) {
          auto dense = dyn_cast<DenseElementsAttr>(o.getValue());
          if (!dense || !dense.isSplat() ||
              !isa<RankedTensorType>(o.getType())) {
            ok = o.emitError("only splat tensor constants can be executed");
            return;
          }
          inst.kind = K::Fill;
          inst.f[0] = dense.getSplatValue<APFloat>().convertToDouble();
          inst.d[0] = cast<RankedTensorType>(o.getType()).getNumElements();
        })
        .Default([&](Operation *other) {
          ok = other->emitError("the CPU executor cannot run '")
               << other->getName() << "'";
        });
    if (failed(ok))
      return llvm::createStringError("cannot execute the step function");
    for (Value r : op->getResults())
      inst.out.push_back(newSlot(r));
    p.instructions.push_back(std::move(inst));
  }

  // Results that are arguments or returned twice are copied at the end.
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    int s = slotOf.lookup(v);
    Slot &slot = p.slots[s];
    if (slot.kind == Slot::Kind::Result && slot.index == i)
      continue;
    Instruction copy;
    copy.kind = Instruction::Kind::Copy;
    copy.name = "copy";
    copy.in = {use(v)};
    Slot out;
    out.kind = Slot::Kind::Result;
    out.index = i;
    out.bytes = bytesOf(v.getType());
    p.slots.push_back(out);
    copy.out = {int(p.slots.size() - 1)};
    copy.d[0] = int64_t(out.bytes / 4);
    p.instructions.push_back(std::move(copy));
  }

  // Arena offsets: biggest first, each at the lowest offset that does not
  // overlap a live value (lifetimes are inclusive at both ends, so an op's
  // inputs and outputs never share memory).
  std::vector<int> arenaSlots;
  for (size_t s = 0; s < p.slots.size(); ++s)
    if (p.slots[s].kind == Slot::Kind::Arena)
      arenaSlots.push_back(int(s));
  llvm::stable_sort(arenaSlots, [&](int a, int b) {
    return p.slots[a].bytes > p.slots[b].bytes;
  });
  std::vector<int> placed;
  auto align = [](size_t x) { return (x + 63) / 64 * 64; };
  for (int s : arenaSlots) {
    Slot &slot = p.slots[s];
    std::vector<std::pair<size_t, size_t>> busy;
    for (int o : placed) {
      const Slot &other = p.slots[o];
      if (other.lastUse < slot.firstUse || slot.lastUse < other.firstUse)
        continue;
      busy.push_back({other.offset, other.offset + align(other.bytes)});
    }
    llvm::sort(busy);
    size_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + align(slot.bytes) <= begin)
        break;
      offset = std::max(offset, end);
    }
    slot.offset = offset;
    p.arenaSize = std::max(p.arenaSize, offset + align(slot.bytes));
    placed.push_back(s);
  }
  if (p.arenaSize) {
    p.arena = std::aligned_alloc(64, align(p.arenaSize));
    if (!p.arena)
      return llvm::createStringError("cannot allocate " +
                                     std::to_string(p.arenaSize) +
                                     " bytes for activations");
  }
  p.argData.assign(p.args.size(), nullptr);
  p.resultData.assign(p.resultInfos.size(), nullptr);
  return program;
}

int Program::findArgument(llvm::StringRef param, llvm::StringRef batch,
                          llvm::StringRef gradAcc) const {
  for (size_t i = 0; i < args.size(); ++i) {
    if (!param.empty() && args[i].param == param && args[i].gradAcc.empty())
      return int(i);
    if (!batch.empty() && args[i].batch == batch)
      return int(i);
    if (!gradAcc.empty() && args[i].gradAcc == gradAcc)
      return int(i);
  }
  return -1;
}

void Program::bindArgument(unsigned i, void *data) {
  argData[i] = data;
  resolved = false;
}

void Program::bindResult(unsigned i, void *data) {
  resultData[i] = data;
  resolved = false;
}

llvm::Error Program::resolve() {
  for (size_t i = 0; i < args.size(); ++i)
    if (!argData[i])
      return llvm::createStringError(
          "argument " + std::to_string(i) + " (" +
          (args[i].param.empty() ? args[i].batch : args[i].param) +
          ") is not bound");
  for (size_t i = 0; i < resultInfos.size(); ++i)
    if (!resultData[i])
      return llvm::createStringError("result " + std::to_string(i) +
                                     " is not bound");
  for (Slot &slot : slots) {
    switch (slot.kind) {
    case Slot::Kind::Arg:
      slot.ptr = argData[slot.index];
      break;
    case Slot::Kind::Result:
      slot.ptr = resultData[slot.index];
      break;
    case Slot::Kind::Arena:
      slot.ptr = static_cast<char *>(arena) + slot.offset;
      break;
    }
  }
  resolved = true;
  return llvm::Error::success();
}

std::string Program::describe() const {
  std::string out;
  auto where = [&](int s) -> std::string {
    if (s < 0)
      return "-";
    const Slot &slot = slots[s];
    switch (slot.kind) {
    case Slot::Kind::Arg:
      return "arg" + std::to_string(slot.index);
    case Slot::Kind::Result:
      return "result" + std::to_string(slot.index);
    case Slot::Kind::Arena:
      return "arena+" + std::to_string(slot.offset);
    }
    return "?";
  };
  for (const Instruction &inst : instructions) {
    out += inst.name + " (";
    for (size_t i = 0; i < inst.in.size(); ++i)
      out += (i ? ", " : "") + where(inst.in[i]);
    out += ") -> (";
    for (size_t i = 0; i < inst.out.size(); ++i)
      out += (i ? ", " : "") + where(inst.out[i]);
    out += ")\n";
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

llvm::Error Program::run() {
  if (!resolved)
    if (llvm::Error e = resolve())
      return e;
  auto F = [&](int s) -> float * {
    return s < 0 ? nullptr : static_cast<float *>(slots[s].ptr);
  };
  auto I = [&](int s) -> int32_t * {
    return s < 0 ? nullptr : static_cast<int32_t *>(slots[s].ptr);
  };
  using K = Instruction::Kind;
  for (Instruction &inst : instructions) {
    const int64_t *d = inst.d;
    switch (inst.kind) {
    case K::Embedding:
      if (llvm::Error e = embeddingForward(d[0], d[1], d[2], I(inst.in[1]),
                                           F(inst.in[0]), F(inst.out[0]), pool))
        return e;
      break;
    case K::EmbeddingGrad:
      if (llvm::Error e =
              embeddingBackward(d[0], d[1], d[2], I(inst.in[1]), F(inst.in[0]),
                                F(inst.out[0]), pool))
        return e;
      break;
    case K::Linear: {
      float *out = F(inst.out[0]);
      float beta = 0;
      if (inst.in[2] >= 0) {
        fillRows(d[0], d[1], F(inst.in[2]), out, pool);
        beta = 1;
      }
      k::sgemm(k::Trans::No, k::Trans::Yes, d[0], d[1], d[2], 1.0f,
               F(inst.in[0]), d[2], F(inst.in[1]), d[2], beta, out, d[1], pool);
      break;
    }
    case K::LinearGradInput:
      k::sgemm(k::Trans::No, k::Trans::No, d[0], d[2], d[1], 1.0f,
               F(inst.in[0]), d[1], F(inst.in[1]), d[2], 0.0f, F(inst.out[0]),
               d[2], pool);
      break;
    case K::LinearGradWeight: {
      float *out = F(inst.out[0]);
      float beta = 0;
      if (inst.in[2] >= 0) {
        float *acc = F(inst.in[2]);
        if (acc != out)
          std::memcpy(out, acc, size_t(d[1] * d[2]) * 4);
        beta = 1;
      }
      k::sgemm(k::Trans::Yes, k::Trans::No, d[1], d[2], d[0], 1.0f,
               F(inst.in[0]), d[1], F(inst.in[1]), d[2], beta, out, d[2], pool);
      break;
    }
    case K::Rope:
    case K::RopeGrad:
      ropeApply(d[0], d[1], d[2], I(inst.in[1]), float(inst.f[0]),
                F(inst.in[0]), F(inst.out[0]), inst.kind == K::RopeGrad, pool);
      break;
    case K::Attention: {
      k::AttentionShape shape;
      shape.batch = d[0];
      shape.seqLen = d[1];
      shape.numHeads = d[2];
      shape.numKvHeads = d[3];
      shape.headDim = d[4];
      shape.segmentIds = I(inst.in[3]);
      k::attentionForward(shape, F(inst.in[0]), F(inst.in[1]), F(inst.in[2]),
                          F(inst.out[0]), F(inst.out[1]), pool);
      break;
    }
    case K::AttentionGrad: {
      k::AttentionShape shape;
      shape.batch = d[0];
      shape.seqLen = d[1];
      shape.numHeads = d[2];
      shape.numKvHeads = d[3];
      shape.headDim = d[4];
      shape.segmentIds = I(inst.in[6]);
      k::attentionBackward(shape, F(inst.in[1]), F(inst.in[2]), F(inst.in[3]),
                           F(inst.in[4]), F(inst.in[0]), F(inst.in[5]),
                           F(inst.out[0]), F(inst.out[1]), F(inst.out[2]),
                           pool);
      break;
    }
    case K::CrossEntropy:
      if (llvm::Error e = crossEntropyForward(
              d[0], d[1], F(inst.in[0]), I(inst.in[1]), F(inst.in[2]),
              F(inst.out[0]), F(inst.out[1]), pool))
        return e;
      break;
    case K::CrossEntropyGrad:
      crossEntropyBackward(d[0], d[1], *F(inst.in[0]), F(inst.in[1]),
                           I(inst.in[2]), F(inst.in[3]), F(inst.in[4]),
                           F(inst.out[0]), pool);
      break;
    case K::LinearCrossEntropy: {
      float *lossPerToken = inst.scratch.data();
      float *logProb = inst.scratch.data() + d[0];
      if (llvm::Error e = checkTargets(d[0], d[2], I(inst.in[2])))
        return e;
      k::linearCrossEntropyForward(
          d[0], d[1], d[2], F(inst.in[0]), F(inst.in[1]), I(inst.in[2]),
          F(inst.in[3]), d[3], lossPerToken, F(inst.out[1]), logProb, pool);
      *F(inst.out[0]) = float(orderedSum(lossPerToken, d[0]));
      break;
    }
    case K::LinearCrossEntropyGrad: {
      float g = *F(inst.in[0]);
      std::fill(inst.scratch.begin(), inst.scratch.end(), g);
      float *dWeight = F(inst.out[1]);
      size_t weightBytes = size_t(d[2] * d[1]) * 4;
      if (inst.in[6] >= 0) {
        float *acc = F(inst.in[6]);
        if (acc != dWeight)
          std::memcpy(dWeight, acc, weightBytes);
      } else {
        std::memset(dWeight, 0, weightBytes);
      }
      k::linearCrossEntropyBackward(d[0], d[1], d[2], F(inst.in[1]),
                                    F(inst.in[2]), I(inst.in[3]), F(inst.in[4]),
                                    d[3], inst.scratch.data(), F(inst.in[5]),
                                    F(inst.out[0]), dWeight, pool);
      break;
    }
    case K::TokenNll:
      if (llvm::Error e =
              tokenNllForward(d[0], d[1], F(inst.in[0]), I(inst.in[1]),
                              F(inst.out[0]), F(inst.out[1]), pool))
        return e;
      break;
    case K::LinearTokenNll:
      if (llvm::Error e = checkTargets(d[0], d[2], I(inst.in[2])))
        return e;
      k::linearCrossEntropyForward(
          d[0], d[1], d[2], F(inst.in[0]), F(inst.in[1]), I(inst.in[2]),
          /*tokenWeights=*/nullptr, d[3], F(inst.out[0]), F(inst.out[1]),
          /*logProb=*/nullptr, pool);
      break;
    case K::LinearKl: {
      k::KlShape shape{d[0], d[1], d[4], d[2], d[3]};
      float *klPerToken = inst.scratch.data();
      k::linearKlForward(shape, F(inst.in[0]), F(inst.in[1]), F(inst.in[2]),
                         F(inst.in[3]), F(inst.in[4]), klPerToken,
                         F(inst.out[1]), F(inst.out[2]), pool);
      *F(inst.out[0]) = float(orderedSum(klPerToken, d[0]));
      break;
    }
    case K::LinearKlGrad: {
      k::KlShape shape{d[0], d[1], d[4], d[2], d[3]};
      std::fill(inst.scratch.begin(), inst.scratch.end(), *F(inst.in[0]));
      float *dWeight = F(inst.out[1]);
      std::memset(dWeight, 0, size_t(d[2] * d[1]) * 4);
      k::linearKlBackward(shape, F(inst.in[1]), F(inst.in[2]), F(inst.in[3]),
                          F(inst.in[4]), F(inst.in[5]), inst.scratch.data(),
                          F(inst.in[6]), F(inst.in[7]), F(inst.out[0]), dWeight,
                          pool);
      break;
    }
    case K::DoraNorm:
      doraRowNorms(F(inst.in[0]), F(inst.in[1]), F(inst.in[2]), d[0], d[1],
                   d[2], inst.f[0], F(inst.out[0]));
      break;
    case K::Dropout:
      applyDropout(F(inst.in[0]), d[0], *I(inst.in[1]), uint64_t(d[1]),
                   inst.f[0], F(inst.out[0]));
      break;
    case K::SeqSum: {
      const float *x = F(inst.in[0]);
      float *y = F(inst.out[0]);
      for (int64_t r = 0; r < d[0]; ++r) {
        double sum = 0;
        for (int64_t j = 0; j < d[1]; ++j)
          sum += x[r * d[1] + j];
        y[r] = float(sum);
      }
      break;
    }
    case K::SeqExpand: {
      const float *x = F(inst.in[0]);
      float *y = F(inst.out[0]);
      for (int64_t r = 0; r < d[0]; ++r)
        std::fill(y + r * d[1], y + (r + 1) * d[1], x[r]);
      break;
    }
    case K::PairDiff: {
      const float *x = F(inst.in[0]);
      float *y = F(inst.out[0]);
      for (int64_t i = 0; i < d[0]; ++i)
        y[i] = x[i] - x[d[0] + i];
      break;
    }
    case K::PairSpread: {
      const float *x = F(inst.in[0]);
      float *y = F(inst.out[0]);
      for (int64_t i = 0; i < d[0]; ++i) {
        y[i] = x[i];
        y[d[0] + i] = -x[i];
      }
      break;
    }
    case K::Sum:
      *F(inst.out[0]) = float(orderedSum(F(inst.in[0]), d[0]));
      break;
    case K::SquaredNorm:
      *F(inst.out[0]) = float(orderedSquaredSum(F(inst.in[0]), d[0]));
      break;
    case K::Fused:
      runFused(inst.fused, d[0], d[1], inst.inAccess, inst.outAccess,
               llvm::map_to_vector(inst.in, F),
               llvm::map_to_vector(inst.out, F), inst.scratch, pool);
      break;
    case K::Fill: {
      float *out = F(inst.out[0]);
      std::fill(out, out + d[0], float(inst.f[0]));
      break;
    }
    case K::Copy:
      std::memcpy(F(inst.out[0]), F(inst.in[0]), size_t(d[0]) * 4);
      break;
    }
  }
  return llvm::Error::success();
}

size_t Program::numInstructions() const { return instructions.size(); }
