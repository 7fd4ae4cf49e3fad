//===- TrainPlan.cpp - What one ftl.train trains --------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Conversion/TrainPlan.h"

#include "ftl/Dialect/FTL/IR/FTLOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

using namespace mlir;
using ::ftl::BlockAdapterPlacement;
using ::ftl::LoraPlacement;
using ::ftl::ModelShape;
using ::ftl::PlannedTensor;
using ::ftl::PlannedTerm;
using ::ftl::TrainPlan;
namespace fd = mlir::ftl;

std::string LoraPlacement::aName() const {
  return adapter + "." + llvm::StringRef(weight).drop_back(7).str() + ".lora_A";
}

std::string LoraPlacement::bName() const {
  return adapter + "." + llvm::StringRef(weight).drop_back(7).str() + ".lora_B";
}

std::string LoraPlacement::mName() const {
  return adapter + "." + llvm::StringRef(weight).drop_back(7).str() +
         ".lora_magnitude";
}

int64_t PlannedTensor::numel() const {
  int64_t size = 1;
  for (int64_t d : shape)
    size *= d;
  return size;
}

int64_t TrainPlan::numTrainable() const {
  int64_t n = 0;
  for (const PlannedTensor &t : tensors)
    if (t.trainable)
      n += t.numTrainable();
  return n;
}

int64_t(::ftl::layerOfTensor)(StringRef tensor) {
  SmallVector<StringRef, 8> parts;
  tensor.split(parts, '.');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int64_t layer;
    if (parts[i] == "layers" && !parts[i + 1].getAsInteger(10, layer))
      return layer;
  }
  return -1;
}

double(::ftl::lrScaleOf)(StringRef tensor, int64_t layers, double decay) {
  if (decay == 1)
    return 1;
  int64_t layer = ::ftl::layerOfTensor(tensor);
  if (layer >= 0)
    return std::pow(decay, double(layers - 1 - layer));
  // Base or adapter tensors of the embeddings sit below layer 0.
  SmallVector<StringRef, 8> parts;
  tensor.split(parts, '.');
  if (llvm::is_contained(parts, "embed") ||
      llvm::is_contained(parts, "pos_embed"))
    return std::pow(decay, double(layers));
  return 1; // final norm, head
}

/// The module ("layers.0.attn.q") and its category (attn, mlp, norm) of a
/// tensor in a layer.
static std::pair<std::string, std::string> halfModuleOf(StringRef tensor) {
  StringRef module = tensor.rsplit('.').first; // drop weight/bias
  SmallVector<StringRef, 6> parts;
  module.split(parts, '.');
  std::string category;
  if (parts.size() >= 3) {
    if (parts[2] == "attn_norm" || parts[2] == "mlp_norm")
      category = "norm";
    else if (parts[2] == "attn" || parts[2] == "mlp")
      category = parts[2].str();
  }
  return {module.str(), category};
}

/// Whether `tensor` is a weight sparse fine-tuning can train: a linear
/// layer's matrix (attention and MLP projections, an untied head).
static bool isLinearWeight(StringRef tensor) {
  if (!tensor.ends_with(".weight"))
    return false;
  return tensor.contains(".attn.") || tensor.contains(".mlp.") ||
         tensor == "head.weight";
}

FailureOr<ModelShape>(::ftl::modelShapeOf)(Value model) {
  Operation *def = model.getDefiningOp();
  // Snapshots and merges have the shape of their source.
  while (def) {
    if (auto snap = dyn_cast<fd::ModelSnapshotOp>(def)) {
      def = snap.getSource().getDefiningOp();
      continue;
    }
    if (auto merge = dyn_cast<fd::ModelMergeOp>(def)) {
      def = merge.getBase().getDefiningOp();
      continue;
    }
    break;
  }
  if (!def || !isa<fd::ModelBuildOp, fd::ModelLoadOp>(def))
    return failure();
  auto getInt = [&](StringRef key, int64_t fallback) {
    if (auto a = def->getAttrOfType<IntegerAttr>(key))
      return a.getInt();
    return fallback;
  };
  auto getF = [&](StringRef key, double fallback) {
    if (auto a = def->getAttrOfType<FloatAttr>(key))
      return a.getValueAsDouble();
    return fallback;
  };
  auto getB = [&](StringRef key, bool fallback) {
    if (auto a = def->getAttrOfType<BoolAttr>(key))
      return a.getValue();
    return fallback;
  };
  ModelShape shape;
  StringRef arch;
  if (auto build = dyn_cast<fd::ModelBuildOp>(def)) {
    arch = build.getArch();
    shape.name = build.getName().str();
  } else {
    auto load = cast<fd::ModelLoadOp>(def);
    auto archAttr = def->getAttrOfType<StringAttr>("arch");
    if (!archAttr)
      return def->emitError("the configuration of model folder '")
             << load.getPath() << "' was not read";
    arch = archAttr.getValue();
    shape.name = load.getName().str();
  }
  bool gpt2 = arch == "gpt2";
  ::ftl::lang::ModelInfo &info = shape.info;
  info.arch = gpt2 ? ::ftl::lang::ModelInfo::Arch::GPT2
                   : ::ftl::lang::ModelInfo::Arch::Llama;
  info.vocab = getInt("vocab", 0);
  info.dim = getInt("dim", 0);
  info.layers = getInt("layers", 0);
  info.heads = getInt("heads", 0);
  info.kvHeads = getInt("kv_heads", info.heads);
  info.ffn = getInt("ffn", gpt2 ? 4 * info.dim : 0);
  info.ctx = getInt("ctx", gpt2 ? 1024 : 2048);
  info.tied = gpt2 || getB("tied", false);
  info.qkvBias = gpt2 || getB("qkv_bias", false);
  info.source = shape.name;
  shape.ropeTheta = getF("rope_theta", 10000);
  shape.normEps = getF("norm_eps", 1e-5);
  shape.initStd = getF("init_std", 0.02);
  if (info.vocab <= 0 || info.dim <= 0 || info.layers <= 0 || info.heads <= 0)
    return def->emitError("model '") << shape.name << "' has no usable shape";
  return shape;
}

