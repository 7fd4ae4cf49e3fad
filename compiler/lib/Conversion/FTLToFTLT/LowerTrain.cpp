//===- LowerTrain.cpp - ftl.train to an ftlt step function ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Builds the loss function of one training step: the model's forward (Llama
// or GPT-2 family, with LoRA updates on the planned weights) on each term's
// micro-batch, the LM head and token cross-entropy, each term scaled by its
// normaliser and its weight, summed. The backward comes from the autodiff
// pass; the optimizer update from the optimizer lowering.
//
//===----------------------------------------------------------------------===//

#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/StringMap.h"

namespace mlir::ftl {
#define GEN_PASS_DEF_LOWERTRAIN
#include "ftl/Transforms/Passes.h.inc"
} // namespace mlir::ftl

using namespace mlir;
using ::ftl::LoraPlacement;
using ::ftl::PlannedTensor;
using ::ftl::TrainPlan;
namespace fd = mlir::ftl;

namespace {

/// Builds ftlt ops for one forward pass.
class ForwardBuilder {
public:
  ForwardBuilder(OpBuilder &b, Location loc, const TrainPlan &plan,
                 const llvm::StringMap<Value> &params)
      : b(b), loc(loc), plan(plan), params(params) {
    for (const LoraPlacement &lora : plan.loras)
      lorasByWeight[lora.weight] = &lora;
  }

  /// The final hidden states [N, D] of `rows` sequences of the train's
  /// length.
  Value hidden(Value ids, Value positions, Value segments, int64_t rows) {
    const ::ftl::lang::ModelInfo &m = plan.model.info;
    bool gpt2 = m.arch == ::ftl::lang::ModelInfo::Arch::GPT2;
    int64_t n = ids.getType().cast<RankedTensorType>().getDimSize(0);
    Value h = b.create<ftlt::EmbeddingOp>(loc, f32({n, m.dim}),
                                          param("embed.weight"), ids);
    const auto &virt = plan.virtualTokens;
    if (virt && virt->kind == "prompt")
      h = replaceVirtualRows(h, virt->promptName());
    if (gpt2) {
      Value pos = b.create<ftlt::EmbeddingOp>(
          loc, f32({n, m.dim}), param("pos_embed.weight"), positions);
      h = b.create<ftlt::AddOp>(loc, h, pos);
    }
    for (int64_t l = 0; l < m.layers; ++l) {
      layer = l;
      std::string p = "layers." + std::to_string(l) + ".";
      Value x = norm(h, p + "attn_norm");
      Value q = linear(x, p + "attn.q");
      Value k = linear(x, p + "attn.k");
      Value v = linear(x, p + "attn.v");
      if (!gpt2) {
        q = tag(b.create<ftlt::RopeOp>(loc, q.getType(), q, positions,
                                       b.getF64FloatAttr(plan.model.ropeTheta),
                                       b.getI64IntegerAttr(m.headDim())));
        k = tag(b.create<ftlt::RopeOp>(loc, k.getType(), k, positions,
                                       b.getF64FloatAttr(plan.model.ropeTheta),
                                       b.getI64IntegerAttr(m.headDim())));
      }
      if (virt && virt->kind == "prefix") {
        k = replaceVirtualRows(k, virt->prefixName(l, false));
        v = replaceVirtualRows(v, virt->prefixName(l, true));
      }
      auto attn = b.create<ftlt::AttentionOp>(
          loc, q.getType(), f32({rows, m.heads, plan.seq}), q, k, v, segments,
          b.getI64IntegerAttr(rows), b.getI64IntegerAttr(plan.seq),
          b.getI64IntegerAttr(m.heads), b.getI64IntegerAttr(m.kvHeads),
          b.getI64IntegerAttr(m.headDim()));
      tag(attn);
      Value attnOut =
          blockAdapters(l, "attn", x, linear(attn.getResult(), p + "attn.o"));
      h = tag(b.create<ftlt::AddOp>(loc, h, attnOut));
      x = norm(h, p + "mlp_norm");
      Value mlp;
      if (gpt2) {
        Value up = linear(x, p + "mlp.up");
        mlp = linear(tag(b.create<ftlt::GeluOp>(loc, up.getType(), up)),
                     p + "mlp.down");
      } else {
        Value gate = linear(x, p + "mlp.gate");
        Value up = linear(x, p + "mlp.up");
        Value act = tag(b.create<ftlt::SiluOp>(loc, gate.getType(), gate));
        mlp = linear(tag(b.create<ftlt::MulOp>(loc, act, up)), p + "mlp.down");
      }
      h = tag(b.create<ftlt::AddOp>(loc, h, blockAdapters(l, "mlp", x, mlp)));
    }
    layer = -1;
    return norm(h, "final_norm");
  }

