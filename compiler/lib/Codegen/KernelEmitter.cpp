//===- KernelEmitter.cpp - Loop nests for fused groups --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// For each row: one column loop per reduction pass (the reductions whose
// operand waits for k earlier passes run together in loop k, each with an
// accumulator), then a last column loop that writes the elem results and
// adds to the colsum partials. Body values are emitted lazily where they
// belong: constants and scalar-only values once per call, values that change
// only between rows once per row, the rest inside the column loop that needs
// them (so a later pass recomputes what it needs instead of storing it).
//
// On the CPU the memory accesses of each column loop carry an access group
// that the loop declares parallel (`llvm.loop.parallel_accesses`, added to
// the LLVM IR by CPUCodegen.cpp): iterations touch disjoint elements, so the
// vectoriser needs no alias checks, also for in-place results and the sum
// accumulations `fastmath<reassoc, contract>` (so the reduction vectorises;
// the order is fixed by the compiled code, and each row is reduced by the
// same code, so results do not depend on how rows are split). On CUDA, thread
// t of a block takes columns t, t + blockDim.x, ...; each pass ends with a
// block-wide `gpu.all_reduce`.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

#include <limits>

using namespace mlir;
using namespace mlir::ftlt;

namespace ftl::codegen {
namespace {

class Emitter {
public:
  Emitter(const KernelGroup &group, bool gpu, OpBuilder &moduleBuilder)
      : group(group), plan(group.plan), gpu(gpu), fused(group.plan.op),
        ctx(moduleBuilder.getContext()), loc(fused.getLoc()),
        moduleBuilder(moduleBuilder), fnB(ctx), rowB(ctx), colB(ctx) {
    f32 = Float32Type::get(ctx);
    i64 = IntegerType::get(ctx, 64);
    ptrType = LLVM::LLVMPointerType::get(ctx, gpu ? 1 : 0);
  }

  void run() {
    Value rowBegin, rowEnd;
    if (gpu)
      startGpuFunction(rowBegin, rowEnd);
    else
      startCpuFunction(rowBegin, rowEnd);

    // colsum partials start at zero.
    for (auto [i, access] : llvm::enumerate(plan.resultAccess)) {
      if (access != Access::ColSum)
        continue;
      Value base = bases[numInputs() + i];
      auto loop = columnLoop(fnB, {});
      OpBuilder &b = beginLoop(fnB, loop);
      store(b, constF32(0.0f), elementPtr(b, base, col), /*inLoop=*/true);
      endLoop(fnB, loop);
    }

    Value one = constI64(1);
    auto rowLoop = fnB.create<scf::ForOp>(loc, rowBegin, rowEnd, one);
    fnB.setInsertionPoint(rowLoop);
    rowB.setInsertionPoint(rowLoop.getBody()->getTerminator());
    row = rowLoop.getInductionVar();
    rowOffset = rowB.create<arith::MulIOp>(loc, row, constI64(plan.cols));

    for (auto &pass : plan.passes)
      emitReductionPass(pass);
    if (plan.hasColumnResults())
      emitFinalPass();
    emitRowResults();
  }

private:
  enum class Scope { Fn, Row, Col };

  unsigned numInputs() const { return plan.inputAccess.size(); }
  unsigned numBuffers() const {
    return plan.inputAccess.size() + plan.resultAccess.size();
  }

  //===--------------------------------------------------------------------===//
  // Function entry
  //===--------------------------------------------------------------------===//

  void startCpuFunction(Value &rowBegin, Value &rowEnd) {
    auto type = FunctionType::get(ctx, {ptrType, i64, i64}, {});
    auto fn = moduleBuilder.create<func::FuncOp>(loc, group.name, type);
    Block *entry = fn.addEntryBlock();
    fnB.setInsertionPointToStart(entry);
    auto ret = fnB.create<func::ReturnOp>(loc);
    fnB.setInsertionPoint(ret);
    Value buffers = entry->getArgument(0);
    rowBegin = entry->getArgument(1);
    rowEnd = entry->getArgument(2);
    for (unsigned i = 0; i < numBuffers(); ++i) {
      Value slot = fnB.create<LLVM::GEPOp>(
          loc, ptrType, ptrType, buffers,
          ArrayRef<LLVM::GEPArg>{LLVM::GEPArg(int32_t(i))});
      bases.push_back(fnB.create<LLVM::LoadOp>(loc, ptrType, slot));
    }
  }