/// Whether two `ref:` operands name the same model: the same value, or two
/// `frozen(m)` / `snapshot(m)` of the same model written twice.
static bool sameReference(Value a, Value b) {
  if (a == b)
    return true;
  Operation *x = a ? a.getDefiningOp() : nullptr;
  Operation *y = b ? b.getDefiningOp() : nullptr;
  return x && y && isa<fd::ModelSnapshotOp>(x) &&
         x->getName() == y->getName() && x->getOperands() == y->getOperands() &&
         x->getAttrDictionary() == y->getAttrDictionary() &&
         x->getBlock() == y->getBlock();
}

/// Adds the terms of `objective` with their weights.
bool(::ftl::isLowerableLoss)(StringRef kind) {
  return kind == "sft" || kind == "lm" || kind == "unlikelihood" ||
         kind == "kl" || kind == "dpo" || kind == "l2" || kind == "l1";
}

Value(::ftl::PlannedTerm::reference)() const {
  auto op = const_cast<fd::LossOp &>(loss);
  for (auto [name, input] : llvm::zip(op.getOperandNames(), op.getInputs()))
    if (cast<StringAttr>(name).getValue() == "ref")
      return input;
  return Value();
}

static LogicalResult collectTerms(Value objective, double weight, int group,
                                  StringRef balance,
                                  std::vector<::ftl::PlannedGroup> &groups,
                                  std::vector<PlannedTerm> &terms) {
  Operation *def = objective.getDefiningOp();
  if (auto loss = dyn_cast_or_null<fd::LossOp>(def)) {
    PlannedTerm term;
    term.loss = loss;
    term.kind = loss.getName().str();
    term.weight = weight;
    term.group = group;
    term.balance = balance.str();
    if (auto a = loss->getAttrOfType<FloatAttr>("beta"))
      term.beta = a.getValueAsDouble();
    if (auto a = loss->getAttrOfType<FloatAttr>("label_smoothing"))
      term.labelSmoothing = a.getValueAsDouble();
    if (auto a = loss->getAttrOfType<StringAttr>("loss"))
      term.preference = a.getValue().str();
    if (auto a = loss->getAttrOfType<BoolAttr>("to_init"))
      term.toInit = a.getValue();
    if (auto a = loss->getAttrOfType<StringAttr>("norm"))
      term.norm = a.getValue().str();
    if (term.norm != "tokens" && group >= 0)
      return loss.emitError("a term inside balance(...) is normalised by the "
                            "balance mode; leave out norm: ")
             << term.norm;
    // Input masks (Masked Thought) corrupt the batch at run time and do not
    // change the step function; only token losses read inputs that way.
    for (Attribute name : loss.getOperandNames())
      if (cast<StringAttr>(name).getValue() == "mask" && term.kind != "sft" &&
          term.kind != "lm")
        return loss.emitError("an input mask applies to 'sft' and 'lm' "
                              "terms only");
    terms.push_back(std::move(term));
    return success();
  }
  if (auto sum = dyn_cast_or_null<fd::ObjectiveSumOp>(def)) {
    int inner = group;
    std::string mode = balance.str();
    if (auto by = sum->getAttrOfType<StringAttr>("balance")) {
      if (group >= 0)
        return sum.emitError("a balance(...) inside another balance(...) "
                             "is ambiguous; flatten it into one");
      inner = int(groups.size());
      mode = by.getValue().str();
      ::ftl::PlannedGroup g;
      g.mode = mode;
      g.validation.assign(sum.getValidation().begin(),
                          sum.getValidation().end());
      auto integer = [&](StringRef name, int64_t &out) -> LogicalResult {
        if (auto a = sum->getAttrOfType<IntegerAttr>(name))
          out = a.getInt();
        if (out < (name == "every" || name == "history" ? 1 : 0))
          return sum.emitError("balance(by: coba): '")
                 << name << "' must be "
                 << (name == "warmup" ? "0 or more" : "positive") << ", found "
                 << out;
        return success();
      };
      if (failed(integer("warmup", g.warmup)) ||
          failed(integer("history", g.history)) ||
          failed(integer("every", g.every)))
        return failure();
      if (g.history < 2)
        return sum.emitError("balance(by: coba): 'history' must be at least "
                             "2 (a slope needs two validation losses)");
      if (auto a = sum->getAttrOfType<FloatAttr>("tau"))
        g.tau = a.getValueAsDouble();
      if (!(g.tau > 0))
        return sum.emitError("balance(by: coba): 'tau' must be above 0");
      if (mode != "coba")
        for (StringRef name : {"warmup", "history", "tau", "every"})
          if (sum->hasAttr(name))
            return sum.emitError("'")
                   << name << ":' is read by balance(by: coba) alone";
      groups.push_back(std::move(g));
    }
    for (Value term : sum.getTerms())
      if (failed(collectTerms(term, weight, inner, mode, groups, terms)))
        return failure();
    return success();
  }
  if (auto scale = dyn_cast_or_null<fd::ObjectiveScaleOp>(def)) {
    auto constant = scale.getWeight().getDefiningOp<arith::ConstantOp>();
    auto floatAttr =
        constant ? dyn_cast<FloatAttr>(constant.getValue()) : FloatAttr();
    if (!floatAttr)
      return scale.emitError("a loss weight must be a constant number");
    double w = floatAttr.getValueAsDouble();
    if (!std::isfinite(w))
      return scale.emitError("a loss weight must be finite");
    return collectTerms(scale.getTerm(), weight * w, group, balance, groups,
                        terms);
  }
  if (def)
    return def->emitError("this does not define an objective the compiler "
                          "can lower");
  return failure();
}