  Value headWeight() {
    return plan.model.info.tied ? param("embed.weight") : param("head.weight");
  }

  /// The per-step seed of LoRA dropout ([1] i32; negative: no dropout).
  /// Without it (reference functions) LoRA has no dropout.
  void setDropoutSeed(Value seed) { dropoutSeed = seed; }

  /// The batch's virtual-slot mask [N] and slot indices [N] (prompt and
  /// prefix tuning).
  void setVirtualSlots(Value mask, Value slotIds) {
    virtualMask = mask;
    slots = slotIds;
  }

private:
  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }

  Value param(StringRef name) {
    auto it = params.find(name);
    assert(it != params.end() && "planned parameter");
    return it->second;
  }

  bool hasParam(StringRef name) const { return params.count(name); }

  /// `x` with its virtual-slot rows replaced by rows of `table` (one per
  /// slot); the other rows stay bitwise x's.
  Value replaceVirtualRows(Value x, StringRef table) {
    assert(virtualMask && slots && "virtual slots of the batch");
    auto type = x.getType().cast<RankedTensorType>();
    Value rows =
        tag(b.create<ftlt::EmbeddingOp>(loc, type, param(table), slots));
    Value kept = tag(
        b.create<ftlt::MaskRowsOp>(loc, x, virtualMask, b.getBoolAttr(false)));
    Value placed = tag(b.create<ftlt::MaskRowsOp>(loc, rows, virtualMask,
                                                  b.getBoolAttr(true)));
    return tag(b.create<ftlt::AddOp>(loc, kept, placed));
  }

  /// Marks an op with its layer, so recomputation can find layer bounds.
  template <typename OpT>
  Value tag(OpT op) {
    if (layer >= 0)
      op->setAttr("ftl.layer", b.getI64IntegerAttr(layer));
    return op->getResult(0);
  }

  Value norm(Value x, const std::string &module) {
    auto type = x.getType();
    if (plan.model.info.arch == ::ftl::lang::ModelInfo::Arch::GPT2)
      return tag(b.create<ftlt::LayerNormOp>(
          loc, type, x, param(module + ".weight"), param(module + ".bias"),
          b.getF64FloatAttr(plan.model.normEps)));
    return tag(
        b.create<ftlt::RmsNormOp>(loc, type, x, param(module + ".weight"),
                                  b.getF64FloatAttr(plan.model.normEps)));
  }

  /// `out` (the sub-layer's output for input `in`) plus the parallel and
  /// bottleneck adapters placed on this sub-layer, in placement order.
  Value blockAdapters(int64_t l, StringRef block, Value in, Value out) {
    for (const ::ftl::BlockAdapterPlacement &p : plan.blockAdapters) {
      if (p.layer != l || p.block != block)
        continue;
      std::string prefix = p.prefix();
      Value z = p.serial ? out : in;
      int64_t n = z.getType().cast<RankedTensorType>().getDimSize(0);
      Value down = tag(b.create<ftlt::LinearOp>(loc, f32({n, p.hidden}), z,
                                                param(prefix + ".down.weight"),
                                                param(prefix + ".down.bias")));
      Value act;
      if (p.act == "gelu")
        act = tag(b.create<ftlt::GeluOp>(loc, down.getType(), down));
      else if (p.act == "silu")
        act = tag(b.create<ftlt::SiluOp>(loc, down.getType(), down));
      else // relu(x) = (x + |x|) / 2
        act = tag(b.create<ftlt::ScaleOp>(
            loc, down.getType(),
            tag(b.create<ftlt::AddOp>(loc, down,
                                      tag(b.create<ftlt::AbsOp>(loc, down)))),
            b.getF64FloatAttr(0.5)));
      Value up = tag(b.create<ftlt::LinearOp>(loc, f32({n, p.dim}), act,
                                              param(prefix + ".up.weight"),
                                              param(prefix + ".up.bias")));
      if (p.scale != 1)
        up = tag(b.create<ftlt::ScaleOp>(loc, up.getType(), up,
                                         b.getF64FloatAttr(p.scale)));
      out = tag(b.create<ftlt::AddOp>(loc, out, up));
    }
    return out;
  }

