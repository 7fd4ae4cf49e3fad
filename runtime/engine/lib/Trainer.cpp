//===- Trainer.cpp - Running one ftl.train through its step functions -----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// A train step: zero the gradient accumulators; for each micro-batch, feed
// every objective term its rows (tokens, next-token targets, loss weights,
// positions, document ids) and run the compiled gradient function, which
// accumulates into the accumulators in place; clip by global norm; run the
// compiled optimizer update in place. The loss of each term is the weighted
// token loss summed over the whole optimizer step divided by the step's
// total weight, so batch 8 and 4 x 2 accumulation give the same update.
//
//===----------------------------------------------------------------------===//

#include "AdapterSetup.h"
#include "Coba.h"
#include "Interpreter.h"
#include "TermData.h"
#include "TermScales.h"

#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Data/Tokenize.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Engine/Adapters.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Run/Checkpoint.h"
#include "ftl/Run/Interrupt.h"
#include "ftl/Run/Progress.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <set>

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

namespace func = mlir::func;
namespace fd = mlir::ftl;

namespace {

/// The learning rate factor of step t (1-based) of `steps`.
double scheduleFactor(fd::MakeOp schedule, int64_t t, int64_t steps) {
  if (!schedule)
    return 1.0;
  int64_t warmup = 0;
  if (auto w = schedule->getAttrOfType<IntegerAttr>("warmup"))
    warmup = w.getInt();
  if (warmup > 0 && t <= warmup)
    return double(t) / double(warmup);
  double progress =
      steps > warmup ? double(t - warmup) / double(steps - warmup) : 1.0;
  progress = std::min(1.0, std::max(0.0, progress));
  if (schedule.getName() == "cosine") {
    double floor = 0;
    if (auto m = schedule->getAttrOfType<FloatAttr>("min_lr"))
      floor = m.getValueAsDouble();
    return floor + (1 - floor) * 0.5 * (1 + std::cos(M_PI * progress));
  }
  if (schedule.getName() == "linear") {
    double end = 0;
    if (auto e = schedule->getAttrOfType<FloatAttr>("end"))
      end = e.getValueAsDouble();
    return 1 - (1 - end) * progress;
  }
  return 1.0;
}

} // namespace