/// The modules of a `half(...)` adapter, grouped by layer and category.
static LogicalResult planHalf(fd::AdapterOp adapter, TrainPlan &plan,
                              llvm::StringSet<> &owned) {
  ::ftl::HalfPlacement half;
  half.adapter = adapter.getName().str();
  if (auto r = adapter.getConfig().getAs<IntegerAttr>("regroup_every"))
    half.regroupEvery = r.getInt();
  if (half.regroupEvery < 0)
    return adapter.emitError("'regroup_every' must be 0 (one group per "
                             "train) or a positive number of steps, found ")
           << half.regroupEvery;
  for (Attribute t : adapter.getTensors()) {
    StringRef tensor = cast<StringAttr>(t).getValue();
    int64_t layer = ::ftl::layerOfTensor(tensor);
    auto [module, category] = halfModuleOf(tensor);
    if (layer < 0 || category.empty())
      return adapter.emitError("half fine-tuning regroups the parameters of "
                               "transformer layers; '")
             << tensor << "' is not in a layer";
    auto it = llvm::find_if(half.modules,
                            [&](const auto &m) { return m.name == module; });
    if (it == half.modules.end()) {
      half.modules.push_back({layer, category, module, {}});
      it = std::prev(half.modules.end());
    }
    it->tensors.push_back(tensor.str());
    owned.insert(tensor);
  }
  plan.halves.push_back(std::move(half));
  return success();
}

std::string BlockAdapterPlacement::prefix() const {
  return adapter + ".layers." + std::to_string(layer) + "." + block +
         ".adapter";
}

FailureOr<std::vector<::ftl::BlockAdapterPlacement>>(::ftl::planBlockAdapters)(
    fd::AdapterOp adapter, const ::ftl::lang::ModelInfo &model) {
  DictionaryAttr config = adapter.getConfig();
  ::ftl::BlockAdapterPlacement proto;
  proto.adapter = adapter.getName().str();
  proto.kind = adapter.getKind().str();
  proto.dim = model.dim;
  if (proto.kind == "parallel") {
    if (auto r = config.getAs<IntegerAttr>("rank"))
      proto.hidden = r.getInt();
    if (auto sc = config.getAs<FloatAttr>("scale"))
      proto.scale = sc.getValueAsDouble();
  } else {
    if (auto d = config.getAs<IntegerAttr>("dim"))
      proto.hidden = d.getInt();
    if (auto p = config.getAs<StringAttr>("placement"))
      proto.serial = p.getValue() == "serial";
    if (auto a = config.getAs<StringAttr>("act"))
      proto.act = a.getValue().str();
  }
  if (proto.hidden <= 0)
    return adapter.emitError("the bottleneck of '")
           << adapter.getName() << "' must have a positive size";
  // One module per (layer, sub-layer) holding a selected tensor, in order.
  std::vector<::ftl::BlockAdapterPlacement> out;
  for (Attribute t : adapter.getTensors()) {
    SmallVector<StringRef, 4> parts;
    cast<StringAttr>(t).getValue().split(parts, '.');
    int64_t layer = 0;
    if (parts.size() < 3 || parts[0] != "layers" ||
        parts[1].getAsInteger(10, layer) ||
        (parts[2] != "attn" && parts[2] != "mlp"))
      return adapter.emitError("a ")
             << proto.kind
             << " adapter sits beside an attention or MLP sub-layer; '"
             << cast<StringAttr>(t).getValue() << "' is in neither";
    if (llvm::any_of(out, [&](const ::ftl::BlockAdapterPlacement &p) {
          return p.layer == layer && p.block == parts[2];
        }))
      continue;
    ::ftl::BlockAdapterPlacement p = proto;
    p.layer = layer;
    p.block = parts[2].str();
    out.push_back(std::move(p));
  }
  return out;
}