  /// x W^T + b, plus scale * (x A^T) B^T where a LoRA is placed.
  Value linear(Value x, const std::string &module) {
    std::string weightName = module + ".weight";
    Value w = param(weightName);
    Value bias = hasParam(module + ".bias") ? param(module + ".bias") : Value();
    int64_t n = x.getType().cast<RankedTensorType>().getDimSize(0);
    int64_t out = w.getType().cast<RankedTensorType>().getDimSize(0);
    Value y = tag(b.create<ftlt::LinearOp>(loc, f32({n, out}), x, w, bias));
    auto it = lorasByWeight.find(weightName);
    if (it == lorasByWeight.end())
      return y;
    const LoraPlacement &lora = *it->second;
    Value a = param(lora.aName());
    Value bm = param(lora.bName());
    // LoRA dropout acts on the adapter's input only (as PEFT's does).
    Value input = x;
    if (lora.dropout > 0 && dropoutSeed)
      input = tag(b.create<ftlt::DropoutOp>(
          loc, x, dropoutSeed, b.getF64FloatAttr(lora.dropout),
          b.getI64IntegerAttr(int64_t(saltOf(lora.weight)))));
    Value down = tag(
        b.create<ftlt::LinearOp>(loc, f32({n, lora.rank}), input, a, Value()));
    Value up =
        tag(b.create<ftlt::LinearOp>(loc, f32({n, out}), down, bm, Value()));
    Value scaled = tag(b.create<ftlt::ScaleOp>(loc, up.getType(), up,
                                               b.getF64FloatAttr(lora.scale)));
    Value sum = tag(b.create<ftlt::AddOp>(loc, y, scaled));
    if (!lora.dora)
      return sum;
    // DoRA (no bias: the plan refuses one): each output feature times its
    // magnitude over the norm of its row of W + s B A, held constant.
    Value norm = tag(b.create<ftlt::DoraNormOp>(loc, f32({out}), w, a, bm,
                                                b.getF64FloatAttr(lora.scale)));
    Value factor =
        tag(b.create<ftlt::DivOp>(loc, f32({out}), param(lora.mName()), norm));
    return tag(b.create<ftlt::ScaleColsOp>(loc, sum, factor));
  }

  OpBuilder &b;
  Location loc;
  const TrainPlan &plan;
  const llvm::StringMap<Value> &params;
  Value virtualMask, slots;
  Value dropoutSeed;
  llvm::StringMap<const LoraPlacement *> lorasByWeight;

  /// A stable salt per module (FNV-1a of its weight's name), so the
  /// dropouts of one step draw different masks.
  static uint64_t saltOf(StringRef name) {
    uint64_t h = 1469598103934665603ULL;
    for (char c : name)
      h = (h ^ uint8_t(c)) * 1099511628211ULL;
    return h >> 1; // fits an i64 attribute
  }
  int64_t layer = -1;
};

