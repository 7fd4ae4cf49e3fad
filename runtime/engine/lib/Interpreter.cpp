//===- Interpreter.cpp - The pipeline interpreter -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Walks the ftl module in program order and gives every SSA value its run-time
// meaning: models (weights and adapter tensors), tokenizers, data pipelines
// (lazily built runtime/data datasets), metrics and loop variables. Training
// is delegated to the trainer, which runs the compiled step functions.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "AdapterSetup.h"
#include "Dora.h"
#include "SparseDiff.h"

#include "ftl/Adapters/Peft.h"
#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Data/RecordExpr.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Engine/Adapters.h"
#include "ftl/Engine/JitKernels.h"

#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/Init.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Runtime/FileUtil.h"
#include "llvm/ADT/ScopeExit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>

using namespace ftl::rt;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;
using llvm::StringRef;
using mlir::Attribute;
using mlir::Block;
using mlir::BoolAttr;
using mlir::DictionaryAttr;
using mlir::FileLineColLoc;
using mlir::FloatAttr;
using mlir::IntegerAttr;
using mlir::Location;
using mlir::ModuleOp;
using mlir::NamedAttribute;
using mlir::OpBuilder;
using mlir::Operation;
using mlir::Region;
using mlir::StringAttr;
using mlir::SymbolRefAttr;
using mlir::SymbolTable;
using mlir::WalkResult;
namespace arith = mlir::arith;
namespace func = mlir::func;
namespace fd = mlir::ftl;

Tensor *ModelState::find(llvm::StringRef name) {
  if (Tensor *t = weights.find(name))
    return t;
  auto it = adapterTensors.find(name.str());
  return it == adapterTensors.end() ? nullptr : &it->second;
}

static double nowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Interpreter::Interpreter(ModuleOp module, const RunOptions &options,
                         ::ftl::kernels::ThreadPool &pool)
    : module(module), options(options), pool(pool) {
  startTime = nowSeconds();
}

Interpreter::~Interpreter() = default;

double Interpreter::elapsed() const { return nowSeconds() - startTime; }