llvm::Error(::ftl::rt::runTrain)(Interpreter &interp, Operation *op,
                                 ModelState &model) {
  auto train = cast<fd::TrainOp>(op);
  auto plan = ::ftl::planTrain(train);
  if (failed(plan))
    return interp.error(op, "cannot plan this train");
  ModuleOp module = op->getParentOfType<ModuleOp>();
  auto lookup = [&](StringRef attr) -> func::FuncOp {
    auto ref = op->getAttrOfType<SymbolRefAttr>(attr);
    return ref ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, ref)
               : func::FuncOp();
  };
  func::FuncOp gradFn = lookup("step"), updateFn = lookup("update"),
               evalFn = lookup("eval");
  if (!gradFn || !updateFn)
    return interp.error(op, "internal: the train was not compiled");
  (void)module;

  auto &pool = interp.getPool();
  auto gradProgram = Program::build(gradFn, interp.getKernels(), &pool);
  if (!gradProgram)
    return interp.error(op, llvm::toString(gradProgram.takeError()));
  auto updateProgram = Program::build(updateFn, interp.getKernels(), &pool);
  if (!updateProgram)
    return interp.error(op, llvm::toString(updateProgram.takeError()));
  std::unique_ptr<Program> evalProgram;
  bool anyCoba = llvm::any_of(plan->groups, [](const ::ftl::PlannedGroup &g) {
    return g.mode == "coba";
  });
  if (evalFn && (train.getEvalData() || anyCoba)) {
    auto built = Program::build(evalFn, interp.getKernels(), &pool);
    if (!built)
      return interp.error(op, llvm::toString(built.takeError()));
    evalProgram = std::move(*built);
  }
  Program &grad = **gradProgram;
  Program &update = **updateProgram;

  // Sparse fine-tuning: the update steps gathered [k] vectors of each sparse
  // tensor's trainable entries.
  std::map<std::string, const ::ftl::SparsePlacement *> sparseByName;
  for (const ::ftl::SparsePlacement &sp : plan->sparse)
    if (sp.k < sp.numel) // density 1 steps dense
      sparseByName[sp.weight] = &sp;

  // Parameters: bind the model's tensors (base weights and adapters).
  auto bindParams = [&](Program &program, bool gathered) -> llvm::Error {
    for (auto [i, info] : llvm::enumerate(program.arguments())) {
      if (info.param.empty() || !info.gradAcc.empty())
        continue;
      if (gathered && sparseByName.count(info.param))
        continue; // bound to the gathered entries below
      Tensor *t = model.find(info.param);
      if (!t)
        return interp.error(op, "model '" + model.name + "' has no tensor '" +
                                    info.param + "'");
      if (t->numel() != info.numel())
        return interp.error(op, "tensor '" + info.param + "' has " +
                                    std::to_string(t->numel()) +
                                    " elements; the step function expects " +
                                    std::to_string(info.numel()));
      if (!t->isWritable())
        *t = t->clone();
      program.bindArgument(i, t->mutableData());
    }
    return llvm::Error::success();
  };
  if (llvm::Error e = bindParams(grad, false))
    return e;
  if (llvm::Error e = bindParams(update, true))
    return e;
  if (evalProgram)
    if (llvm::Error e = bindParams(*evalProgram, false))
      return e;

  // The trainable entries of each sparse tensor: the mask chosen when the
  // adapter was placed (picked now if the model has none, e.g. after a
  // resume), their values and gradients.
  struct SparseSlot {
    const ::ftl::SparsePlacement *sp = nullptr;
    Tensor *weight = nullptr;
    std::vector<uint32_t> indices;
    std::vector<float> values, grads;
    int64_t round = 0; ///< picks so far (refreshes)
  };
  std::map<std::string, SparseSlot> sparseSlots;
  for (const ::ftl::SparsePlacement &sp : plan->sparse) {
    if (!sparseByName.count(sp.weight))
      continue;
    SparseSlot &slot = sparseSlots[sp.weight];
    slot.sp = &sp;
    slot.weight = model.find(sp.weight);
    if (!slot.weight || slot.weight->numel() != sp.numel)
      return interp.error(op, "model '" + model.name + "' has no " +
                                  std::to_string(sp.rows) + "x" +
                                  std::to_string(sp.cols) + " tensor '" +
                                  sp.weight + "'");
    if (!slot.weight->isWritable())
      *slot.weight = slot.weight->clone();
    auto mask = model.sparseMasks.find(sp.weight);
    if (mask != model.sparseMasks.end() && int64_t(mask->second.size()) == sp.k)
      slot.indices = mask->second;
    else if (sp.pick == "lottery")
      return interp.error(op, "the lottery mask of '" + sp.weight +
                                  "' is unknown here (masks are not kept in "
                                  "checkpoints); run the script from its "
                                  "start");
    else
      slot.indices = pickSparseMask(sp, *slot.weight, interp.getRng(), 0);
    slot.values.assign(size_t(sp.k), 0.0f);
    slot.grads.assign(size_t(sp.k), 0.0f);
  }

  // Gradient accumulators and optimizer states, one per trainable tensor.
  std::map<std::string, std::vector<float>> gradAcc;
  std::map<std::string, Tensor> optState; // "<parameter>.<slot>"
  for (const ::ftl::PlannedTensor &t : plan->tensors) {
    if (!t.trainable)
      continue;
    int64_t n = 1;
    for (int64_t d : t.shape)
      n *= d;
    gradAcc[t.name].assign(n, 0.0f);
  }
  for (auto [i, info] : llvm::enumerate(grad.arguments()))
    if (!info.gradAcc.empty())
      grad.bindArgument(i, gradAcc[info.gradAcc].data());
  // Results: loss, then accumulated gradients in trainable order (in place).
  float stepLoss = 0;
  grad.bindResult(0, &stepLoss);
  {
    size_t r = 1;
    for (const ::ftl::PlannedTensor &t : plan->tensors)
      if (t.trainable)
        grad.bindResult(r++, gradAcc[t.name].data());
  }
  // The update: params, grads, states, scalars, learning-rate scales;
  // results alias the inputs.
  float lr = 0, bias1 = 1, bias2 = 1, gradScale = 1;
  std::vector<void *> updateOutputs;
  // Per trainable tensor: its layer-wise LR decay factor, and the factor
  // half fine-tuning sets per round (0 for the frozen half).
  std::map<std::string, double> plannedScale, halfFactor;
  for (const ::ftl::PlannedTensor &t : plan->tensors)
    if (t.trainable)
      plannedScale[t.name] = t.lrScale;
  std::vector<std::pair<std::string, float *>> lrScaleArgs;
  std::vector<float> lrScaleValues(update.arguments().size(), 1.0f);
  for (auto [i, info] : llvm::enumerate(update.arguments())) {
    auto sparse =
        sparseSlots.find(info.gradAcc.empty() ? info.param : info.gradAcc);
    bool gathered = sparse != sparseSlots.end();
    if (!info.gradAcc.empty()) {
      update.bindArgument(i, gathered ? sparse->second.grads.data()
                                      : gradAcc[info.gradAcc].data());
      continue;
    }
    if (!info.param.empty()) {
      if (gathered) {
        update.bindArgument(i, sparse->second.values.data());
        updateOutputs.push_back(sparse->second.values.data());
      } else {
        updateOutputs.push_back(model.find(info.param)->mutableData());
      }
      continue;
    }
    if (auto a = updateFn.getArgAttrOfType<StringAttr>(i, "ftl.lr_scale")) {
      lrScaleArgs.push_back({a.getValue().str(), &lrScaleValues[i]});
      update.bindArgument(i, &lrScaleValues[i]);
      continue;
    }
    // Optimizer states and scalars are recognised by their attributes.
    StringRef attr;
    if (auto a = updateFn.getArgAttrOfType<StringAttr>(i, "ftl.opt_state"))
      attr = a.getValue();
    if (!attr.empty()) {
      Tensor *p = model.find(attr.rsplit('.').first);
      if (!p)
        return interp.error(op, "no tensor for the optimizer state '" +
                                    attr.str() + "'");
      // Dense states have the parameter's shape; gathered ones [k].
      llvm::SmallVector<int64_t, 2> shape(p->shape().begin(), p->shape().end());
      if (info.numel() != p->numel())
        shape = {info.numel()};
      Tensor &state = optState[attr.str()] = Tensor::zeros(DType::F32, shape);
      update.bindArgument(i, state.mutableData());
      updateOutputs.push_back(state.mutableData());
      continue;
    }
    auto scalar = updateFn.getArgAttrOfType<StringAttr>(i, "ftl.scalar");
    StringRef which = scalar ? scalar.getValue() : "";
    update.bindArgument(i, which == "lr"      ? (void *)&lr
                           : which == "bias1" ? (void *)&bias1
                           : which == "bias2" ? (void *)&bias2
                                              : (void *)&gradScale);
  }
  for (auto [r, ptr] : llvm::enumerate(updateOutputs))
    update.bindResult(r, ptr);

  // Data for each term: packed rows for token losses, batches of pairs for
  // preference losses; regularisers read none.
  auto tokenizer = interp.tokenizerFor(op, &model);
  if (!tokenizer)
    return tokenizer.takeError();
  int64_t seq = plan->seq, batch = plan->batch;
  size_t numTerms = plan->terms.size();
  std::vector<TermSpec> specs(numTerms);
  // Prompt and prefix tuning: every feeder starts each document piece with
  // the virtual slots.
  const int64_t virtualTokens =
      plan->virtualTokens ? plan->virtualTokens->tokens : 0;
  std::vector<std::unique_ptr<TermFeeder>> feeders(numTerms);
  // Data that turned out empty at run time (a judge that passed nothing):
  // that term sits out this train (a warning and a metric), and a train
  // whose every term is empty is skipped, so a feedback loop goes on.
  std::vector<bool> emptyTerm(numTerms, false);
  {
    size_t empty = 0, fed = 0;
    for (size_t t = 0; t < numTerms; ++t) {
      ::ftl::PlannedTerm term = plan->terms[t];
      if (term.isRegulariser())
        continue;
      ++fed;
      auto d = interp.data(term.loss.getInputs()[0]);
      if (!d)
        return d.takeError();
      auto stream = (*d)->data->open(interp.dataContext(*tokenizer));
      if (!stream)
        return interp.error(term.loss, llvm::toString(stream.takeError()));
      Record first;
      auto got = (*stream)->next(first);
      if (!got)
        return interp.error(term.loss, llvm::toString(got.takeError()));
      if (!*got) {
        ++empty;
        emptyTerm[t] = true;
      }
    }
    if (empty > 0 && empty == fed) {
      if (!interp.getOptions().quiet)
        llvm::errs() << interp.where(op)
                     << ": warning: the training data is empty; this train "
                        "is skipped\n";
      if (MetricsLog *log = interp.getMetrics())
        if (llvm::Error e =
                log->log(llvm::json::Object{{"train_skipped", "empty data"}}))
          return e;
      return llvm::Error::success();
    }
    for (size_t t = 0; t < numTerms; ++t) {
      if (!emptyTerm[t])
        continue;
      ::ftl::PlannedTerm term = plan->terms[t];
      if (!interp.getOptions().quiet)
        llvm::errs() << interp.where(term.loss)
                     << ": warning: the data of this '" << term.kind
                     << "' term is empty; it sits out this train\n";
      if (MetricsLog *log = interp.getMetrics())
        if (llvm::Error e = log->log(
                llvm::json::Object{{"term_skipped", term.kind},
                                   {"where", interp.where(term.loss)}}))
          return e;
    }
  }
  for (size_t t = 0; t < numTerms; ++t) {
    const ::ftl::PlannedTerm &term = plan->terms[t];
    specs[t].kind = term.isPreference()    ? TermSpec::Kind::Pairs
                    : term.isRegulariser() ? TermSpec::Kind::Regulariser
                                           : TermSpec::Kind::Tokens;
    specs[t].weight = term.weight;
    specs[t].group = term.group;
    specs[t].balance = term.balance;
    specs[t].norm = term.norm;
    if (term.isRegulariser() || emptyTerm[t])
      continue;
    fd::LossOp loss = term.loss;
    auto d = interp.data(loss.getInputs()[0]);
    if (!d)
      return d.takeError();
    auto options = tokenizeOptionsFor(loss, *(*d)->data, interp, **tokenizer);
    if (!options)
      return interp.error(loss, llvm::toString(options.takeError()));
    options->threads = unsigned(pool.numThreads());
    feeders[t] =
        std::make_unique<TermFeeder>(interp, (*d)->data, **tokenizer, *options,
                                     seq, term.isPreference() ? batch : 0);
    feeders[t]->virtualTokens = virtualTokens;
    // Masked Thought: the term's input mask, drawn from its own stream.
    for (auto [name, input] :
         llvm::zip(loss.getOperandNames(), loss.getInputs())) {
      if (llvm::cast<StringAttr>(name).getValue() != "mask")
        continue;
      auto make = input.getDefiningOp<fd::MakeOp>();
      if (!make || make.getName() != "random")
        return interp.error(loss, "not implemented yet: input mask '" +
                                      (make ? make.getName().str() : "?") +
                                      "'");
      InputMask mask;
      if (auto r = make->getAttrOfType<FloatAttr>("rate"))
        mask.rate = r.getValueAsDouble();
      if (auto sp = make->getAttrOfType<StringAttr>("span"))
        mask.span = sp.getValue().str();
      mask.maskId = defaultPadId(*tokenizer);
      feeders[t]->inputMask = mask;
      feeders[t]->maskRng = Rng(interp.dataContext(*tokenizer).seed)
                                .derive("input-mask:" + interp.where(op) + ":" +
                                        std::to_string(t));
    }
  }
  size_t firstFed = 0;
  while (firstFed < numTerms && !feeders[firstFed])
    ++firstFed;
  if (firstFed == numTerms)
    return interp.error(op, "the objective has no term that reads data "
                            "(a regulariser alone trains nothing)");

  // Initial values for regularisers towards them (`to_init: true`).
  std::map<std::string, std::vector<float>> initValues;
  for (auto [i, info] : llvm::enumerate(grad.arguments())) {
    auto init = gradFn.getArgAttrOfType<StringAttr>(i, "ftl.init");
    if (!init)
      continue;
    Tensor *t = model.find(init.getValue());
    if (!t)
      return interp.error(op, "no tensor '" + init.getValue().str() + "'");
    std::vector<float> &copy = initValues[init.getValue().str()];
    copy.assign(t->dataAs<float>(), t->dataAs<float>() + t->numel());
    grad.bindArgument(i, copy.data());
    if (evalProgram)
      evalProgram->bindArgument(i, copy.data());
  }

  // LoRA dropout: a fresh seed per micro-batch in the gradient program,
  // none (-1) in evaluation.
  int32_t dropoutSeed = -1, noDropout = -1;
  for (auto [fn, program, seed] :
       {std::tuple{gradFn, &grad, &dropoutSeed},
        std::tuple{evalFn, evalProgram.get(), &noDropout}}) {
    if (!program)
      continue;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if (fn.getArgAttr(i, "ftl.dropout_seed"))
        program->bindArgument(i, seed);
  }
  Rng dropoutRng = interp.getRng().derive("lora-dropout:" + interp.where(op));

  // Preference terms: reference log-probabilities from the reference
  // function, run on the reference's tensors and cached per example (the
  // reference never changes during a train). KL terms: the reference's
  // hidden states of each micro-batch, from the same function, every step.
  std::unique_ptr<Program> referenceProgram;
  std::map<std::string, std::vector<float>> referenceTensors;
  std::vector<std::map<std::pair<int64_t, bool>, float>> referenceCache(
      numTerms);
  if (func::FuncOp refFn = lookup("reference")) {
    auto built = Program::build(refFn, interp.getKernels(), &pool);
    if (!built)
      return interp.error(op, llvm::toString(built.takeError()));
    referenceProgram = std::move(*built);
    // One reference per train: the first preference term's `ref:` (a
    // frozen copy or snapshot), else the model as it is now with its
    // adapters off.
    std::shared_ptr<ModelState> ref;
    for (const ::ftl::PlannedTerm &term : plan->terms)
      if (term.needsReference()) {
        if (mlir::Value r = term.reference()) {
          auto named = interp.model(r);
          if (!named)
            return named.takeError();
          ref = *named;
        }
        break; // the plan checked that the others name the same
      }
    for (auto [i, info] : llvm::enumerate(referenceProgram->arguments())) {
      if (info.param.empty())
        continue;
      const Tensor *source = nullptr;
      if (ref) {
        source = ref->weights.find(info.param);
        if (!source) {
          auto it = ref->adapterTensors.find(info.param);
          if (it != ref->adapterTensors.end())
            source = &it->second;
        }
      } else if (!model.adapterTensors.count(info.param)) {
        source = model.find(info.param);
      }
      std::vector<float> &copy = referenceTensors[info.param];
      if (source) // a copy: training must not move the reference
        copy.assign(source->dataAs<float>(),
                    source->dataAs<float>() + source->numel());
      else // adapters off: zero A and B add exactly nothing
        copy.assign(info.numel(), 0.0f);
      if (int64_t(copy.size()) != info.numel())
        return interp.error(op, "the reference's tensor '" + info.param +
                                    "' has another shape than the model's");
      referenceProgram->bindArgument(i, copy.data());
    }
    // KL terms read the reference's LM head in the loss itself.
    for (auto [fn, program] :
         {std::pair{gradFn, &grad}, std::pair{evalFn, evalProgram.get()}}) {
      if (!program)
        continue;
      for (unsigned i = 0; i < fn.getNumArguments(); ++i)
        if (auto name = fn.getArgAttrOfType<StringAttr>(i, "ftl.ref_param")) {
          auto it = referenceTensors.find(name.getValue().str());
          if (it == referenceTensors.end())
            return interp.error(op, "the reference has no tensor '" +
                                        name.getValue().str() + "'");
          program->bindArgument(i, it->second.data());
        }
    }
  }

  // Binds term t's batch tensors into `program` (absent arguments are
  // skipped: the reference function has no scale or ref_logp).
  auto bindTerm = [&](Program &program, size_t t, TermBatch &b, float *scale) {
    auto bind = [&](const char *what, void *ptr) {
      int i = program.findArgument("", std::to_string(t) + "." + what, "");
      if (i >= 0)
        program.bindArgument(i, ptr);
    };
    bind("ids", b.ids.data());
    bind("targets", b.targets.data());
    bind("weights", b.weights.data());
    bind("positions", b.positions.data());
    bind("segments", b.segments.data());
    bind("ref_logp", b.refLogp.data());
    bind("ref_hidden", b.refHidden.data());
    bind("virtual", b.virtualMask.data());
    bind("slots", b.slots.data());
    bind("scale", scale);
  };
  // An all-padding batch of the term's shape (a term that takes no part).
  auto emptyBatch = [&](size_t t, TermBatch &b) {
    int64_t rows = plan->terms[t].rows, n = rows * seq;
    b = TermBatch();
    b.ids.assign(n, 0);
    b.targets.assign(n, -1);
    b.positions.assign(n, 0);
    b.segments.assign(n, -1);
    b.weights.assign(n, 0.0f);
    b.refLogp.assign(rows, 0.0f);
    b.virtualMask.assign(n, 0.0f);
    b.slots.assign(n, 0);
    if (plan->terms[t].isKl())
      b.refHidden.assign(size_t(n * plan->model.info.dim), 0.0f);
    b.rowExamples.assign(rows, -1);
    b.rowRejected.assign(rows, false);
  };
  // Fills the reference log-probabilities of preference batches and the
  // reference hidden states of KL batches `pref` (indexed by term; null
  // entries are skipped), running the reference function once if any
  // preference row is not cached yet or any KL batch is given.
  std::vector<TermBatch> referenceScratch(numTerms);
  auto fillReference = [&](std::vector<TermBatch *> pref,
                           bool useCache) -> llvm::Error {
    bool missing = false;
    for (size_t t = 0; t < numTerms; ++t) {
      if (!pref[t])
        continue;
      if (plan->terms[t].isKl()) {
        missing = true;
        continue;
      }
      TermBatch &b = *pref[t];
      b.refLogp.assign(b.rowExamples.size(), 0.0f);
      for (size_t r = 0; r < b.rowExamples.size(); ++r) {
        auto it = referenceCache[t].find({b.rowExamples[r], b.rowRejected[r]});
        if (useCache && it != referenceCache[t].end())
          b.refLogp[r] = it->second;
        else
          missing = true;
      }
    }
    if (!missing)
      return llvm::Error::success();
    std::vector<std::vector<float>> results;
    unsigned r = 0;
    results.reserve(numTerms);
    for (size_t t = 0; t < numTerms; ++t) {
      const ::ftl::PlannedTerm &term = plan->terms[t];
      if (!term.needsReference())
        continue;
      TermBatch *b = pref[t];
      if (!b) {
        emptyBatch(t, referenceScratch[t]);
        b = &referenceScratch[t];
      }
      bindTerm(*referenceProgram, t, *b, nullptr);
      results.emplace_back(term.isKl()
                               ? size_t(term.rows * seq * plan->model.info.dim)
                               : size_t(term.rows));
      referenceProgram->bindResult(r++, results.back().data());
    }
    if (llvm::Error e = referenceProgram->run())
      return e;
    r = 0;
    for (size_t t = 0; t < numTerms; ++t) {
      if (!plan->terms[t].needsReference())
        continue;
      std::vector<float> &values = results[r++];
      if (!pref[t])
        continue;
      TermBatch &b = *pref[t];
      if (plan->terms[t].isKl()) {
        b.refHidden = std::move(values);
        continue;
      }
      for (size_t row = 0; row < b.rowExamples.size(); ++row) {
        b.refLogp[row] = values[row];
        if (useCache)
          referenceCache[t][{b.rowExamples[row], b.rowRejected[row]}] =
              values[row];
      }
    }
    return llvm::Error::success();
  };
  // Reads one micro-batch of term t from `feeder` into `out`.
  auto readTerm = [&](size_t t, TermFeeder &feeder,
                      TermBatch &out) -> llvm::Error {
    if (feeder.isPairs()) {
      auto pairs = feeder.nextPairs();
      if (!pairs)
        return pairs.takeError();
      fillBatch(*pairs, seq, out);
      out.samples = pairs->rows / 2; // pairs
      return llvm::Error::success();
    }
    std::vector<PackedRow> rows;
    for (int64_t r = 0; r < batch; ++r) {
      auto row = feeder.next();
      if (!row)
        return row.takeError();
      rows.push_back(std::move(*row));
    }
    fillBatch(rows, seq, usesSampleMeans(specs[t]), out);
    feeder.corrupt(out);
    return llvm::Error::success();
  };

  // Steps.
  int64_t steps = plan->steps;
  if (steps <= 0) {
    // Epochs: count the first fed term's rows (or pair batches) once.
    TermFeeder counter(*feeders[firstFed]);
    int64_t units = 0;
    while (counter.epoch == 0) {
      llvm::Error e = llvm::Error::success();
      if (counter.isPairs()) {
        auto b = counter.nextPairs();
        if (!b)
          e = b.takeError();
      } else {
        auto row = counter.next();
        if (!row)
          e = row.takeError();
      }
      if (e)
        return interp.error(op, llvm::toString(std::move(e)));
      if (counter.epoch == 0)
        ++units;
    }
    int64_t perStep = (counter.isPairs() ? 1 : plan->batch) * plan->accumulate;
    steps =
        std::max<int64_t>(1, plan->epochs * ((units + perStep - 1) / perStep));
  }
  if (interp.getOptions().maxSteps >= 0)
    steps = std::min(steps, interp.getOptions().maxSteps);

  double baseLr = 1e-3, beta1 = 0.9, beta2 = 0.999;
  if (mlir::Value optimizer = train.getOptimizer())
    if (auto make = optimizer.getDefiningOp<fd::MakeOp>()) {
      if (auto a = make->getAttrOfType<FloatAttr>("lr"))
        baseLr = a.getValueAsDouble();
      if (auto a = make->getAttrOfType<FloatAttr>("beta1"))
        beta1 = a.getValueAsDouble();
      if (auto a = make->getAttrOfType<FloatAttr>("beta2"))
        beta2 = a.getValueAsDouble();
    }
  fd::MakeOp schedule;
  if (mlir::Value s = train.getSchedule())
    schedule = s.getDefiningOp<fd::MakeOp>();

  int64_t trainIndex = interp.nextTrainIndex();
  std::string label = "train " + model.name;
  std::optional<Progress> progress;
  if (!interp.getOptions().quiet) {
    progress.emplace(label, uint64_t(steps));
  }
  InterruptGuard guard;

  // Half fine-tuning: each adapter's modules; the round is chosen at its
  // first step (round -1: none chosen yet).
  struct HalfState {
    const ::ftl::HalfPlacement *placement = nullptr;
    std::vector<HalfModule> modules;
    int64_t round = -1;
  };
  std::vector<HalfState> halves;
  for (const ::ftl::HalfPlacement &h : plan->halves) {
    HalfState state;
    state.placement = &h;
    for (const auto &module : h.modules)
      state.modules.push_back({module.layer, module.category});
    halves.push_back(std::move(state));
  }

  double smoothedRate = 0;
  int64_t evalEvery = 0;
  if (auto e = op->getAttrOfType<IntegerAttr>("eval_every"))
    evalEvery = e.getInt();

  // Held-out loss: the eval function over up to 16 batches of the eval data,
  // fed to the first term that reads data (the others take no part). The
  // value is that term's loss: its mean per supervised token (per pair for
  // preference terms).
  std::optional<TermFeeder> evalFeeder;
  if (evalProgram && train.getEvalData()) {
    auto d = interp.data(train.getEvalData());
    if (!d)
      return d.takeError();
    auto options = tokenizeOptionsFor(plan->terms[firstFed].loss, *(*d)->data,
                                      interp, **tokenizer);
    if (!options)
      return interp.error(op,
                          "eval_on: " + llvm::toString(options.takeError()));
    evalFeeder.emplace(interp, (*d)->data, **tokenizer, *options, seq,
                       feeders[firstFed]->isPairs() ? batch : 0);
    evalFeeder->virtualTokens = virtualTokens;
  }
  // The eval function on batch `b` of term t alone (the other terms get
  // all-padding batches and scale 0): the sum of its weighted token losses
  // (per-pair losses for preference terms), without its constant weight.
  // All-padding batches for the terms that take no part, made once.
  std::vector<TermBatch> evalOthers;
  auto evalTermSum = [&](size_t t, TermBatch &b) -> llvm::Expected<double> {
    if (evalOthers.empty()) {
      evalOthers.resize(numTerms);
      for (size_t u = 0; u < numTerms; ++u)
        emptyBatch(u, evalOthers[u]);
    }
    std::vector<float> scales(numTerms, 0.0f);
    scales[t] = 1;
    float value = 0;
    evalProgram->bindResult(0, &value);
    for (size_t u = 0; u < numTerms; ++u)
      if (u != t)
        bindTerm(*evalProgram, u, evalOthers[u], &scales[u]);
    if (plan->terms[t].needsReference()) {
      std::vector<TermBatch *> pref(numTerms, nullptr);
      pref[t] = &b;
      if (llvm::Error e = fillReference(pref, /*useCache=*/false))
        return std::move(e);
    }
    bindTerm(*evalProgram, t, b, &scales[t]);
    if (llvm::Error e = evalProgram->run())
      return std::move(e);
    double termWeight = plan->terms[t].weight;
    return value / (termWeight == 0 ? 1 : termWeight);
  };
  auto runEval = [&]() -> llvm::Expected<double> {
    TermFeeder feeder = *evalFeeder; // a fresh pass each time
    double sum = 0, weight = 0;
    TermBatch batch;
    for (int b = 0; b < 16 && feeder.epoch == 0; ++b) {
      if (llvm::Error e = readTerm(firstFed, feeder, batch))
        return std::move(e);
      if (feeder.epoch > 0 && b > 0)
        break; // wrapped around: the held-out set is used up
      auto value = evalTermSum(firstFed, batch);
      if (!value)
        return value.takeError();
      sum += *value;
      weight += feeder.isPairs() ? double(batch.samples) : batch.totalWeight;
    }
    return weight > 0 ? sum / weight : NAN;
  };

  // CoBa: per balance group, the balancer and one fixed validation batch
  // per task (the first `batch` rows of its validation data, so that the
  // losses it fits slopes to move with the model alone).
  struct CobaGroup {
    std::unique_ptr<CobaBalancer> balancer;
    std::vector<size_t> terms;
    std::vector<TermBatch> validation;
  };
  std::vector<CobaGroup> cobaGroups;
  for (auto [index, group] : llvm::enumerate(plan->groups)) {
    if (group.mode != "coba")
      continue;
    CobaGroup g;
    for (size_t t = 0; t < numTerms; ++t)
      if (plan->terms[t].group == int(index))
        g.terms.push_back(t);
    for (auto [k, t] : llvm::enumerate(g.terms)) {
      fd::LossOp loss = plan->terms[t].loss;
      auto d = interp.data(group.validation[k]);
      if (!d)
        return d.takeError();
      auto stream = (*d)->data->open(interp.dataContext(*tokenizer));
      if (!stream)
        return interp.error(loss, llvm::toString(stream.takeError()));
      Record first;
      auto got = (*stream)->next(first);
      if (!got)
        return interp.error(loss, llvm::toString(got.takeError()));
      if (!*got)
        return interp.error(loss, "balance(by: coba): the validation data "
                                  "of this task is empty");
      auto options = tokenizeOptionsFor(loss, *(*d)->data, interp, **tokenizer);
      if (!options)
        return interp.error(loss, "balance(by: coba) validation data: " +
                                      llvm::toString(options.takeError()));
      TermFeeder feeder(interp, (*d)->data, **tokenizer, *options, seq, 0);
      feeder.virtualTokens = virtualTokens;
      TermBatch batch;
      if (llvm::Error e = readTerm(t, feeder, batch))
        return interp.error(loss, llvm::toString(std::move(e)));
      g.validation.push_back(std::move(batch));
    }
    CobaSettings settings;
    settings.warmup = group.warmup;
    settings.history = group.history;
    settings.every = group.every;
    settings.tau = group.tau;
    g.balancer = std::make_unique<CobaBalancer>(g.terms.size(), settings);
    cobaGroups.push_back(std::move(g));
  }
  // Measures every CoBa group's validation losses after `step` steps and
  // hands the new weights to the term normalisers.
  auto observeCoba = [&](int64_t step) -> llvm::Error {
    for (CobaGroup &g : cobaGroups) {
      if (!g.balancer->validatesAfter(step))
        continue;
      std::vector<double> losses;
      for (auto [k, t] : llvm::enumerate(g.terms)) {
        auto sum = evalTermSum(t, g.validation[k]);
        if (!sum)
          return sum.takeError();
        double weight = g.validation[k].totalWeight;
        losses.push_back(weight > 0 ? *sum / weight : 0.0);
      }
      g.balancer->observe(step, losses);
      llvm::json::Array weights, values;
      for (auto [k, t] : llvm::enumerate(g.terms)) {
        specs[t].dynamicWeight = g.balancer->weights()[k];
        weights.push_back(g.balancer->weights()[k]);
        values.push_back(losses[k]);
      }
      if (MetricsLog *log = interp.getMetrics())
        if (llvm::Error e = log->log(
                llvm::json::Object{{"train", trainIndex},
                                   {"step", step},
                                   {"coba_weights", std::move(weights)},
                                   {"coba_val_loss", std::move(values)}}))
          return e;
    }
    return llvm::Error::success();
  };

  int64_t saveEvery = 0;
  if (auto e = op->getAttrOfType<IntegerAttr>("save_every"))
    saveEvery = e.getInt();
  // A checkpoint of this train: parameters under Hugging Face names, adapter
  // tensors, optimizer states; written atomically under
  // checkpoints/train<k>/.
  auto checkpoint = [&](int64_t step,
                        bool final) -> llvm::Expected<std::string> {
    RunFolder *folder = interp.getRunFolder();
    if (!folder)
      return std::string();
    CheckpointState state;
    auto exported = exportHFTensors(model.config, model.weights);
    if (!exported)
      return exported.takeError();
    for (auto &[name, t] : *exported)
      state.parameters.push_back({name, t});
    // Adapter tensors are parameters too (under their ftl names).
    for (auto &[name, t] : model.adapterTensors)
      state.parameters.push_back({name, t});
    // Optimizer states "<slot>/<parameter>" under ftl's parameter names,
    // shared with the trainer (no copy: the checkpoint must not double the
    // optimizer's memory).
    for (auto &[name, values] : optState) {
      auto [param, slot] = llvm::StringRef(name).rsplit('.');
      state.optimizer.push_back({slot.str() + "/" + param.str(), values});
    }
    state.optimizerByModelNames = true;
    state.step = step;
    state.optimizerStep = step;
    if (MetricsLog *log = interp.getMetrics())
      state.metricsOffset = log->size();
    std::string dir =
        folder->checkpointsDir() + "/train" + std::to_string(trainIndex);
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      return llvm::createStringError("cannot create '" + dir +
                                     "': " + ec.message());
    return saveCheckpoint(dir, state, final);
  };

  std::vector<float> regulariserBatch; // regularisers read no batch
  if (llvm::Error e = observeCoba(0))
    return interp.error(op, llvm::toString(std::move(e)));
  for (int64_t step = 1; step <= steps; ++step) {
    auto started = std::chrono::steady_clock::now();
    for (auto &[name, acc] : gradAcc)
      std::fill(acc.begin(), acc.end(), 0.0f);
    // Read every micro-batch first: the normalisers are totals over the
    // whole optimizer step.
    std::vector<std::vector<TermBatch>> micro(plan->accumulate,
                                              std::vector<TermBatch>(numTerms));
    std::vector<TermTotals> totals(numTerms);
    for (int64_t m = 0; m < plan->accumulate; ++m)
      for (size_t t = 0; t < numTerms; ++t) {
        if (!feeders[t]) {
          if (!plan->terms[t].isRegulariser()) // sits out: all padding
            emptyBatch(t, micro[m][t]);
          continue;
        }
        if (llvm::Error e = readTerm(t, *feeders[t], micro[m][t]))
          return interp.error(plan->terms[t].loss,
                              llvm::toString(std::move(e)));
        const TermBatch &b = micro[m][t];
        totals[t].weight += b.totalWeight;
        totals[t].supervised += b.supervised;
        totals[t].samples += b.samples;
        if (feeders[t]->isPairs())
          totals[t].pairs += b.samples;
      }
    std::vector<float> scales =
        computeTermScales(specs, totals, plan->accumulate);
    double loss = 0;
    int64_t tokens = 0;
    for (int64_t m = 0; m < plan->accumulate; ++m) {
      std::vector<TermBatch *> pref(numTerms, nullptr);
      bool anyPref = false;
      for (size_t t = 0; t < numTerms; ++t)
        if (feeders[t] && plan->terms[t].needsReference()) {
          pref[t] = &micro[m][t];
          anyPref = true;
        }
      if (anyPref)
        if (llvm::Error e = fillReference(pref, /*useCache=*/true))
          return interp.error(op, llvm::toString(std::move(e)));
      for (size_t t = 0; t < numTerms; ++t) {
        tokens += micro[m][t].tokens;
        bindTerm(grad, t, micro[m][t], &scales[t]);
      }
      // From the step and micro-batch alone, so a resumed run draws the
      // same masks.
      dropoutSeed = int32_t(dropoutRng.derive(uint64_t(step))
                                .derive(uint64_t(m))
                                .below(uint64_t(1) << 31));
      if (llvm::Error e = grad.run())
        return interp.error(op, llvm::toString(std::move(e)));
      loss += stepLoss;
    }
    // Sparse tensors: only their trainable entries' gradients count (the
    // others are dropped, as if zero), gathered with the current values.
    for (auto &[name, slot] : sparseSlots) {
      const float *acc = gradAcc[name].data();
      const float *w = slot.weight->dataAs<const float>();
      for (size_t j = 0; j < slot.indices.size(); ++j) {
        slot.grads[j] = acc[slot.indices[j]];
        slot.values[j] = w[slot.indices[j]];
      }
    }
    // Clip by global norm.
    gradScale = 1;
    if (plan->clip > 0) {
      double sq = 0;
      for (auto &[name, acc] : gradAcc) {
        auto sparse = sparseSlots.find(name);
        for (float g : sparse != sparseSlots.end() ? sparse->second.grads : acc)
          sq += double(g) * g;
      }
      double norm = std::sqrt(sq);
      if (norm > plan->clip)
        gradScale = float(plan->clip / (norm + 1e-6));
    }
    lr = float(baseLr * scheduleFactor(schedule, step, steps));
    bias1 = float(1 - std::pow(beta1, double(step)));
    bias2 = float(1 - std::pow(beta2, double(step)));
    // Half fine-tuning: a new round re-chooses the trained half.
    for (HalfState &half : halves) {
      int64_t round = half.placement->regroupEvery > 0
                          ? (step - 1) / half.placement->regroupEvery
                          : 0;
      if (round == half.round)
        continue;
      half.round = round;
      Rng rng = interp.getRng()
                    .derive("half:" + half.placement->adapter)
                    .derive(uint64_t(trainIndex))
                    .derive(uint64_t(round));
      std::vector<bool> chosen = pickHalf(half.modules, rng);
      llvm::json::Array trained;
      for (auto [m, module] : llvm::enumerate(half.placement->modules)) {
        for (const std::string &t : module.tensors)
          halfFactor[t] = chosen[m] ? 1.0 : 0.0;
        if (chosen[m])
          trained.push_back(module.name);
      }
      if (MetricsLog *log = interp.getMetrics())
        if (llvm::Error e =
                log->log(llvm::json::Object{{"train", trainIndex},
                                            {"step", step},
                                            {"half", half.placement->adapter},
                                            {"round", round},
                                            {"trained", std::move(trained)}}))
          return e;
    }
    for (auto &[name, value] : lrScaleArgs) {
      double scale = plannedScale[name];
      auto factor = halfFactor.find(name);
      if (factor != halfFactor.end())
        scale *= factor->second;
      *value = float(scale);
    }
    if (llvm::Error e = update.run())
      return interp.error(op, llvm::toString(std::move(e)));
    if (llvm::Error e = observeCoba(step))
      return interp.error(op, llvm::toString(std::move(e)));
    // Sparse tensors: the stepped entries go back; the others never moved.
    for (auto &[name, slot] : sparseSlots) {
      float *w = slot.weight->dataAs<float>();
      for (size_t j = 0; j < slot.indices.size(); ++j)
        w[slot.indices[j]] = slot.values[j];
    }
    // Sparse refresh (LIFT): re-pick from the current weights after every
    // `refresh` steps; entries that stay keep their optimizer state, new
    // ones start from zero.
    for (auto &[name, slot] : sparseSlots) {
      int64_t every = slot.sp->refresh;
      if (every <= 0 || step % every != 0 || step == steps)
        continue;
      std::vector<uint32_t> next =
          pickSparseMask(*slot.sp, *slot.weight, interp.getRng(), ++slot.round);
      for (auto &[stateName, state] : optState) {
        auto [param, slotName] = llvm::StringRef(stateName).rsplit('.');
        if (param != name)
          continue;
        float *values = state.dataAs<float>();
        std::vector<float> moved = carryOver(
            slot.indices, next, llvm::ArrayRef<float>(values, next.size()));
        std::copy(moved.begin(), moved.end(), values);
      }
      int64_t kept = 0;
      for (uint32_t i : next)
        kept += std::binary_search(slot.indices.begin(), slot.indices.end(), i);
      slot.indices = std::move(next);
      model.sparseMasks[name] = slot.indices;
      if (MetricsLog *log = interp.getMetrics())
        if (llvm::Error e = log->log(llvm::json::Object{
                {"train", trainIndex},
                {"step", step},
                {"sparse", slot.sp->adapter},
                {"tensor", name},
                {"refresh", slot.round},
                {"kept", kept},
                {"new", int64_t(slot.indices.size()) - kept}}))
          return e;
    }

    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    double rate = tokens / std::max(seconds, 1e-9);
    smoothedRate = step == 1 ? rate : 0.8 * smoothedRate + 0.2 * rate;
    StepMetrics metrics;
    metrics.step = step;
    metrics.loss = loss;
    metrics.lr = lr;
    metrics.tokensPerSecond = smoothedRate;
    metrics.time = interp.elapsed();
    llvm::json::Object extra{{"train", trainIndex}};
    if (evalProgram && evalEvery > 0 &&
        (step % evalEvery == 0 || step == steps)) {
      auto evalLoss = runEval();
      if (!evalLoss)
        return interp.error(op, llvm::toString(evalLoss.takeError()));
      extra["eval_loss"] = *evalLoss;
      if (progress)
        progress->setValue("eval", *evalLoss);
    }
    if (MetricsLog *log = interp.getMetrics())
      if (llvm::Error e = log->logStep(metrics, extra))
        return e;
    if (progress) {
      progress->setValue("loss", loss);
      progress->addTokens(uint64_t(tokens));
      progress->update(uint64_t(step));
    }
    if (InterruptGuard::interrupted()) {
      if (progress)
        progress->finish();
      auto saved = checkpoint(step, /*final=*/false);
      if (!saved)
        return saved.takeError();
      return llvm::createStringError(
          "interrupted at step " + std::to_string(step) +
          (saved->empty() ? "" : "; checkpoint written to " + *saved));
    }
    if (saveEvery > 0 && step % saveEvery == 0 && step != steps) {
      auto saved = checkpoint(step, /*final=*/false);
      if (!saved)
        return saved.takeError();
    }
  }
  if (progress)
    progress->finish();
  auto saved = checkpoint(steps, /*final=*/true);
  if (!saved)
    return saved.takeError();
  return llvm::Error::success();
}