/// The [rows, cols] of the model's matrix `tensor`; an error at `adapter`
/// if it has none.
static LogicalResult matrixShape(fd::AdapterOp adapter,
                                 const ::ftl::lang::ModelInfo &model,
                                 StringRef tensor, int64_t &rows,
                                 int64_t &cols) {
  for (const ::ftl::lang::ParamTensor &p : ::ftl::lang::enumerateParams(model))
    if (p.name == tensor && p.shape.size() == 2) {
      rows = p.shape[0];
      cols = p.shape[1];
      return success();
    }
  return adapter.emitError("model has no matrix '") << tensor << "'";
}

/// `structured(heads: h, channels: c)` (S2FT): per layer, h key/value heads
/// (their rows of q, k and v, and their query heads' columns of o) and c MLP
/// channels (rows of gate and up, columns of down) train whole.
static FailureOr<std::vector<::ftl::SparsePlacement>>
planStructured(fd::AdapterOp adapter, const ::ftl::lang::ModelInfo &model) {
  DictionaryAttr config = adapter.getConfig();
  int64_t heads = 0, channels = 0;
  if (auto h = config.getAs<IntegerAttr>("heads"))
    heads = h.getInt();
  if (auto c = config.getAs<IntegerAttr>("channels"))
    channels = c.getInt();
  if (heads < 0 || heads > model.kvHeads)
    return adapter.emitError("'heads' must be from 0 to the model's ")
           << model.kvHeads << " key/value heads, found " << heads;
  if (channels < 0 || channels > model.ffn)
    return adapter.emitError("'channels' must be from 0 to the model's ")
           << model.ffn << " MLP channels, found " << channels;
  if (heads == 0 && channels == 0)
    return adapter.emitError("structured(...) trains nothing: give 'heads' "
                             "or 'channels'");
  const int64_t hd = model.headDim(), group = model.heads / model.kvHeads;
  std::vector<::ftl::SparsePlacement> placements;
  for (Attribute t : adapter.getTensors()) {
    StringRef tensor = cast<StringAttr>(t).getValue();
    if (tensor.ends_with(".bias"))
      continue; // biases of selected layers stay as they are
    SmallVector<StringRef, 5> parts;
    tensor.split(parts, '.');
    int64_t layer = 0;
    if (parts.size() != 5 || parts[0] != "layers" ||
        parts[1].getAsInteger(10, layer))
      return adapter.emitError("structured fine-tuning trains heads and "
                               "channels of attention and MLP weights; '")
             << tensor << "' is not one";
    std::string module = (parts[2] + "." + parts[3]).str();
    ::ftl::SparsePlacement sp;
    sp.adapter = adapter.getName().str();
    sp.weight = tensor.str();
    sp.pick = "structured";
    sp.layer = layer;
    if (module == "attn.q" || module == "attn.k" || module == "attn.v" ||
        module == "attn.o") {
      if (heads == 0)
        continue;
      sp.blockKind = "heads";
      sp.blockUnits = model.kvHeads;
      sp.blockChosen = heads;
      sp.blockWidth =
          module == "attn.k" || module == "attn.v" ? hd : group * hd;
      sp.blockCols = module == "attn.o";
    } else if (module == "mlp.gate" || module == "mlp.up" ||
               module == "mlp.down") {
      if (channels == 0)
        continue;
      sp.blockKind = "channels";
      sp.blockUnits = model.ffn;
      sp.blockChosen = channels;
      sp.blockWidth = 1;
      sp.blockCols = module == "mlp.down";
    } else {
      return adapter.emitError("structured fine-tuning trains heads and "
                               "channels of attention and MLP weights; '")
             << tensor << "' is not one";
    }
    if (failed(matrixShape(adapter, model, tensor, sp.rows, sp.cols)))
      return failure();
    sp.numel = sp.rows * sp.cols;
    int64_t across = sp.blockCols ? sp.rows : sp.cols;
    sp.k = sp.blockChosen * sp.blockWidth * across;
    sp.density = double(sp.k) / double(sp.numel);
    placements.push_back(std::move(sp));
  }
  return placements;
}