struct LowerTrainPass : public fd::impl::LowerTrainBase<LowerTrainPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<fd::TrainOp> trains;
    module.walk([&](fd::TrainOp train) { trains.push_back(train); });
    SymbolTable symbols(module);
    for (auto [index, train] : llvm::enumerate(trains)) {
      FailureOr<TrainPlan> plan = ::ftl::planTrain(train);
      if (failed(plan))
        return signalPassFailure();
      func::FuncOp fn = buildLossFunction(module, *plan, index);
      symbols.insert(fn);
      train->setAttr("step", SymbolRefAttr::get(fn.getSymNameAttr()));
      // A forward-only copy computes held-out loss; autodiff leaves it alone.
      OpBuilder b(fn);
      b.setInsertionPointAfter(fn);
      auto eval = cast<func::FuncOp>(b.clone(*fn));
      eval.setSymName("train" + std::to_string(index) + "_eval");
      eval->removeAttr("ftl.loss");
      eval->setAttr("ftl.eval_loss", b.getUnitAttr());
      symbols.insert(eval);
      train->setAttr("eval", SymbolRefAttr::get(eval.getSymNameAttr()));
      if (llvm::any_of(plan->terms, [](const ::ftl::PlannedTerm &t) {
            return t.needsReference();
          })) {
        func::FuncOp ref = buildReferenceFunction(module, *plan, index);
        symbols.insert(ref);
        train->setAttr("reference", SymbolRefAttr::get(ref.getSymNameAttr()));
      }
      FailureOr<func::FuncOp> update =
          buildUpdateFunction(module, *plan, index);
      if (failed(update))
        return signalPassFailure();
      symbols.insert(*update);
      train->setAttr("update", SymbolRefAttr::get((*update).getSymNameAttr()));
    }
  }

  /// One optimizer step over every trainable tensor: arguments are, per
  /// tensor, the parameter, its gradient and the optimizer state (AdamW: m
  /// and v; SGD: the momentum buffer), then the scalars lr, bias corrections
  /// (AdamW) and the gradient scale (clipping), then, where the plan scales
  /// learning rates per tensor, one scale per trainable tensor (`ftl.lr_scale`
  /// = its name). Results are the new parameters and states, in the same
  /// order; the runtime binds them to the argument memory, making the update
  /// in place. A sparse tensor's parameter, gradient and states are [k]
  /// vectors of its trainable entries (`ftl.sparse` = k), which the runtime
  /// gathers and scatters.
  FailureOr<func::FuncOp>
  buildUpdateFunction(ModuleOp module, const TrainPlan &plan, size_t index) {
    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    fd::TrainOp train = plan.train;
    Location loc = train.getLoc();
    StringRef kind = "adamw";
    DictionaryAttr config = b.getDictionaryAttr({});
    if (Value opt = train.getOptimizer()) {
      auto make = opt.getDefiningOp<fd::MakeOp>();
      if (!make)
        return train.emitError("the optimizer must be a constant description");
      kind = make.getName();
      config = make->getDiscardableAttrDictionary();
    }
    auto getF = [&](StringRef key, double fallback) {
      if (auto a = config.getAs<FloatAttr>(key))
        return a.getValueAsDouble();
      return fallback;
    };
    bool adamw = kind == "adamw";
    if (!adamw && kind != "sgd")
      return train.emitError("not implemented yet: optimizer '") << kind << "'";
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    SmallVector<Type> argTypes, resultTypes;
    SmallVector<DictionaryAttr> argAttrs;
    unsigned statesPerTensor = adamw ? 2 : 1;
    SmallVector<const PlannedTensor *> trainable;
    for (const PlannedTensor &t : plan.tensors) {
      if (!t.trainable)
        continue;
      trainable.push_back(&t);
      auto type = t.sparseK > 0
                      ? RankedTensorType::get({t.sparseK}, b.getF32Type())
                      : RankedTensorType::get(t.shape, b.getF32Type());
      auto name = b.getStringAttr(t.name);
      SmallVector<NamedAttribute> paramAttrs = {
          b.getNamedAttr("ftl.param", name),
          b.getNamedAttr("ftl.trainable", b.getUnitAttr())};
      if (t.sparseK > 0)
        paramAttrs.push_back(
            b.getNamedAttr("ftl.sparse", b.getI64IntegerAttr(t.sparseK)));
      argTypes.push_back(type);
      argAttrs.push_back(b.getDictionaryAttr(paramAttrs));
      argTypes.push_back(type);
      argAttrs.push_back(
          b.getDictionaryAttr({b.getNamedAttr("ftl.grad_acc", name)}));
      for (unsigned k = 0; k < statesPerTensor; ++k) {
        argTypes.push_back(type);
        argAttrs.push_back(b.getDictionaryAttr({b.getNamedAttr(
            "ftl.opt_state",
            b.getStringAttr(t.name +
                            (k == 0 ? (adamw ? ".m" : ".momentum") : ".v")))}));
      }
      for (unsigned k = 0; k < 1 + statesPerTensor; ++k)
        resultTypes.push_back(type);
    }
    unsigned firstScalar = argTypes.size();
    for (StringRef name : {"lr", "bias1", "bias2", "grad_scale"}) {
      argTypes.push_back(scalar);
      argAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("ftl.scalar", b.getStringAttr(name))}));
    }
    unsigned firstScale = argTypes.size();
    if (plan.scalesLr())
      for (const PlannedTensor *t : trainable) {
        argTypes.push_back(scalar);
        argAttrs.push_back(b.getDictionaryAttr(
            {b.getNamedAttr("ftl.lr_scale", b.getStringAttr(t->name))}));
      }
    b.setInsertionPointToEnd(module.getBody());
    auto fn =
        b.create<func::FuncOp>(loc, "train" + std::to_string(index) + "_update",
                               b.getFunctionType(argTypes, resultTypes));
    fn.setAllArgAttrs(argAttrs);
    fn->setAttr("ftl.update", b.getStringAttr(kind));
    fn.setPrivate();
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value lr = entry->getArgument(firstScalar),
          bias1 = entry->getArgument(firstScalar + 1),
          bias2 = entry->getArgument(firstScalar + 2),
          gradScale = entry->getArgument(firstScalar + 3);
    SmallVector<Value> results;
    unsigned stride = 2 + statesPerTensor;
    for (unsigned t = 0; t < trainable.size(); ++t) {
      unsigned i = t * stride;
      Value p = entry->getArgument(i);
      Value g =
          b.create<ftlt::ScaleByOp>(loc, entry->getArgument(i + 1), gradScale);
      Value lrScale =
          plan.scalesLr() ? entry->getArgument(firstScale + t) : Value();
      if (adamw) {
        auto step = b.create<ftlt::AdamWOp>(
            loc, p, g, entry->getArgument(i + 2), entry->getArgument(i + 3), lr,
            bias1, bias2, lrScale, b.getF64FloatAttr(getF("beta1", 0.9)),
            b.getF64FloatAttr(getF("beta2", 0.999)),
            b.getF64FloatAttr(getF("eps", 1e-8)),
            b.getF64FloatAttr(getF("wd", 0.0)));
        results.append({step.getNewParam(), step.getNewM(), step.getNewV()});
      } else {
        auto step = b.create<ftlt::SgdOp>(
            loc, p, g, entry->getArgument(i + 2), lr, lrScale,
            b.getF64FloatAttr(getF("momentum", 0.0)),
            b.getF64FloatAttr(getF("wd", 0.0)));
        results.append({step.getNewParam(), step.getNewBuf()});
      }
    }
    b.create<func::ReturnOp>(loc, results);
    return fn;
  }

  /// The batch arguments of one term, in order.
  static SmallVector<StringRef> batchArgsOf(const TrainPlan &plan,
                                            const ::ftl::PlannedTerm &term) {
    if (term.isRegulariser())
      return {"scale"};
    SmallVector<StringRef> args = {"ids",       "targets",  "weights",
                                   "positions", "segments", "scale"};
    if (term.isPreference())
      args.push_back("ref_logp");
    if (term.isKl())
      args.push_back("ref_hidden");
    if (plan.virtualTokens)
      args.append({"virtual", "slots"});
    return args;
  }

  func::FuncOp buildLossFunction(ModuleOp module, const TrainPlan &plan,
                                 size_t index) {
    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    Location loc = const_cast<fd::TrainOp &>(plan.train).getLoc();
    auto f32 = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, b.getF32Type());
    };
    auto i32 = [&](int64_t n) {
      return RankedTensorType::get({n}, b.getI32Type());
    };
    auto scalar = RankedTensorType::get({}, b.getF32Type());

    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    for (const PlannedTensor &t : plan.tensors) {
      argTypes.push_back(f32(t.shape));
      SmallVector<NamedAttribute> attrs = {
          b.getNamedAttr("ftl.param", b.getStringAttr(t.name))};
      if (t.trainable)
        attrs.push_back(b.getNamedAttr("ftl.trainable", b.getUnitAttr()));
      argAttrs.push_back(b.getDictionaryAttr(attrs));
    }
    // Per term: its batch tensors (token losses and preference pairs) or its
    // scale (regularisers), named "<term>.<what>".
    SmallVector<unsigned> termArgBase;
    const int64_t dim = plan.model.info.dim, vocab = plan.model.info.vocab;
    for (auto [term, planned] : llvm::enumerate(plan.terms)) {
      termArgBase.push_back(argTypes.size());
      int64_t n = planned.rows * plan.seq;
      for (StringRef w : batchArgsOf(plan, planned)) {
        argTypes.push_back(w == "weights" || w == "virtual" ? (Type)f32({n})
                           : w == "scale"                   ? (Type)scalar
                           : w == "ref_logp"   ? (Type)f32({planned.rows})
                           : w == "ref_hidden" ? (Type)f32({n, dim})
                                               : (Type)i32(n));
        argAttrs.push_back(b.getDictionaryAttr(
            {b.getNamedAttr("ftl.batch", b.getStringAttr(std::to_string(term) +
                                                         "." + w.str()))}));
      }
    }
    // Regularisers towards the initial values read them as arguments.
    llvm::StringMap<unsigned> initArg;
    for (const ::ftl::PlannedTerm &term : plan.terms)
      if (term.isRegulariser() && term.toInit)
        for (const std::string &name : term.tensors)
          if (!initArg.count(name)) {
            const PlannedTensor &t =
                *llvm::find_if(plan.tensors, [&](const PlannedTensor &p) {
                  return p.name == name;
                });
            initArg[name] = argTypes.size();
            argTypes.push_back(f32(t.shape));
            argAttrs.push_back(b.getDictionaryAttr(
                {b.getNamedAttr("ftl.init", b.getStringAttr(name))}));
          }

    // LoRA dropout draws its masks from a per-step seed.
    int seedArg = -1;
    if (llvm::any_of(plan.loras,
                     [](const LoraPlacement &l) { return l.dropout > 0; })) {
      seedArg = argTypes.size();
      argTypes.push_back(RankedTensorType::get({1}, b.getI32Type()));
      argAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("ftl.dropout_seed", b.getUnitAttr())}));
    }

    // KL terms read the reference's LM head (the runtime binds the
    // reference's copy; with adapters and a frozen head it is the same
    // tensor).
    int refHeadArg = -1;
    if (llvm::any_of(plan.terms,
                     [](const ::ftl::PlannedTerm &t) { return t.isKl(); })) {
      refHeadArg = argTypes.size();
      argTypes.push_back(f32({vocab, dim}));
      argAttrs.push_back(b.getDictionaryAttr({b.getNamedAttr(
          "ftl.ref_param",
          b.getStringAttr(plan.model.info.tied ? "embed.weight"
                                               : "head.weight"))}));
    }

    auto fnType = b.getFunctionType(argTypes, {scalar});
    std::string name = "train" + std::to_string(index) + "_loss";
    b.setInsertionPointToEnd(module.getBody());
    auto fn = b.create<func::FuncOp>(loc, name, fnType);
    fn.setAllArgAttrs(argAttrs);
    fn->setAttr("ftl.loss", b.getUnitAttr());
    fn->setAttr("ftl.model", b.getStringAttr(plan.model.name));
    fn->setAttr("ftl.batch_shape",
                b.getDenseI64ArrayAttr({plan.batch, plan.seq}));
    fn->setAttr("ftl.recompute", b.getStringAttr(plan.recompute));
    fn.setPrivate();
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);

    llvm::StringMap<Value> params;
    for (auto [i, t] : llvm::enumerate(plan.tensors))
      params[t.name] = entry->getArgument(i);

    ForwardBuilder forward(b, loc, plan, params);
    if (seedArg >= 0)
      forward.setDropoutSeed(entry->getArgument(seedArg));
    Value total;
    for (auto [term, planned] : llvm::enumerate(plan.terms)) {
      auto arg = [&](unsigned k) {
        return entry->getArgument(termArgBase[term] + k);
      };
      Location termLoc = const_cast<fd::LossOp &>(planned.loss).getLoc();
      Value loss;
      if (planned.isRegulariser()) {
        loss = buildRegulariser(b, termLoc, planned, params, initArg, entry);
        loss = b.create<ftlt::ScaleByOp>(termLoc, loss, arg(0));
      } else {
        int64_t rows = planned.rows, n = rows * plan.seq;
        Value ids = arg(0), targets = arg(1), weights = arg(2),
              positions = arg(3), segments = arg(4), normaliser = arg(5);
        if (plan.virtualTokens) {
          unsigned first = batchArgsOf(plan, planned).size() - 2;
          forward.setVirtualSlots(arg(first), arg(first + 1));
        }
        Value sum;
        if (planned.isPreference()) {
          // The sequence log-probability of each row minus the
          // reference's, chosen minus rejected.
          Value logp = sequenceLogProb(b, termLoc, plan, forward, rows, ids,
                                       targets, weights, positions, segments);
          Value ratio = b.create<ftlt::SubOp>(termLoc, logp, arg(6));
          Value margin =
              b.create<ftlt::PairDiffOp>(termLoc, f32({rows / 2}), ratio);
          Value perPair = b.create<ftlt::PreferenceLossOp>(
              termLoc, margin.getType(), margin,
              b.getStringAttr(planned.preference),
              b.getF64FloatAttr(planned.beta),
              b.getF64FloatAttr(planned.labelSmoothing));
          sum = b.create<ftlt::SumOp>(termLoc, scalar, perPair);
        } else if (planned.isKl()) {
          // Both LM heads and KL(reference || model) in one chunked kernel.
          Value h = forward.hidden(ids, positions, segments, rows);
          sum = b.create<ftlt::LinearKlOp>(termLoc, scalar, f32({n}), f32({n}),
                                           h, forward.headWeight(), arg(6),
                                           entry->getArgument(refHeadArg),
                                           weights,
                                           b.getI64IntegerAttr(::ftl::kKlChunk))
                    .getLoss();
          (void)targets;
        } else {
          Value h = forward.hidden(ids, positions, segments, rows);
          Value logits =
              b.create<ftlt::LinearOp>(termLoc, f32({n, plan.model.info.vocab}),
                                       h, forward.headWeight(), Value());
          if (planned.kind == "unlikelihood") {
            Value nll = b.create<ftlt::TokenNllOp>(termLoc, f32({n}), f32({n}),
                                                   logits, targets)
                            .getNll();
            Value ul =
                b.create<ftlt::UnlikelihoodOp>(termLoc, nll.getType(), nll);
            Value weighted = b.create<ftlt::MulOp>(termLoc, ul, weights);
            sum = b.create<ftlt::SumOp>(termLoc, scalar, weighted);
          } else {
            sum = b.create<ftlt::CrossEntropyOp>(termLoc, scalar, f32({n}),
                                                 logits, targets, weights)
                      .getLoss();
          }
        }
        loss = b.create<ftlt::ScaleByOp>(termLoc, sum, normaliser);
      }
      if (planned.weight != 1.0)
        loss = b.create<ftlt::ScaleOp>(termLoc, scalar, loss,
                                       b.getF64FloatAttr(planned.weight));
      total = total ? (Value)b.create<ftlt::AddOp>(termLoc, total, loss) : loss;
    }
    b.create<func::ReturnOp>(loc, total);
    return fn;
  }

  /// The sequence log-probabilities of every preference term's rows, and the
  /// final hidden states [rows * seq, dim] of every KL term's, in the same
  /// ops as the loss function computes the policy's (so a reference equal to
  /// the policy gives exactly zero log-ratios and KL). The runtime calls it
  /// with the reference's tensors; results are one per such term, in term
  /// order.
  func::FuncOp buildReferenceFunction(ModuleOp module, const TrainPlan &plan,
                                      size_t index) {
    OpBuilder b(module.getContext());
    Location loc = const_cast<fd::TrainOp &>(plan.train).getLoc();
    auto f32 = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, b.getF32Type());
    };
    SmallVector<Type> argTypes, resultTypes;
    SmallVector<DictionaryAttr> argAttrs;
    for (const PlannedTensor &t : plan.tensors) {
      argTypes.push_back(f32(t.shape));
      argAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("ftl.param", b.getStringAttr(t.name))}));
    }
    SmallVector<std::pair<size_t, unsigned>> prefTerms; // term, first arg
    for (auto [term, planned] : llvm::enumerate(plan.terms)) {
      if (!planned.needsReference())
        continue;
      prefTerms.push_back({term, argTypes.size()});
      int64_t n = planned.rows * plan.seq;
      for (StringRef w :
           {"ids", "targets", "weights", "positions", "segments"}) {
        argTypes.push_back(
            w == "weights" ? (Type)f32({n})
                           : (Type)RankedTensorType::get({n}, b.getI32Type()));
        argAttrs.push_back(b.getDictionaryAttr({b.getNamedAttr(
            "ftl.batch", b.getStringAttr(std::to_string(term) + "." + w))}));
      }
      resultTypes.push_back(planned.isKl() ? f32({n, plan.model.info.dim})
                                           : f32({planned.rows}));
    }
    b.setInsertionPointToEnd(module.getBody());
    auto fn = b.create<func::FuncOp>(
        loc, "train" + std::to_string(index) + "_reference",
        b.getFunctionType(argTypes, resultTypes));
    fn.setAllArgAttrs(argAttrs);
    fn->setAttr("ftl.reference", b.getUnitAttr());
    fn->setAttr("ftl.model", b.getStringAttr(plan.model.name));
    fn.setPrivate();
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    llvm::StringMap<Value> params;
    for (auto [i, t] : llvm::enumerate(plan.tensors))
      params[t.name] = entry->getArgument(i);
    ForwardBuilder forward(b, loc, plan, params);
    SmallVector<Value> results;
    for (auto [term, first] : prefTerms) {
      const ::ftl::PlannedTerm &planned = plan.terms[term];
      auto arg = [&](unsigned k) { return entry->getArgument(first + k); };
      Location termLoc = const_cast<fd::LossOp &>(planned.loss).getLoc();
      if (planned.isKl())
        results.push_back(forward.hidden(arg(0), arg(3), arg(4), planned.rows));
      else
        results.push_back(sequenceLogProb(b, termLoc, plan, forward,
                                          planned.rows, arg(0), arg(1), arg(2),
                                          arg(3), arg(4)));
    }
    b.create<func::ReturnOp>(loc, results);
    return fn;
  }

  /// log p of each row: -sum over its tokens of weight * NLL.
  static Value sequenceLogProb(OpBuilder &b, Location loc,
                               const TrainPlan &plan, ForwardBuilder &forward,
                               int64_t rows, Value ids, Value targets,
                               Value weights, Value positions, Value segments) {
    int64_t n = rows * plan.seq, vocab = plan.model.info.vocab;
    auto f32 = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, b.getF32Type());
    };
    Value h = forward.hidden(ids, positions, segments, rows);
    Value logits = b.create<ftlt::LinearOp>(loc, f32({n, vocab}), h,
                                            forward.headWeight(), Value());
    Value nll =
        b.create<ftlt::TokenNllOp>(loc, f32({n}), f32({n}), logits, targets)
            .getNll();
    Value weighted = b.create<ftlt::MulOp>(loc, nll, weights);
    Value seqNll = b.create<ftlt::SeqSumOp>(loc, f32({rows}), weighted,
                                            b.getI64IntegerAttr(plan.seq));
    return b.create<ftlt::ScaleOp>(loc, seqNll.getType(), seqNll,
                                   b.getF64FloatAttr(-1));
  }

  /// The sum of squares (l2) or of absolute values (l1) of a regulariser's
  /// tensors (or of their distance to their initial values).
  Value buildRegulariser(OpBuilder &b, Location loc,
                         const ::ftl::PlannedTerm &term,
                         const llvm::StringMap<Value> &params,
                         const llvm::StringMap<unsigned> &initArg,
                         Block *entry) {
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    Value total;
    for (const std::string &name : term.tensors) {
      Value p = params.lookup(name);
      if (term.toInit)
        p = b.create<ftlt::SubOp>(loc, p,
                                  entry->getArgument(initArg.lookup(name)));
      Value penalty = term.kind == "l1"
                          ? (Value)b.create<ftlt::AbsOp>(loc, p)
                          : (Value)b.create<ftlt::MulOp>(loc, p, p);
      Value s = b.create<ftlt::SumOp>(loc, scalar, penalty);
      total = total ? (Value)b.create<ftlt::AddOp>(loc, total, s) : s;
    }
    return total;
  }
};

} // namespace