  void startGpuFunction(Value &rowBegin, Value &rowEnd) {
    SmallVector<Type> inputs(numBuffers(), ptrType);
    inputs.push_back(i64); // rows
    inputs.push_back(i64); // rowsPerBlock
    auto type = FunctionType::get(ctx, inputs, {});
    auto fn = moduleBuilder.create<gpu::GPUFuncOp>(loc, group.name, type);
    fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
    Block *entry = &fn.getBody().front();
    fnB.setInsertionPointToStart(entry);
    auto ret = fnB.create<gpu::ReturnOp>(loc);
    fnB.setInsertionPoint(ret);
    auto toI64 = [&](Value index) -> Value {
      return fnB.create<arith::IndexCastOp>(loc, i64, index);
    };
    threadId = toI64(fnB.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x));
    blockDim = toI64(fnB.create<gpu::BlockDimOp>(loc, gpu::Dimension::x));
    Value blockId = toI64(fnB.create<gpu::BlockIdOp>(loc, gpu::Dimension::x));
    Value rows = entry->getArgument(numBuffers());
    Value rowsPerBlock = entry->getArgument(numBuffers() + 1);
    rowBegin = fnB.create<arith::MulIOp>(loc, blockId, rowsPerBlock);
    Value next = fnB.create<arith::AddIOp>(loc, rowBegin, rowsPerBlock);
    rowEnd = fnB.create<arith::MinSIOp>(loc, next, rows);
    Value partialOffset =
        fnB.create<arith::MulIOp>(loc, blockId, constI64(plan.cols));
    for (unsigned i = 0; i < numBuffers(); ++i) {
      Value base = entry->getArgument(i);
      if (i >= numInputs() &&
          plan.resultAccess[i - numInputs()] == Access::ColSum)
        base = elementPtr(fnB, base, partialOffset);
      bases.push_back(base);
    }
  }

  //===--------------------------------------------------------------------===//
  // Loops
  //===--------------------------------------------------------------------===//

  /// A loop over the row's columns (this thread's, on CUDA).
  scf::ForOp columnLoop(OpBuilder &b, ValueRange inits) {
    scf::ForOp loop;
    if (gpu) {
      loop = b.create<scf::ForOp>(loc, threadId, constI64(plan.cols), blockDim,
                                  inits);
    } else {
      loop = b.create<scf::ForOp>(loc, constI64(0), constI64(plan.cols),
                                  constI64(1), inits);
      // Loads and stores of one column loop share an access group; the
      // LLVM loop metadata that declares them parallel is added after
      // translation (MLIR 19's scf-to-cf drops loop annotations).
      accessGroup = LLVM::AccessGroupAttr::get(ctx);
    }
    return loop;
  }

  /// Moves `outer` before `loop` and returns a builder inside it.
  OpBuilder &beginLoop(OpBuilder &outer, scf::ForOp loop) {
    outer.setInsertionPoint(loop);
    Block *body = loop.getBody();
    if (!body->empty() && body->back().hasTrait<OpTrait::IsTerminator>())
      colB.setInsertionPoint(body->getTerminator());
    else
      colB.setInsertionPointToEnd(body);
    col = loop.getInductionVar();
    colMap.clear();
    return colB;
  }

  void endLoop(OpBuilder &outer, scf::ForOp loop) {
    outer.setInsertionPointAfter(loop);
    colMap.clear();
    col = Value();
    accessGroup = {};
  }