/// The base weights of a `sparse(...)` adapter and how their entries are
/// picked.
FailureOr<std::vector<::ftl::SparsePlacement>>(::ftl::planSparse)(
    fd::AdapterOp adapter, const ::ftl::lang::ModelInfo &model) {
  if (adapter.getKind() == "structured")
    return planStructured(adapter, model);
  std::vector<::ftl::SparsePlacement> placements;
  DictionaryAttr config = adapter.getConfig();
  double density = 0;
  if (auto d = config.getAs<FloatAttr>("density"))
    density = d.getValueAsDouble();
  if (!(density > 0 && density <= 1))
    return adapter.emitError("'density' must be above 0 and at most 1, "
                             "found ")
           << density;
  int64_t refresh = 0;
  if (auto r = config.getAs<IntegerAttr>("refresh"))
    refresh = r.getInt();
  if (refresh < 0)
    return adapter.emitError("'refresh' must be 0 (never) or a positive "
                             "number of steps, found ")
           << refresh;
  std::string pick = "random";
  int64_t rank = 0;
  for (auto [name, input] :
       llvm::zip(adapter.getOperandNames(), adapter.getInputs())) {
    if (cast<StringAttr>(name).getValue() != "pick")
      continue;
    auto make = input.getDefiningOp<fd::MakeOp>();
    if (!make)
      return adapter.emitError("the pick of a sparse adapter must be "
                               "random(), magnitude(), principal(rank: r) "
                               "or lottery(from: m0)");
    pick = make.getName().str();
    if (pick != "random" && pick != "magnitude" && pick != "principal" &&
        pick != "lottery")
      return make.emitError("'")
             << pick << "' cannot pick sparse entries; "
             << "expected random(), magnitude(), principal(rank: r) or "
                "lottery(from: m0)";
    // A lottery ticket is found once, from a finished fine-tuning; there is
    // nothing to re-pick it from later.
    if (pick == "lottery" && refresh > 0)
      return adapter.emitError("a lottery(from: ...) pick is made once; "
                               "leave out 'refresh'");
    if (pick == "random" && make->hasAttr("rate")) {
      auto rate = make->getAttrOfType<FloatAttr>("rate");
      if (rate && rate.getValueAsDouble() != 0)
        return make.emitError("random() picks sparse entries by the "
                              "adapter's 'density'; its 'rate' is for input "
                              "masking and must be left out here");
    }
    if (auto r = make->getAttrOfType<IntegerAttr>("rank"))
      rank = r.getInt();
  }
  for (Attribute t : adapter.getTensors()) {
    StringRef tensor = cast<StringAttr>(t).getValue();
    if (tensor.ends_with(".bias"))
      continue; // biases of selected linear layers stay as they are
    if (!isLinearWeight(tensor))
      return adapter.emitError("sparse fine-tuning trains entries of linear "
                               "weights (attn, mlp, head); '")
             << tensor << "' is not one";
    ::ftl::SparsePlacement sp;
    if (failed(matrixShape(adapter, model, tensor, sp.rows, sp.cols)))
      return failure();
    sp.adapter = adapter.getName().str();
    sp.weight = tensor.str();
    sp.density = density;
    sp.numel = sp.rows * sp.cols;
    sp.k = std::clamp<int64_t>(std::llround(density * double(sp.numel)), 1,
                               sp.numel);
    sp.pick = pick;
    sp.rank = rank;
    sp.refresh = refresh;
    if (pick == "principal" && (rank <= 0 || rank > std::min(sp.rows, sp.cols)))
      return adapter.emitError("principal(rank: ")
             << rank << ") needs a rank from 1 to "
             << std::min(sp.rows, sp.cols) << " for '" << tensor << "' ["
             << sp.rows << "x" << sp.cols << "]";
    if (sp.numel > int64_t(UINT32_MAX))
      return adapter.emitError("'")
             << tensor << "' has too many entries "
             << "for sparse fine-tuning (at most 2^32 - 1)";
    placements.push_back(std::move(sp));
  }
  return placements;
}