std::string Interpreter::where(Operation *op) const {
  std::string out;
  op->getLoc()->walk([&](Location l) {
    if (auto f = dyn_cast<FileLineColLoc>(l)) {
      out = (f.getFilename().getValue() + ":" + llvm::Twine(f.getLine()) + ":" +
             llvm::Twine(f.getColumn()))
                .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return out;
}

llvm::Error Interpreter::error(Operation *op,
                               const llvm::Twine &message) const {
  std::string w = where(op);
  return llvm::createStringError((w.empty() ? "" : w + ": ") + message.str());
}

std::string Interpreter::resolvePath(llvm::StringRef path) const {
  if (llvm::sys::path::is_absolute(path))
    return path.str();
  llvm::SmallString<256> full(options.sourceDir);
  llvm::sys::path::append(full, path);
  return full.str().str();
}

DataContext Interpreter::dataContext(const Tokenizer *tokenizer) {
  DataContext ctx;
  // Inside a loop each round draws its own shuffles and samples.
  ctx.seed = rng.derive("data" + roundSalt).seed();
  ctx.tokenizer = tokenizer;
  ctx.stats = &stats;
  return ctx;
}

llvm::Expected<DataValue *> Interpreter::data(mlir::Value v) {
  auto it = values.find(v);
  if (it == values.end() || !std::holds_alternative<DataValue>(it->second))
    return llvm::createStringError("internal: data value not computed");
  return &std::get<DataValue>(it->second);
}

llvm::Expected<std::shared_ptr<ModelState>> Interpreter::model(mlir::Value v) {
  auto it = values.find(v);
  if (it == values.end() ||
      !std::holds_alternative<std::shared_ptr<ModelState>>(it->second))
    return llvm::createStringError("internal: model value not computed");
  return std::get<std::shared_ptr<ModelState>>(it->second);
}

llvm::Expected<const Tokenizer *> Interpreter::tokenizerFor(Operation *op,
                                                            ModelState *m) {
  if (lastTokenizer)
    return lastTokenizer.get();
  if (m && m->tokenizer)
    return m->tokenizer.get();
  return error(op, "no tokenizer: declare one (`tokenizer tok = bytes()` or "
                   "`hf(\"tokenizer.json\")`) or load the model from a folder "
                   "with a tokenizer.json");
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

llvm::Error Interpreter::run() {
  uint64_t seed = 0;
  module.walk([&](fd::SeedOp op) { seed = uint64_t(op.getValue()); });
  rng = Rng(seed);

  // Fused groups: JIT-compiled (or interpreted, see JitKernels.h).
  auto compiled = makeFusedKernels(module);
  if (!compiled)
    return compiled.takeError();
  kernels = std::move(*compiled);

  // The run folder and its metrics log.
  RunInfo info;
  if (!options.commandLine.empty())
    info.commandLine = {options.commandLine};
  info.seed = seed;
  info.threads = unsigned(pool.numThreads());
  info.device = "cpu";
  info.resolvedIR = options.irText;
  module.walk([&](Operation *op) {
    if (auto s = dyn_cast<fd::DataSourceOp>(op))
      info.inputs.push_back({"data", resolvePath(s.getPath())});
    else if (auto t = dyn_cast<fd::TokenizerOp>(op)) {
      if (t.getPath())
        info.inputs.push_back({"tokenizer", resolvePath(*t.getPath())});
    } else if (auto l = dyn_cast<fd::ModelLoadOp>(op)) {
      std::error_code ec;
      std::string dir = resolvePath(l.getPath());
      for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
           it.increment(ec))
        if (llvm::sys::fs::is_regular_file(it->path()))
          info.inputs.push_back({"model", it->path()});
    }
  });
  indexOps();
  auto folder =
      options.resume
          ? RunFolder::resume(options.runsRoot, options.scriptPath, info)
          : RunFolder::create(options.runsRoot, options.scriptPath, info);
  if (!folder)
    return folder.takeError();
  runFolder.emplace(std::move(*folder));
  if (options.runFolderOut)
    *options.runFolderOut = runFolder->path();
  std::optional<uint64_t> keepMetrics;
  if (options.resume) {
    if (llvm::Error e = loadRoundCheckpoint())
      return e;
    // Without a finished round the run starts over in its folder.
    keepMetrics = resume ? resume->state.metricsOffset.value_or(0) : 0;
    if (!options.quiet)
      llvm::errs() << "resuming " << runFolder->path()
                   << (resume ? " after round " + std::to_string(resume->round)
                              : std::string(" from the start"))
                   << "\n";
  }
  auto log = MetricsLog::open(runFolder->metricsPath(), keepMetrics);
  if (!log)
    return log.takeError();
  metrics.emplace(std::move(*log));
  if (options.metricsListener)
    metrics->setListener(options.metricsListener);

  llvm::Error result = execBlock(*module.getBody());
  llvm::json::Object summary;
  if (result) {
    std::string message = llvm::toString(std::move(result));
    bool interrupted = llvm::StringRef(message).contains("interrupted");
    if (llvm::Error e = runFolder->finish(
            interrupted ? RunStatus::Interrupted : RunStatus::Failed, message))
      llvm::consumeError(std::move(e));
    return llvm::createStringError(message);
  }
  return runFolder->finish(RunStatus::Completed, "", summary);
}

llvm::Error Interpreter::execBlock(Block &block) {
  for (Operation &op : block)
    if (llvm::Error e = exec(&op))
      return e;
  return llvm::Error::success();
}

llvm::Error Interpreter::exec(Operation *op) {
  if (isa<func::FuncOp>(op))
    return llvm::Error::success(); // step functions: run by the trainer
  if (replaying(op))
    return llvm::Error::success();
  if (op->getDialect() && op->getDialect()->getNamespace() == "arith")
    return execScalar(op);
  return llvm::TypeSwitch<Operation *, llvm::Error>(op)
      .Case<fd::SeedOp, fd::MakeOp, fd::LossOp, fd::ObjectiveScaleOp,
            fd::ObjectiveSumOp, fd::FreezeOp, fd::YieldOp>(
          [](Operation *) { return llvm::Error::success(); })
      .Case<fd::ModelBuildOp>([&](Operation *o) { return execModelBuild(o); })
      .Case<fd::ModelLoadOp>([&](Operation *o) { return execModelLoad(o); })
      .Case<fd::ModelSnapshotOp>([&](fd::ModelSnapshotOp o) -> llvm::Error {
        auto source = model(o.getSource());
        if (!source)
          return source.takeError();
        auto copy = std::make_shared<ModelState>();
        copy->name = (*source)->name + " (snapshot)";
        copy->config = (*source)->config;
        copy->tokenizer = (*source)->tokenizer;
        for (auto &[name, t] : (*source)->weights)
          copy->weights.set(name, t.clone());
        // A frozen reference of a model with adapters is its base: the
        // adapters are left out.
        if (!o.getFrozen()) {
          for (auto &[name, t] : (*source)->adapterTensors)
            copy->adapterTensors[name] = t.clone();
          copy->loraScales = (*source)->loraScales;
          copy->blockAdapters = (*source)->blockAdapters;
          copy->virtualAdapter = (*source)->virtualAdapter;
          copy->virtualKind = (*source)->virtualKind;
        }
        values[o.getModel()] = copy;
        return llvm::Error::success();
      })
      .Case<fd::ModelMergeOp>([&](Operation *o) { return execMerge(o); })
      .Case<fd::ReinitOp>([&](fd::ReinitOp o) -> llvm::Error {
        // The same stream as when the model was built: a re-initialised
        // tensor equals the fresh model's, bit for bit.
        auto m = model(o.getModel());
        if (!m)
          return m.takeError();
        Rng init = rng.derive("init:" + (*m)->name);
        for (mlir::Attribute a : o.getTensors()) {
          llvm::StringRef name = cast<mlir::StringAttr>(a).getValue();
          const Tensor *t = (*m)->weights.find(name);
          if (!t)
            return error(o, "model '" + (*m)->name + "' has no tensor '" +
                                name + "'");
          llvm::SmallVector<int64_t, 2> shape(t->shape());
          (*m)->weights.set(name, initParam((*m)->config, name, shape, init));
          (*m)->sparseMasks.erase(name.str());
        }
        return llvm::Error::success();
      })
      .Case<fd::TokenizerOp>([&](fd::TokenizerOp o) -> llvm::Error {
        std::shared_ptr<Tokenizer> tok;
        if (o.getKind() == "bytes") {
          tok = makeByteTokenizer();
        } else {
          auto loaded = loadHFTokenizer(resolvePath(*o.getPath()));
          if (!loaded)
            return error(o, llvm::toString(loaded.takeError()));
          tok = std::move(*loaded);
        }
        lastTokenizer = tok;
        values[o.getTokenizer()] = tok;
        return llvm::Error::success();
      })
      .Case<fd::DataSourceOp, fd::DataMixtureOp, fd::DataPartOp,
            fd::DataColumnOp, fd::DataConcatOp>(
          [&](Operation *o) { return execData(o); })
      .Case<fd::DataOp>([&](Operation *o) { return execDataOp(o); })
      .Case<fd::AdapterOp>([&](Operation *o) { return execAdapter(o); })
      .Case<fd::TrainOp>([&](Operation *o) { return execTrain(o); })
      .Case<fd::EvalOp>([&](fd::EvalOp o) -> llvm::Error {
        auto it = values.find(o.getMetric());
        double v =
            it != values.end() && std::holds_alternative<double>(it->second)
                ? std::get<double>(it->second)
                : NAN;
        values[o.getValue()] = v;
        llvm::json::Object record{{o.getName(), v}};
        return metrics->log(record);
      })
      .Case<fd::LoopOp>([&](Operation *o) { return execLoop(o); })
      .Case<fd::GenerateOp>([&](Operation *o) { return execGenerate(o); })
      .Case<fd::JudgeOp>([&](Operation *o) { return execJudge(o); })
      .Case<fd::MetricOp>([&](Operation *o) { return execMetric(o); })
      .Case<fd::LogOp>([&](Operation *o) { return execLog(o); })
      .Case<fd::SaveOp>([&](Operation *o) { return execSave(o); })
      .Default([&](Operation *o) -> llvm::Error {
        return error(o,
                     "not implemented yet: " + mlir::ftl::describeConstruct(o));
      });
}

llvm::Error Interpreter::execScalar(Operation *op) {
  auto number = [&](mlir::Value v) -> double {
    auto it = values.find(v);
    if (it == values.end())
      return NAN;
    if (auto *d = std::get_if<double>(&it->second))
      return *d;
    if (auto *i = std::get_if<int64_t>(&it->second))
      return double(*i);
    if (auto *b = std::get_if<bool>(&it->second))
      return *b ? 1.0 : 0.0;
    return NAN;
  };
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    Attribute value = c.getValue();
    if (auto f = dyn_cast<FloatAttr>(value))
      values[c.getResult()] = f.getValueAsDouble();
    else if (auto i = dyn_cast<IntegerAttr>(value))
      values[c.getResult()] = c.getType().isInteger(1)
                                  ? RValue(i.getValue().getBoolValue())
                                  : RValue(i.getInt());
    return llvm::Error::success();
  }
  if (op->getNumResults() != 1)
    return error(op, "unsupported scalar operation");
  mlir::Value r = op->getResult(0);
  auto a = [&]() { return number(op->getOperand(0)); };
  auto b = [&]() { return number(op->getOperand(1)); };
  RValue result =
      llvm::TypeSwitch<Operation *, RValue>(op)
          .Case([&](arith::AddFOp) { return RValue(a() + b()); })
          .Case([&](arith::SubFOp) { return RValue(a() - b()); })
          .Case([&](arith::MulFOp) { return RValue(a() * b()); })
          .Case([&](arith::DivFOp) { return RValue(a() / b()); })
          .Case([&](arith::NegFOp) { return RValue(-a()); })
          .Case([&](arith::AddIOp) { return RValue(int64_t(a() + b())); })
          .Case([&](arith::SubIOp) { return RValue(int64_t(a() - b())); })
          .Case([&](arith::MulIOp) { return RValue(int64_t(a() * b())); })
          .Case([&](arith::SIToFPOp) { return RValue(a()); })
          .Case([&](arith::FPToSIOp) { return RValue(int64_t(a())); })
          .Case([&](arith::AndIOp) { return RValue(a() != 0 && b() != 0); })
          .Case([&](arith::OrIOp) { return RValue(a() != 0 || b() != 0); })
          .Case([&](arith::XOrIOp) { return RValue((a() != 0) != (b() != 0)); })
          .Case([&](arith::CmpFOp o) {
            double x = a(), y = b();
            using P = arith::CmpFPredicate;
            switch (o.getPredicate()) {
            case P::OLT:
              return RValue(x < y);
            case P::OLE:
              return RValue(x <= y);
            case P::OGT:
              return RValue(x > y);
            case P::OGE:
              return RValue(x >= y);
            case P::OEQ:
              return RValue(x == y);
            default:
              return RValue(x != y);
            }
          })
          .Case([&](arith::CmpIOp o) {
            int64_t x = int64_t(a()), y = int64_t(b());
            using P = arith::CmpIPredicate;
            switch (o.getPredicate()) {
            case P::slt:
              return RValue(x < y);
            case P::sle:
              return RValue(x <= y);
            case P::sgt:
              return RValue(x > y);
            case P::sge:
              return RValue(x >= y);
            case P::eq:
              return RValue(x == y);
            default:
              return RValue(x != y);
            }
          })
          .Default([](Operation *) { return RValue(); });
  if (std::holds_alternative<std::monostate>(result))
    return error(op, "unsupported scalar operation '" +
                         op->getName().getStringRef() + "'");
  values[r] = result;
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

llvm::Error Interpreter::execModelBuild(Operation *op) {
  auto build = cast<fd::ModelBuildOp>(op);
  std::vector<ModelArg> args;
  static const char *accepted[] = {
      "vocab", "dim",        "layers", "heads",    "kv_heads", "ffn",
      "ctx",   "rope_theta", "tied",   "norm_eps", "init_std"};
  bool gpt2 = build.getArch() == "gpt2";
  for (const char *name : accepted) {
    if (gpt2 && (llvm::StringRef(name) == "kv_heads" ||
                 llvm::StringRef(name) == "rope_theta" ||
                 llvm::StringRef(name) == "tied"))
      continue;
    Attribute attr = op->getAttr(name);
    if (!attr)
      continue;
    // BoolAttr is an i1 IntegerAttr: test it first.
    if (auto b = dyn_cast<BoolAttr>(attr))
      args.push_back({name, b.getValue()});
    else if (auto i = dyn_cast<IntegerAttr>(attr))
      args.push_back({name, int64_t(i.getInt())});
    else if (auto f = dyn_cast<FloatAttr>(attr))
      args.push_back({name, f.getValueAsDouble()});
  }
  auto config = modelConfigFromArgs(build.getArch(), args);
  if (!config)
    return error(op, llvm::toString(config.takeError()));
  if (auto qkv = op->getAttrOfType<BoolAttr>("qkv_bias"))
    config->qkvBias = config->qkvBias || qkv.getValue();
  auto state = std::make_shared<ModelState>();
  state->name = build.getName().str();
  state->config = *config;
  Rng init = rng.derive("init:" + state->name);
  state->weights = initModelWeights(*config, init);
  values[build.getModel()] = state;
  return llvm::Error::success();
}

llvm::Error Interpreter::execModelLoad(Operation *op) {
  auto load = cast<fd::ModelLoadOp>(op);
  std::string dir = resolvePath(load.getPath());
  auto loaded = loadHFModelFolder(dir);
  if (!loaded)
    return error(op, llvm::toString(loaded.takeError()));
  auto state = std::make_shared<ModelState>();
  state->name = load.getName().str();
  state->config = loaded->config;
  state->weights = std::move(loaded->weights);
  llvm::SmallString<256> tokPath(dir);
  llvm::sys::path::append(tokPath, "tokenizer.json");
  if (llvm::sys::fs::exists(tokPath)) {
    auto tok = loadHFTokenizer(tokPath);
    if (!tok)
      return error(op, llvm::toString(tok.takeError()));
    state->tokenizer = std::move(*tok);
  }
  values[load.getModel()] = state;
  return llvm::Error::success();
}

/// `adapter a = load("peft-folder") on base`: a PEFT LoRA folder's deltas
/// become the adapter's tensors (each with its own rank and alpha).
/// The peft_type of a PEFT folder's adapter_config.json ("" if unreadable).
static std::string peftTypeOf(llvm::StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "adapter_config.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "";
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return "";
  }
  const llvm::json::Object *object = parsed->getAsObject();
  auto type = object ? object->getString("peft_type") : std::nullopt;
  return type ? type->str() : "";
}

llvm::Error Interpreter::execAdapterLoad(Operation *op) {
  auto adapter = cast<fd::AdapterOp>(op);
  auto m = model(adapter.getModel());
  if (!m)
    return m.takeError();
  auto path = adapter.getConfig().getAs<StringAttr>("path");
  if (!path)
    return error(op, "internal: load(...) without a path");
  std::string dir = resolvePath(path.getValue());
  if (isSparseDiffFolder(dir)) {
    // LT-SFT composition: each loaded diff is added to the model's tensors.
    auto diff = loadSparseDiff(dir);
    if (!diff)
      return error(op, llvm::toString(diff.takeError()));
    auto changed = applySparseDiff(*diff, (*m)->weights);
    if (!changed)
      return error(op, dir + ": " + llvm::toString(changed.takeError()));
    auto state = std::make_shared<AdapterState>();
    state->name = adapter.getName().str();
    state->kind = "sparse_diff";
    state->model = *m;
    values[adapter.getAdapter()] = state;
    return llvm::Error::success();
  }
  if (std::string type = peftTypeOf(dir);
      type == "PROMPT_TUNING" || type == "PREFIX_TUNING") {
    // Virtual tokens: the decoder starts every sequence with them.
    if (!(*m)->virtualAdapter.empty())
      return error(op, "not implemented yet: a second prompt or prefix "
                       "adapter on model '" +
                           (*m)->name + "' ('" + (*m)->virtualAdapter +
                           "' is placed already)");
    auto state = std::make_shared<AdapterState>();
    state->name = adapter.getName().str();
    state->kind = type == "PROMPT_TUNING" ? "prompt" : "prefix";
    state->model = *m;
    ::ftl::VirtualTokenPlacement v;
    v.adapter = state->name;
    if (type == "PROMPT_TUNING") {
      auto prompt = loadPeftPrompt(dir, (*m)->config);
      if (!prompt)
        return error(op, llvm::toString(prompt.takeError()));
      (*m)->adapterTensors[v.promptName()] = prompt->embeddings;
    } else {
      auto prefix = loadPeftPrefix(dir, (*m)->config);
      if (!prefix)
        return error(op, llvm::toString(prefix.takeError()));
      for (size_t l = 0; l < prefix->keys.size(); ++l) {
        (*m)->adapterTensors[v.prefixName(int64_t(l), false)] = prefix->keys[l];
        (*m)->adapterTensors[v.prefixName(int64_t(l), true)] =
            prefix->values[l];
      }
    }
    (*m)->virtualAdapter = state->name;
    (*m)->virtualKind = state->kind;
    values[adapter.getAdapter()] = state;
    return llvm::Error::success();
  }
  auto loaded = loadPeftLora(dir, (*m)->config);
  if (!loaded)
    return error(op, llvm::toString(loaded.takeError()));
  auto state = std::make_shared<AdapterState>();
  state->name = adapter.getName().str();
  state->kind = "lora";
  state->model = *m;
  state->rslora = loaded->rslora;
  state->dropout = loaded->dropout;
  for (auto &[target, pair] : loaded->deltas) {
    std::string module = llvm::StringRef(target).drop_back(7).str();
    std::string prefix = state->name + "." + module;
    (*m)->adapterTensors[prefix + ".lora_A"] = pair.A;
    (*m)->adapterTensors[prefix + ".lora_B"] = pair.B;
    (*m)->loraScales[prefix] = LoraAdapter::scale(pair, loaded->rslora);
    state->targets.push_back(target);
    state->rank = std::max(state->rank, pair.rank);
    state->alpha = pair.alpha;
    state->scales[target] = LoraAdapter::scale(pair, loaded->rslora);
  }
  values[adapter.getAdapter()] = state;
  return llvm::Error::success();
}

/// The adapter's tensors as a LoraAdapter (shared, not copied).
static llvm::Expected<LoraAdapter> loraAdapterOf(const AdapterState &adapter) {
  LoraAdapter out;
  out.rslora = adapter.rslora;
  out.dropout = adapter.dropout;
  for (const std::string &target : adapter.targets) {
    std::string module = llvm::StringRef(target).drop_back(7).str();
    std::string prefix = adapter.name + "." + module;
    auto a = adapter.model->adapterTensors.find(prefix + ".lora_A");
    auto b = adapter.model->adapterTensors.find(prefix + ".lora_B");
    if (a == adapter.model->adapterTensors.end() ||
        b == adapter.model->adapterTensors.end())
      return llvm::createStringError("adapter '" + adapter.name +
                                     "' has no tensors for '" + target + "'");
    LoraAdapter::Pair pair{a->second, b->second, a->second.dim(0), 0.0, {}};
    auto m = adapter.model->adapterTensors.find(prefix + ".lora_magnitude");
    if (m != adapter.model->adapterTensors.end())
      pair.magnitude = m->second;
    // The alpha that gives this delta's scale back.
    double scale = adapter.scaleOf(target);
    pair.alpha = adapter.rslora ? scale * std::sqrt(double(pair.rank))
                                : scale * double(pair.rank);
    out.deltas[target] = pair;
  }
  return out;
}

llvm::Error Interpreter::execMerge(Operation *op) {
  auto merge = cast<fd::ModelMergeOp>(op);
  auto base = model(merge.getBase());
  if (!base)
    return base.takeError();
  auto merged = std::make_shared<ModelState>();
  merged->name = (*base)->name + " (merged)";
  merged->config = (*base)->config;
  merged->tokenizer = (*base)->tokenizer;
  for (auto &[name, t] : (*base)->weights)
    merged->weights.set(name, t.clone());
  for (mlir::Value a : merge.getAdapters()) {
    auto it = values.find(a);
    if (it == values.end())
      continue;
    auto adapter = std::get<std::shared_ptr<AdapterState>>(it->second);
    if (adapter->kind == "parallel" || adapter->kind == "bottleneck")
      return error(op, "a " + adapter->kind + " adapter ('" + adapter->name +
                           "') adds a nonlinear branch and cannot be folded "
                           "into the base weights");
    for (const std::string &target : adapter->targets) {
      double scale = adapter->scaleOf(target);
      std::string module = llvm::StringRef(target).drop_back(7).str();
      Tensor *A = (*base)->find(adapter->name + "." + module + ".lora_A");
      Tensor *B = (*base)->find(adapter->name + "." + module + ".lora_B");
      Tensor *W = merged->weights.find(target);
      if (!A || !B || !W)
        continue;
      int64_t out = W->dim(0), in = W->dim(1), r = A->dim(0);
      float *w = W->dataAs<float>();
      const float *a = A->dataAs<const float>();
      const float *b = B->dataAs<const float>();
      // DoRA: each merged row is scaled by magnitude / ||W + s B A||, the
      // norm of the unscaled row, as the step function computes it.
      const Tensor *M =
          (*base)->find(adapter->name + "." + module + ".lora_magnitude");
      std::vector<float> norms;
      if (M) {
        norms.resize(size_t(out));
        doraRowNorms(w, a, b, out, in, r, scale, norms.data());
      }
      for (int64_t i = 0; i < out; ++i) {
        double rowScale =
            M ? double(M->dataAs<const float>()[i]) / double(norms[i]) : 1.0;
        for (int64_t j = 0; j < in; ++j) {
          double s = 0;
          for (int64_t k = 0; k < r; ++k)
            s += double(b[i * r + k]) * a[k * in + j];
          w[i * in + j] =
              M ? float(rowScale * (double(w[i * in + j]) + scale * s))
                : w[i * in + j] + float(scale * s);
        }
      }
    }
  }
  values[merge.getModel()] = merged;
  return llvm::Error::success();
}

/// PEFT's default LoRA init: A ~ Kaiming-uniform with a = sqrt(5), which is
/// uniform(-1/sqrt(in), 1/sqrt(in)); B = 0, so the adapter starts as a no-op.
llvm::Error Interpreter::execAdapter(Operation *op) {
  auto adapter = cast<fd::AdapterOp>(op);
  if (adapter.getKind() == "load")
    return execAdapterLoad(op);
  bool entries = adapter.getKind() == "sparse" ||
                 adapter.getKind() == "structured" ||
                 adapter.getKind() == "half";
  bool blocks =
      adapter.getKind() == "parallel" || adapter.getKind() == "bottleneck";
  bool virtualTokens =
      adapter.getKind() == "prompt" || adapter.getKind() == "prefix";
  if (adapter.getKind() != "lora" && !entries && !blocks && !virtualTokens)
    return error(op,
                 "not implemented yet: adapter '" + adapter.getKind() + "'");
  auto m = model(adapter.getModel());
  if (!m)
    return m.takeError();
  if (blocks)
    return execBlockAdapter(op, *m);
  if (virtualTokens)
    return execVirtualAdapter(op, *m);

  if (entries) { // they train base entries; the trainer applies their rule
    auto state = std::make_shared<AdapterState>();
    state->name = adapter.getName().str();
    state->kind = adapter.getKind().str();
    state->model = *m;
    if (adapter.getKind() == "sparse" || adapter.getKind() == "structured") {
      // lottery(from: m0) reads the model it names.
      std::shared_ptr<ModelState> from;
      for (mlir::Value input : adapter.getInputs())
        if (auto make = input.getDefiningOp<fd::MakeOp>();
            make && make.getName() == "lottery" && !make.getInputs().empty()) {
          auto f = model(make.getInputs()[0]);
          if (!f)
            return f.takeError();
          from = *f;
        }
      if (llvm::Error e = setUpSparseAdapter(op, **m, rng, from.get()))
        return error(op, llvm::toString(std::move(e)));
    }
    // A saved sparse, structured or half adapter is its diff: keep the
    // values it starts from (only when the script saves it: the copy costs
    // the tensors' size).
    if (llvm::any_of(adapter.getAdapter().getUsers(),
                     [](Operation *u) { return isa<fd::SaveOp>(u); }))
      for (Attribute t : adapter.getTensors())
        if (const Tensor *w =
                (*m)->weights.find(cast<StringAttr>(t).getValue()))
          state->initialValues[cast<StringAttr>(t).getValue().str()] =
              w->clone();
    values[adapter.getAdapter()] = state;
    return llvm::Error::success();
  }
  auto state = std::make_shared<AdapterState>();
  state->name = adapter.getName().str();
  state->kind = "lora";
  state->model = *m;
  DictionaryAttr config = adapter.getConfig();
  state->rank = config.getAs<IntegerAttr>("rank").getInt();
  state->alpha = config.getAs<FloatAttr>("alpha")
                     ? config.getAs<FloatAttr>("alpha").getValueAsDouble()
                     : double(state->rank);
  if (auto d = config.getAs<FloatAttr>("dropout"))
    state->dropout = d.getValueAsDouble();
  if (auto d = config.getAs<BoolAttr>("dora"))
    state->dora = d.getValue();
  if (auto r = config.getAs<BoolAttr>("rslora"))
    state->rslora = r.getValue();
  llvm::StringRef init = config.getAs<StringAttr>("init")
                             ? config.getAs<StringAttr>("init").getValue()
                             : "default";
  if (init != "default" && init != "gaussian" && init != "pissa" &&
      init != "corda")
    return error(op, "not implemented yet: lora init '" + init + "'");
  bool gaussian = init == "gaussian";
  // CorDA reads the activations of the model as it is, before any of its
  // weights become residuals.
  std::map<std::string, std::vector<double>> covariances;
  bool kpm = false;
  if (init == "corda") {
    std::vector<std::string> weights;
    for (Attribute t : adapter.getTensors())
      if (cast<StringAttr>(t).getValue().ends_with(".weight"))
        weights.push_back(cast<StringAttr>(t).getValue().str());
    auto cov = cordaCovariances(*this, op, **m, weights);
    if (!cov)
      return error(op, llvm::toString(cov.takeError()));
    covariances = std::move(*cov);
    if (auto mode = config.getAs<StringAttr>("corda_mode"))
      kpm = mode.getValue() == "kpm";
  }
  for (Attribute t : adapter.getTensors()) {
    llvm::StringRef target = cast<StringAttr>(t).getValue();
    if (!target.ends_with(".weight"))
      continue;
    Tensor *w = (*m)->weights.find(target);
    if (!w)
      return error(op,
                   "model '" + (*m)->name + "' has no tensor '" + target + "'");
    state->targets.push_back(target.str());
    int64_t out = w->dim(0), in = w->dim(1);
    std::string module = target.drop_back(7).str();
    std::string aName = state->name + "." + module + ".lora_A";
    Rng draw = rng.derive("init:" + aName);
    Tensor a = Tensor::zeros(DType::F32, {state->rank, in});
    float *ad = a.dataAs<float>();
    double bound = 1.0 / std::sqrt(double(in));
    for (int64_t i = 0; i < state->rank * in; ++i)
      ad[i] = gaussian ? float(draw.normal() / state->rank)
                       : float((2 * draw.uniformDouble() - 1) * bound);
    Tensor b = Tensor::zeros(DType::F32, {out, state->rank});
    if (init == "pissa") // A, B from W's top singular triplets; W the rest
      initPissa(*w, a, b, state->scaleOf(target.str()));
    if (init == "corda") { // the same from W C, C the input covariance
      *w = w->clone();
      cordaInit(w->dataAs<float>(), out, in, state->rank,
                state->scaleOf(target.str()), covariances[target.str()].data(),
                kpm, a.dataAs<float>(), b.dataAs<float>());
    }
    if (state->dora) {
      // The magnitude starts as the norms the step function computes, so
      // that their ratio is exactly 1: the model starts as it was.
      Tensor magnitude = Tensor::zeros(DType::F32, {out});
      doraRowNorms(w->dataAs<float>(), a.dataAs<float>(), b.dataAs<float>(),
                   out, in, state->rank, state->scaleOf(target.str()),
                   magnitude.dataAs<float>());
      (*m)->adapterTensors[state->name + "." + module + ".lora_magnitude"] =
          std::move(magnitude);
    }
    (*m)->adapterTensors[aName] = std::move(a);
    (*m)->adapterTensors[state->name + "." + module + ".lora_B"] = std::move(b);
  }
  for (const std::string &target : state->targets)
    (*m)->loraScales[state->name + "." +
                     llvm::StringRef(target).drop_back(7).str()] =
        state->scaleOf(target);
  values[adapter.getAdapter()] = state;
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Training, logging, loops, saving
//===----------------------------------------------------------------------===//

llvm::Error Interpreter::execTrain(Operation *op) {
  auto train = cast<fd::TrainOp>(op);
  // Testing aid: die without any cleanup as train number N starts, like a
  // killed process.
  if (const char *at = std::getenv("FTL_TEST_EXIT_AT_TRAIN"))
    if (std::atoll(at) == trainIndex)
      std::_Exit(137);
  auto m = model(train.getModel());
  if (!m)
    return m.takeError();
  return runTrain(*this, op, **m);
}

llvm::Error Interpreter::execLog(Operation *op) {
  auto log = cast<fd::LogOp>(op);
  llvm::json::Object record;
  std::string line;
  for (auto [name, v] : llvm::zip(log.getNames(), log.getValues())) {
    llvm::StringRef key = cast<StringAttr>(name).getValue();
    auto it = values.find(v);
    llvm::json::Value value = nullptr;
    std::string shown = "?";
    if (it != values.end()) {
      if (auto *d = std::get_if<double>(&it->second)) {
        value = *d;
        shown = llvm::formatv("{0:g}", *d).str();
      } else if (auto *i = std::get_if<int64_t>(&it->second)) {
        value = *i;
        shown = std::to_string(*i);
      } else if (auto *b = std::get_if<bool>(&it->second)) {
        value = *b;
        shown = *b ? "true" : "false";
      }
    }
    record[key] = value;
    line += (line.empty() ? "" : "  ") + key.str() + "=" + shown;
  }
  if (!options.quiet)
    llvm::errs() << line << "\n";
  return metrics->log(record);
}

llvm::Error Interpreter::execLoop(Operation *op) {
  auto loop = cast<fd::LoopOp>(op);
  auto intOf = [&](mlir::Value v) -> int64_t {
    auto it = values.find(v);
    if (it == values.end())
      return 0;
    if (auto *i = std::get_if<int64_t>(&it->second))
      return *i;
    if (auto *d = std::get_if<double>(&it->second))
      return int64_t(*d);
    return 0;
  };
  int64_t lo = intOf(loop.getLower()), hi = intOf(loop.getUpper());
  Block &body = loop.getBody().front();
  llvm::SmallVector<RValue> carried;
  for (mlir::Value v : loop.getIterArgs())
    carried.push_back(values.lookup(v));
  std::string outerSalt = roundSalt;
  auto restoreSalt = llvm::make_scope_exit([&] { roundSalt = outerSalt; });
  bool topLevel = llvm::isa<mlir::ModuleOp>(op->getParentOp());
  if (resume && !resume->done && opIndex.lookup(op) == resume->loop) {
    if (llvm::Error e = finishReplay(carried))
      return error(op, llvm::toString(std::move(e)));
    lo = resume->round + 1;
  }
  for (int64_t round = lo; round <= hi; ++round) {
    roundSalt = outerSalt + "/" + loop.getVar().str() + std::to_string(round);
    values[body.getArgument(0)] = round;
    for (auto [i, v] : llvm::enumerate(carried))
      values[body.getArgument(i + 1)] = v;
    for (Operation &inner : body.without_terminator())
      if (llvm::Error e = exec(&inner))
        return e;
    auto yield = cast<fd::YieldOp>(body.getTerminator());
    for (size_t i = 0; i < carried.size(); ++i)
      carried[i] = values.lookup(yield.getValues()[i]);
    // A finished round of a top-level loop is where a resumed run goes on.
    if (topLevel)
      if (llvm::Error e = saveRoundCheckpoint(op, round, carried))
        return error(op, "cannot write the round checkpoint: " +
                             llvm::toString(std::move(e)));
    if (loop.getHasUntil()) {
      RValue cond = values.lookup(yield.getValues().back());
      if (auto *b = std::get_if<bool>(&cond); b && *b)
        break;
    }
  }
  for (auto [i, r] : llvm::enumerate(loop.getResults()))
    values[r] = carried[i];
  return llvm::Error::success();
}

llvm::Error Interpreter::execSave(Operation *op) {
  auto save = cast<fd::SaveOp>(op);
  std::string path = save.getPath().str(); // outputs: relative to the cwd
  auto it = values.find(save.getValue());
  if (it == values.end())
    return error(op, "internal: the value to save was not computed");
  if (auto *m = std::get_if<std::shared_ptr<ModelState>>(&it->second)) {
    if (llvm::Error e = saveHFModelFolder(path, (*m)->config, (*m)->weights))
      return error(op, llvm::toString(std::move(e)));
    return llvm::Error::success();
  }
  if (auto *a = std::get_if<std::shared_ptr<AdapterState>>(&it->second)) {
    const ModelState &model = *(*a)->model;
    if ((*a)->kind == "sparse_diff")
      return error(op, "adapter '" + (*a)->name +
                           "' is a sparse diff added to the model when it "
                           "was loaded: save the model, or the folder it "
                           "came from is the adapter");
    if ((*a)->kind == "sparse" || (*a)->kind == "structured" ||
        (*a)->kind == "half") {
      auto diff = sparseDiffOf((*a)->initialValues, model.weights);
      if (!diff)
        return error(op, llvm::toString(diff.takeError()));
      if (llvm::Error e = saveSparseDiff(*diff, path))
        return error(op, llvm::toString(std::move(e)));
      return llvm::Error::success();
    }
    if ((*a)->kind == "prompt" || (*a)->kind == "prefix") {
      ::ftl::VirtualTokenPlacement v;
      v.adapter = (*a)->name;
      auto tensor = [&](const std::string &name) -> const Tensor * {
        auto t = model.adapterTensors.find(name);
        return t == model.adapterTensors.end() ? nullptr : &t->second;
      };
      llvm::Error e = llvm::Error::success();
      if ((*a)->kind == "prompt") {
        PromptAdapter prompt;
        if (const Tensor *t = tensor(v.promptName()))
          prompt.embeddings = *t;
        e = savePeftPrompt(prompt, model.config, path);
      } else {
        std::vector<const Tensor *> keys, values;
        for (int64_t l = 0; l < model.config.layers; ++l) {
          keys.push_back(tensor(v.prefixName(l, false)));
          values.push_back(tensor(v.prefixName(l, true)));
        }
        e = savePeftPrefix(keys, values, model.config, path);
      }
      if (e)
        return error(op, llvm::toString(std::move(e)));
      return llvm::Error::success();
    }
    auto lora = loraAdapterOf(**a);
    if (!lora)
      return error(op, llvm::toString(lora.takeError()));
    if (llvm::Error e = savePeftLora(*lora, (*a)->model->config, path))
      return error(op, llvm::toString(std::move(e)));
    return llvm::Error::success();
  }
  if (auto *d = std::get_if<DataValue>(&it->second)) {
    auto records = readAll(*d->data, dataContext(lastTokenizer.get()));
    if (!records)
      return error(op, llvm::toString(records.takeError()));
    return writeFileAtomically(path, [&](llvm::raw_ostream &os) {
      for (const Record &r : *records)
        os << r.toObject().toJson() << "\n";
      return llvm::Error::success();
    });
  }
  return error(op, "this value cannot be saved");
}