  void emitReductionPass(ArrayRef<RowReduceOp> reductions) {
    SmallVector<Value> inits;
    for (RowReduceOp reduce : reductions)
      inits.push_back(reduce.getKind() == "max"
                          ? constF32(-std::numeric_limits<float>::infinity())
                          : constF32(0.0f));
    auto loop = columnLoop(rowB, inits);
    OpBuilder &b = beginLoop(rowB, loop);
    SmallVector<Value> next;
    for (auto [constReduce, acc] :
         llvm::zip(reductions, loop.getRegionIterArgs())) {
      RowReduceOp reduce = constReduce;
      Value value = get(reduce.getValue());
      if (reduce.getKind() == "max") {
        next.push_back(b.create<arith::MaximumFOp>(loc, acc, value));
      } else {
        auto add = b.create<arith::AddFOp>(loc, acc, value);
        add.setFastmathAttr(arith::FastMathFlagsAttr::get(
            ctx,
            arith::FastMathFlags::reassoc | arith::FastMathFlags::contract));
        next.push_back(add);
      }
    }
    b.create<scf::YieldOp>(loc, next);
    endLoop(rowB, loop);
    for (auto [constReduce, partial] :
         llvm::zip(reductions, loop.getResults())) {
      RowReduceOp reduce = constReduce;
      Value total = partial;
      if (gpu) {
        auto kind = reduce.getKind() == "max"
                        ? gpu::AllReduceOperation::MAXIMUMF
                        : gpu::AllReduceOperation::ADD;
        total = rowB.create<gpu::AllReduceOp>(
            loc, partial, gpu::AllReduceOperationAttr::get(ctx, kind),
            UnitAttr::get(ctx));
      }
      rowMap[reduce.getResult()] = total;
    }
    // The all-reduce lowering leaves its result in shared memory that the
    // next row's reduction overwrites: every thread must have read it first.
    if (gpu)
      rowB.create<gpu::BarrierOp>(loc);
  }

  void emitFinalPass() {
    auto yield = cast<FusedYieldOp>(fused.getBody().front().getTerminator());
    auto loop = columnLoop(rowB, {});
    OpBuilder &b = beginLoop(rowB, loop);
    // Every value first, then the stores: a result may share its buffer with
    // an input (in-place update) that a later result still reads.
    SmallVector<std::pair<unsigned, Value>> values;
    for (auto [i, access] : llvm::enumerate(plan.resultAccess))
      if (access == Access::Elem || access == Access::ColSum)
        values.push_back({unsigned(i), get(yield.getValues()[i])});
    for (auto [i, value] : values) {
      Value base = bases[numInputs() + i];
      if (plan.resultAccess[i] == Access::Elem) {
        Value index = b.create<arith::AddIOp>(loc, rowOffset, col);
        store(b, value, elementPtr(b, base, index), true);
        continue;
      }
      Value ptr = elementPtr(b, base, col);
      Value sum = b.create<arith::AddFOp>(loc, load(b, ptr, true), value);
      store(b, sum, ptr, true);
    }
    endLoop(rowB, loop);
  }

  void emitRowResults() {
    auto yield = cast<FusedYieldOp>(fused.getBody().front().getTerminator());
    SmallVector<std::pair<unsigned, Value>> values;
    for (auto [i, access] : llvm::enumerate(plan.resultAccess))
      if (access == Access::Row)
        values.push_back({unsigned(i), get(yield.getValues()[i])});
    if (values.empty())
      return;
    OpBuilder *b = &rowB;
    OpBuilder thenB(ctx);
    if (gpu) {
      // One thread writes.
      Value first = rowB.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                               threadId, constI64(0));
      auto ifOp = rowB.create<scf::IfOp>(loc, first, /*withElse=*/false);
      thenB.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      b = &thenB;
    }
    for (auto [i, value] : values)
      store(*b, value, elementPtr(*b, bases[numInputs() + i], row), false);
  }

  //===--------------------------------------------------------------------===//
  // Values
  //===--------------------------------------------------------------------===//