FailureOr<TrainPlan>(::ftl::planTrain)(fd::TrainOp train) {
  TrainPlan plan;
  plan.train = train;
  FailureOr<ModelShape> shape = ::ftl::modelShapeOf(train.getModel());
  if (failed(shape))
    return train.emitError("cannot determine the shape of the trained model");
  plan.model = *shape;

  auto intAttr = [&](StringRef key, int64_t fallback) {
    if (auto a = train->getAttrOfType<IntegerAttr>(key))
      return a.getInt();
    return fallback;
  };
  plan.batch = intAttr("batch", 8);
  plan.seq = intAttr("seq", std::min<int64_t>(plan.model.info.ctx, 256));
  plan.steps = intAttr("steps", 0);
  plan.epochs = intAttr("epochs", 0);
  plan.accumulate = intAttr("accumulate", 1);
  if (auto clip = train->getAttrOfType<FloatAttr>("clip"))
    plan.clip = clip.getValueAsDouble();
  if (auto r = train->getAttrOfType<StringAttr>("recompute"))
    plan.recompute = r.getValue().str();
  if (plan.seq > plan.model.info.ctx &&
      plan.model.info.arch == ::ftl::lang::ModelInfo::Arch::GPT2)
    return train.emitError("'seq' (")
           << plan.seq << ") exceeds the model's learned positions ("
           << plan.model.info.ctx << ")";

  if (failed(collectTerms(train.getObjective(), 1.0, -1, "", plan.groups,
                          plan.terms)))
    return failure();
  // CoBa weighs each task by how its validation loss converges: token
  // losses, one per task.
  for (const PlannedTerm &term : plan.terms)
    if (term.group >= 0 && plan.groups[term.group].mode == "coba" &&
        (term.isRegulariserKind() || term.kind == "dpo"))
      return const_cast<fd::LossOp &>(term.loss).emitError(
                 "balance(by: coba) weighs token losses (sft, lm, "
                 "unlikelihood, kl), one per task; '")
             << term.kind << "' is not one";
  for (auto [index, group] : llvm::enumerate(plan.groups)) {
    if (group.mode != "coba")
      continue;
    size_t count = llvm::count_if(plan.terms, [&](const PlannedTerm &t) {
      return t.group == int(index);
    });
    if (count != group.validation.size())
      return train.emitError("balance(by: coba) needs one loss term per task "
                             "(and one validation set each): it has ")
             << count << " terms for " << group.validation.size()
             << " validation sets";
  }
  for (PlannedTerm &term : plan.terms) {
    if (!::ftl::isLowerableLoss(term.kind))
      return term.loss.emitError("not implemented yet: loss '")
             << term.kind << "' in a step function";
    term.rows = term.isRegulariserKind() ? 0
                : term.kind == "dpo"     ? 2 * plan.batch
                                         : plan.batch;
  }
  // One reference per train: every preference and KL term compares with
  // the same model.
  PlannedTerm *firstRef = nullptr;
  for (PlannedTerm &term : plan.terms) {
    if (!term.needsReference())
      continue;
    if (!firstRef) {
      firstRef = &term;
      continue;
    }
    if (!sameReference(term.reference(), firstRef->reference())) {
      InFlightDiagnostic diag =
          term.loss.emitError("this '")
          << term.kind
          << "' term names another reference than the train's first '"
          << firstRef->kind << "' term; one train has one reference";
      diag.attachNote(firstRef->loss.getLoc()) << "the first reference here";
      return diag;
    }
  }

  // Adapters, freezes and excepts that precede this train in its block (or
  // an enclosing one) apply to it.
  Value model = train.getModel();
  llvm::StringSet<> frozen, unfrozen, loraTargets;
  // Base tensors a sparse or half adapter owns: they train under its rule
  // whatever freeze says.
  llvm::StringSet<> ownedTensors;
  bool anyAdapter = false, explicitFreeze = false;
  SmallVector<Operation *> preceding;
  for (Operation *scope = train; scope && scope->getBlock();
       scope = scope->getParentOp()) {
    for (Operation *op = scope->getPrevNode(); op; op = op->getPrevNode())
      preceding.push_back(op);
  }
  std::reverse(preceding.begin(), preceding.end());
  for (Operation *op : preceding) {
    if (auto adapter = dyn_cast<fd::AdapterOp>(op)) {
      if (adapter.getModel() != model)
        continue;
      anyAdapter = true;
      if (adapter.getKind() == "load")
        return adapter.emitError(
            "not implemented yet: training a loaded PEFT adapter further "
            "(merge it into the model first, or place a new adapter)");
      if (adapter.getKind() == "half") {
        if (failed(planHalf(adapter, plan, ownedTensors)))
          return failure();
        continue;
      }
      if (adapter.getKind() == "sparse" || adapter.getKind() == "structured") {
        auto placed = ::ftl::planSparse(adapter, plan.model.info);
        if (failed(placed))
          return failure();
        for (::ftl::SparsePlacement &sp : *placed) {
          ownedTensors.insert(sp.weight);
          plan.sparse.push_back(std::move(sp));
        }
        continue;
      }
      if (adapter.getKind() == "parallel" ||
          adapter.getKind() == "bottleneck") {
        auto placed = ::ftl::planBlockAdapters(adapter, plan.model.info);
        if (failed(placed))
          return failure();
        for (::ftl::BlockAdapterPlacement &p : *placed)
          plan.blockAdapters.push_back(std::move(p));
        continue;
      }
      if (adapter.getKind() == "prompt" || adapter.getKind() == "prefix") {
        if (plan.virtualTokens)
          return adapter.emitError("not implemented yet: a second prompt or "
                                   "prefix adapter on model '")
                 << plan.model.name << "' ('" << plan.virtualTokens->adapter
                 << "' is placed already)";
        ::ftl::VirtualTokenPlacement v;
        v.adapter = adapter.getName().str();
        v.kind = adapter.getKind().str();
        if (auto t = adapter.getConfig().getAs<IntegerAttr>("tokens"))
          v.tokens = t.getInt();
        if (auto r = adapter.getConfig().getAs<BoolAttr>("reparam");
            r && r.getValue())
          return adapter.emitError(
              "not implemented yet: prefix(reparam: true) (the MLP "
              "re-parameterisation of prefix tuning)");
        if (v.tokens <= 0)
          return adapter.emitError("'")
                 << v.kind << "' needs a positive number of tokens";
        plan.virtualTokens = std::move(v);
        continue;
      }
      if (adapter.getKind() != "lora")
        continue;
      DictionaryAttr config = adapter.getConfig();
      int64_t rank = 8;
      if (auto r = config.getAs<IntegerAttr>("rank"))
        rank = r.getInt();
      double alpha = double(rank);
      if (auto a = config.getAs<FloatAttr>("alpha"))
        alpha = a.getValueAsDouble();
      bool rslora = false;
      if (auto r = config.getAs<BoolAttr>("rslora"))
        rslora = r.getValue();
      double dropout = 0;
      if (auto d = config.getAs<FloatAttr>("dropout"))
        dropout = d.getValueAsDouble();
      bool dora = false;
      if (auto d = config.getAs<BoolAttr>("dora"))
        dora = d.getValue();
      if (dropout != 0 && dora) {
        char shown[32];
        std::snprintf(shown, sizeof(shown), "%g", dropout);
        return adapter.emitError("not implemented yet: lora(dropout: ")
               << shown << ") with DoRA (use dropout: 0)";
      }
      if (!(dropout >= 0 && dropout < 1))
        return adapter.emitError("lora 'dropout' must be in [0, 1)");
      for (Attribute t : adapter.getTensors()) {
        StringRef tensor = cast<StringAttr>(t).getValue();
        if (!tensor.ends_with(".weight"))
          continue; // LoRA updates weights; biases stay as they are
        if (!tensor.contains(".attn.") && !tensor.contains(".mlp."))
          return adapter.emitError("lora can only be placed on linear layers "
                                   "(attn, mlp); '")
                 << tensor << "' is not one";
        LoraPlacement lora;
        lora.adapter = adapter.getName().str();
        lora.weight = tensor.str();
        lora.rank = rank;
        lora.scale =
            rslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank);
        lora.dropout = dropout;
        if (auto init = config.getAs<StringAttr>("init")) {
          lora.pissa = init.getValue() == "pissa";
          lora.corda = init.getValue() == "corda";
        }
        if (auto d = config.getAs<BoolAttr>("dora"))
          lora.dora = d.getValue();
        if (lora.dora && plan.model.info.qkvBias &&
            (tensor.contains(".attn.q.") || tensor.contains(".attn.k.") ||
             tensor.contains(".attn.v.")))
          return adapter.emitError("not implemented yet: DoRA on a linear "
                                   "layer with a bias ('")
                 << tensor << "')";
        if (lora.dora &&
            plan.model.info.arch == ::ftl::lang::ModelInfo::Arch::GPT2)
          return adapter.emitError("not implemented yet: DoRA on GPT-2's "
                                   "linear layers (they have biases)");
        plan.loras.push_back(lora);
        loraTargets.insert(tensor);
      }
      continue;
    }
    if (auto freeze = dyn_cast<fd::FreezeOp>(op)) {
      if (freeze.getModel() != model)
        continue;
      explicitFreeze = true;
      for (Attribute t : freeze.getTensors())
        frozen.insert(cast<StringAttr>(t).getValue());
      for (Attribute t : freeze.getExceptTensors())
        unfrozen.insert(cast<StringAttr>(t).getValue());
    }
  }

  for (const ::ftl::lang::ParamTensor &p :
       ::ftl::lang::enumerateParams(plan.model.info)) {
    PlannedTensor t;
    t.name = p.name;
    t.shape = p.shape;
    bool isFrozen = explicitFreeze ? frozen.contains(p.name) : anyAdapter;
    t.trainable =
        !isFrozen || unfrozen.contains(p.name) || ownedTensors.contains(p.name);
    // Every entry trains at density 1: the tensor steps dense (gathering
    // would only add indices and copies).
    for (const ::ftl::SparsePlacement &sp : plan.sparse)
      if (sp.weight == p.name && sp.k < sp.numel)
        t.sparseK = sp.k;
    plan.tensors.push_back(std::move(t));
  }
  for (LoraPlacement &lora : plan.loras) {
    auto base = llvm::find_if(plan.tensors, [&](const PlannedTensor &t) {
      return t.name == lora.weight;
    });
    lora.out = base->shape[0];
    lora.in = base->shape[1];
    if ((lora.pissa || lora.corda) && lora.rank > std::min(lora.out, lora.in))
      return train.emitError("lora(init: ")
             << (lora.pissa ? "pissa" : "corda") << ") of rank " << lora.rank
             << " on '" << lora.weight << "' [" << lora.out << "x" << lora.in
             << "]: " << (lora.pissa ? "PiSSA" : "CorDA")
             << " needs a rank of at most " << std::min(lora.out, lora.in);
    plan.tensors.push_back({lora.aName(), {lora.rank, lora.in}, true, true});
    plan.tensors.push_back({lora.bName(), {lora.out, lora.rank}, true, true});
    if (lora.dora)
      plan.tensors.push_back({lora.mName(), {lora.out}, true, true});
  }
  for (const BlockAdapterPlacement &p : plan.blockAdapters) {
    std::string prefix = p.prefix();
    plan.tensors.push_back(
        {prefix + ".down.weight", {p.hidden, p.dim}, true, true});
    plan.tensors.push_back({prefix + ".down.bias", {p.hidden}, true, true});
    plan.tensors.push_back(
        {prefix + ".up.weight", {p.dim, p.hidden}, true, true});
    plan.tensors.push_back({prefix + ".up.bias", {p.dim}, true, true});
  }
  if (const auto &v = plan.virtualTokens) {
    const ::ftl::lang::ModelInfo &m = plan.model.info;
    if (v->tokens >= plan.seq)
      return train.emitError("'")
             << v->kind << "' adapter '" << v->adapter << "' has " << v->tokens
             << " virtual tokens, which leaves no room in rows of 'seq' "
             << plan.seq;
    if (v->kind == "prompt") {
      plan.tensors.push_back({v->promptName(), {v->tokens, m.dim}, true, true});
    } else {
      int64_t kvDim = m.kvHeads * m.headDim();
      for (int64_t l = 0; l < m.layers; ++l)
        for (bool value : {false, true})
          plan.tensors.push_back(
              {v->prefixName(l, value), {v->tokens, kvDim}, true, true});
    }
    // The reference of a preference or KL term would have to see the same
    // rows without the slots.
    for (PlannedTerm &term : plan.terms)
      if (term.needsReference())
        return term.loss.emitError("not implemented yet: a '")
               << term.kind << "' term with the " << v->kind << " adapter '"
               << v->adapter << "'";
  }
  // Layer-wise LR decay: a factor per tensor (AdamW's layer_decay).
  if (Value opt = train.getOptimizer())
    if (auto make = opt.getDefiningOp<fd::MakeOp>())
      if (auto d = make->getAttrOfType<FloatAttr>("layer_decay")) {
        plan.layerDecay = d.getValueAsDouble();
        if (!(plan.layerDecay > 0 && plan.layerDecay <= 1))
          return make.emitError("'layer_decay' must be in (0, 1], found ")
                 << plan.layerDecay;
      }
  for (PlannedTensor &t : plan.tensors)
    t.lrScale =
        ::ftl::lrScaleOf(t.name, plan.model.info.layers, plan.layerDecay);
  // Regularisers penalise the trainable tensors of what they name: an
  // adapter's tensors, or the model's trainable tensors.
  for (PlannedTerm &term : plan.terms) {
    if (!term.isRegulariser())
      continue;
    Value of = term.loss.getInputs()[0];
    auto adapter = of.getDefiningOp<fd::AdapterOp>();
    if (adapter && adapter.getModel() != model)
      return term.loss.emitError("adapter '")
             << adapter.getName() << "' is not on the trained model '"
             << plan.model.name << "'";
    if (!adapter && of != model)
      return term.loss.emitError("the regulariser names another model than "
                                 "the trained one, '")
             << plan.model.name << "'";
    std::string prefix = adapter ? (adapter.getName() + ".").str() : "";
    // Sparse and half adapters train base entries: the tensors they own.
    bool ownsBase = adapter && (adapter.getKind() == "sparse" ||
                                adapter.getKind() == "structured" ||
                                adapter.getKind() == "half");
    auto owned = [&](StringRef name) {
      return llvm::any_of(adapter.getTensors(), [&](Attribute a) {
        return cast<StringAttr>(a).getValue() == name;
      });
    };
    for (const PlannedTensor &t : plan.tensors)
      if (t.trainable && (!adapter   ? !t.isAdapter
                          : ownsBase ? !t.isAdapter && owned(t.name)
                                     : StringRef(t.name).starts_with(prefix)))
        term.tensors.push_back(t.name);
    if (term.tensors.empty())
      return term.loss.emitError("the regulariser has nothing to penalise: "
                                 "no trainable tensor of '")
             << (adapter ? adapter.getName() : StringRef(plan.model.name))
             << "' takes part in this train";
  }
  if (plan.numTrainable() == 0)
    return train.emitError("nothing in model '")
           << plan.model.name << "' trains";
  return plan;
}