  Scope scopeOf(Value v) const {
    if (plan.varying.contains(v))
      return Scope::Col;
    if (plan.rowDependent.contains(v))
      return Scope::Row;
    return Scope::Fn;
  }

  /// The value of body value `v` in the scope where it belongs, emitted on
  /// first use.
  Value get(Value v) {
    Scope scope = scopeOf(v);
    auto &map = scope == Scope::Col   ? colMap
                : scope == Scope::Row ? rowMap
                                      : fnMap;
    auto it = map.find(v);
    if (it != map.end())
      return it->second;
    OpBuilder &b = scope == Scope::Col   ? colB
                   : scope == Scope::Row ? rowB
                                         : fnB;
    assert((scope != Scope::Col || col) && "column value outside a loop");
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      Value value = loadInput(b, arg.getArgNumber());
      map[v] = value;
      return value;
    }
    Operation *op = v.getDefiningOp();
    assert(!isa<RowReduceOp>(op) && "reductions are set by their pass");
    IRMapping mapping;
    for (Value operand : op->getOperands())
      mapping.map(operand, get(operand));
    Operation *clone = b.clone(*op, mapping);
    for (auto [old, now] : llvm::zip(op->getResults(), clone->getResults()))
      map[old] = now;
    return map[v];
  }

  Value loadInput(OpBuilder &b, unsigned i) {
    Value base = bases[i];
    switch (plan.inputAccess[i]) {
    case Access::Elem: {
      Value index = b.create<arith::AddIOp>(loc, rowOffset, col);
      return load(b, elementPtr(b, base, index), true);
    }
    case Access::Col:
      return load(b, elementPtr(b, base, col), true);
    case Access::Row:
      return load(b, elementPtr(b, base, row), false);
    case Access::Scalar:
    case Access::ColSum:
      break;
    }
    return load(b, base, false);
  }

  //===--------------------------------------------------------------------===//
  // Memory and constants
  //===--------------------------------------------------------------------===//

  Value elementPtr(OpBuilder &b, Value base, Value index) {
    return b.create<LLVM::GEPOp>(loc, ptrType, f32, base, ValueRange{index},
                                 /*inbounds=*/true);
  }

  Value load(OpBuilder &b, Value ptr, bool inLoop) {
    auto op = b.create<LLVM::LoadOp>(loc, f32, ptr, /*alignment=*/4);
    if (inLoop && accessGroup)
      op.setAccessGroupsAttr(ArrayAttr::get(ctx, {accessGroup}));
    return op;
  }

  void store(OpBuilder &b, Value value, Value ptr, bool inLoop) {
    auto op = b.create<LLVM::StoreOp>(loc, value, ptr, /*alignment=*/4);
    if (inLoop && accessGroup)
      op.setAccessGroupsAttr(ArrayAttr::get(ctx, {accessGroup}));
  }

  Value constI64(int64_t v) {
    return fnB.create<arith::ConstantOp>(loc, i64, fnB.getI64IntegerAttr(v));
  }

  Value constF32(float v) {
    return fnB.create<arith::ConstantOp>(loc, f32, fnB.getF32FloatAttr(v));
  }

  const KernelGroup &group;
  const FusedPlan &plan;
  bool gpu;
  FusedOp fused;
  MLIRContext *ctx;
  Location loc;
  OpBuilder &moduleBuilder;
  OpBuilder fnB, rowB, colB;
  Type f32, i64, ptrType;
  llvm::DenseMap<Value, Value> fnMap, rowMap, colMap;
  SmallVector<Value> bases;
  Value row, rowOffset, col;
  Value threadId, blockDim;
  LLVM::AccessGroupAttr accessGroup;
};

} // namespace

void emitCpuKernel(OpBuilder &builder, const KernelGroup &group) {
  Emitter(group, /*gpu=*/false, builder).run();
}

void emitGpuKernel(OpBuilder &builder, const KernelGroup &group) {
  Emitter(group, /*gpu=*/true, builder).run();
}

} // namespace ftl::codegen
