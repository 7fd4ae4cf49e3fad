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

#include "Interpreter.h"

#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Data/Tokenize.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
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
#include <set>
#include <cmath>
#include <cstring>

using namespace ftl::rt;
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
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;
using llvm::StringRef;

namespace func = mlir::func;
namespace fd = mlir::ftl;

namespace {

/// Rows of packed tokens for one objective term, cycling through epochs.
class TermFeeder {
public:
  TermFeeder(Interpreter &interp, DatasetRef data, const Tokenizer &tokenizer,
             TokenizeOptions tokenize, int64_t seqLen)
      : interp(interp), data(std::move(data)), tokenizer(tokenizer),
        tokenize(std::move(tokenize)), seqLen(seqLen) {}
  /// A new feeder over the same data, from its start.
  TermFeeder(const TermFeeder &other)
      : interp(other.interp), data(other.data), tokenizer(other.tokenizer),
        tokenize(other.tokenize), seqLen(other.seqLen) {}

  llvm::Expected<PackedRow> next() {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!rows) {
        DataContext ctx = interp.dataContext(&tokenizer);
        auto examples = tokenizeDataset(data, tokenizer, tokenize, ctx);
        if (!examples)
          return examples.takeError();
        PackOptions pack;
        pack.seqLen = seqLen;
        auto packed = packExamples(std::move(*examples), pack, &tokenizer,
                                   &interp.getStats());
        if (!packed)
          return packed.takeError();
        rows = std::move(*packed);
      }
      PackedRow row;
      auto more = rows->next(row);
      if (!more)
        return more.takeError();
      if (*more) {
        ++rowsThisEpoch;
        return row;
      }
      // End of an epoch: start over.
      if (rowsThisEpoch == 0)
        return llvm::createStringError(
            "the training data has no usable records (after filtering, "
            "tokenizing and dropping examples without supervised tokens)");
      ++epoch;
      rowsThisEpoch = 0;
      rows.reset();
    }
    return llvm::createStringError("the training data has no usable records");
  }

  int64_t epoch = 0;

private:
  Interpreter &interp;
  DatasetRef data;
  const Tokenizer &tokenizer;
  TokenizeOptions tokenize;
  int64_t seqLen;
  std::unique_ptr<RowStream> rows;
  int64_t rowsThisEpoch = 0;
};

/// The batch tensors of one term for one micro-batch.
struct TermBatch {
  std::vector<int32_t> ids, targets, positions, segments;
  std::vector<float> weights;
  double totalWeight = 0;
  int64_t tokens = 0;
};

/// Fills next-token targets: position i predicts token i+1 of the same
/// document; its weight is the weight of that token.
void fillBatch(llvm::ArrayRef<PackedRow> rows, int64_t seq, TermBatch &out) {
  int64_t n = int64_t(rows.size()) * seq;
  out.ids.assign(n, 0);
  out.targets.assign(n, -1);
  out.positions.assign(n, 0);
  out.segments.assign(n, -1);
  out.weights.assign(n, 0.0f);
  out.totalWeight = 0;
  out.tokens = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const PackedRow &row = rows[r];
    for (int64_t i = 0; i < seq && i < int64_t(row.ids.size()); ++i) {
      int64_t at = int64_t(r) * seq + i;
      out.ids[at] = row.ids[i];
      out.positions[at] = row.positions[i];
      out.segments[at] = row.segmentIds[i];
      if (row.segmentIds[i] >= 0)
        ++out.tokens;
      if (i + 1 < int64_t(row.ids.size()) && row.segmentIds[i] >= 0 &&
          row.segmentIds[i + 1] == row.segmentIds[i]) {
        out.targets[at] = row.ids[i + 1];
        out.weights[at] = row.weights[i + 1];
        out.totalWeight += row.weights[i + 1];
      }
    }
  }
}

/// How a loss term reads its records.
llvm::Expected<TokenizeOptions> tokenizeOptionsFor(fd::LossOp loss,
                                                   const Dataset &data,
                                                   Interpreter &interp,
                                                   const Tokenizer &tok) {
  TokenizeOptions options;
  std::vector<std::string> fields;
  if (auto schema = data.schema()) {
    fields = *schema;
  } else {
    // Peek at the first record.
    auto stream = data.open(interp.dataContext(&tok));
    if (!stream)
      return stream.takeError();
    Record first;
    auto got = (*stream)->next(first);
    if (!got)
      return got.takeError();
    if (*got)
      for (const std::string &name : first.fieldNames())
        fields.push_back(name);
  }
  auto has = [&](llvm::StringRef f) { return llvm::is_contained(fields, f); };
  std::string on = "auto";
  if (auto a = loss->getAttrOfType<StringAttr>("on"))
    on = a.getValue().str();
  if (loss.getName() == "lm") {
    options.mode = TokenizeOptions::Mode::Text;
    options.loss = TokenizeOptions::Loss::All;
    return options;
  }
  if (has("messages") && (on == "auto" || on == "assistant")) {
    options.mode = TokenizeOptions::Mode::Messages;
    return options;
  }
  if (has("prompt") && has("response")) {
    options.mode = TokenizeOptions::Mode::PromptResponse;
    options.loss = on == "all" ? TokenizeOptions::Loss::All
                               : TokenizeOptions::Loss::Response;
    return options;
  }
  if (has("text")) {
    options.mode = TokenizeOptions::Mode::Text;
    options.loss = TokenizeOptions::Loss::All;
    return options;
  }
  return llvm::createStringError(
      "'" + loss.getName().str() +
      "' needs records with text, prompt and response, or messages");
}

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

llvm::Error (::ftl::rt::runTrain)(Interpreter &interp, Operation *op,
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
  if (evalFn && train.getEvalData()) {
    auto built = Program::build(evalFn, interp.getKernels(), &pool);
    if (!built)
      return interp.error(op, llvm::toString(built.takeError()));
    evalProgram = std::move(*built);
  }
  Program &grad = **gradProgram;
  Program &update = **updateProgram;

  // Parameters: bind the model's tensors (base weights and adapters).
  auto bindParams = [&](Program &program) -> llvm::Error {
    for (auto [i, info] : llvm::enumerate(program.arguments())) {
      if (info.param.empty() || !info.gradAcc.empty())
        continue;
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
  if (llvm::Error e = bindParams(grad))
    return e;
  if (llvm::Error e = bindParams(update))
    return e;
  if (evalProgram)
    if (llvm::Error e = bindParams(*evalProgram))
      return e;

  // Gradient accumulators and optimizer states, one per trainable tensor.
  std::map<std::string, std::vector<float>> gradAcc, optState;
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
  // The update: params, grads, states, scalars; results alias the inputs.
  float lr = 0, bias1 = 1, bias2 = 1, gradScale = 1;
  std::vector<void *> updateOutputs;
  for (auto [i, info] : llvm::enumerate(update.arguments())) {
    if (!info.gradAcc.empty()) {
      update.bindArgument(i, gradAcc[info.gradAcc].data());
      continue;
    }
    if (!info.param.empty()) {
      updateOutputs.push_back(model.find(info.param)->mutableData());
      continue;
    }
    // Optimizer states and scalars are recognised by their attributes.
    StringRef attr;
    if (auto a = updateFn.getArgAttrOfType<StringAttr>(i, "ftl.opt_state"))
      attr = a.getValue();
    if (!attr.empty()) {
      std::vector<float> &state = optState[attr.str()];
      state.assign(info.numel(), 0.0f);
      update.bindArgument(i, state.data());
      updateOutputs.push_back(state.data());
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

  // Data for each term.
  auto tokenizer = interp.tokenizerFor(op, &model);
  if (!tokenizer)
    return tokenizer.takeError();
  std::vector<std::unique_ptr<TermFeeder>> feeders;
  for (const ::ftl::PlannedTerm &term : plan->terms) {
    fd::LossOp loss = term.loss;
    auto dataIt = loss.getInputs()[0];
    auto d = interp.data(dataIt);
    if (!d)
      return d.takeError();
    auto options = tokenizeOptionsFor(loss, *(*d)->data, interp, **tokenizer);
    if (!options)
      return interp.error(loss, llvm::toString(options.takeError()));
    options->threads = unsigned(pool.numThreads());
    feeders.push_back(std::make_unique<TermFeeder>(
        interp, (*d)->data, **tokenizer, *options, plan->seq));
  }

  // Steps.
  int64_t steps = plan->steps;
  if (steps <= 0) {
    // Epochs: count the rows of the first term once.
    TermFeeder counter(*feeders.front());
    int64_t rows = 0;
    while (counter.epoch == 0) {
      auto row = counter.next();
      if (!row)
        return interp.error(op, llvm::toString(row.takeError()));
      if (counter.epoch == 0)
        ++rows;
    }
    int64_t perStep = plan->batch * plan->accumulate;
    steps = std::max<int64_t>(1, plan->epochs * ((rows + perStep - 1) / perStep));
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

  int64_t seq = plan->seq, batch = plan->batch;
  std::vector<TermBatch> batches(feeders.size());
  double smoothedRate = 0;
  int64_t evalEvery = 0;
  if (auto e = op->getAttrOfType<IntegerAttr>("eval_every"))
    evalEvery = e.getInt();

  // Held-out loss: the eval function over up to 16 batches of the eval data,
  // fed to the first term (the other terms get no weight).
  std::optional<TermFeeder> evalFeeder;
  if (evalProgram) {
    auto d = interp.data(train.getEvalData());
    if (!d)
      return d.takeError();
    auto options = tokenizeOptionsFor(plan->terms.front().loss, *(*d)->data,
                                      interp, **tokenizer);
    if (!options)
      return interp.error(op, llvm::toString(options.takeError()));
    evalFeeder.emplace(interp, (*d)->data, **tokenizer, *options, seq);
  }
  auto runEval = [&]() -> llvm::Expected<double> {
    TermFeeder feeder = *evalFeeder; // a fresh pass each time
    double sum = 0, weight = 0;
    std::vector<TermBatch> eb(feeders.size());
    float value = 0;
    float one = 1, zero = 0;
    evalProgram->bindResult(0, &value);
    for (int b = 0; b < 16 && feeder.epoch == 0; ++b) {
      std::vector<PackedRow> rows;
      for (int64_t r = 0; r < batch; ++r) {
        auto row = feeder.next();
        if (!row)
          return row.takeError();
        rows.push_back(std::move(*row));
      }
      for (size_t t = 0; t < eb.size(); ++t) {
        fillBatch(rows, seq, eb[t]);
        if (t > 0)
          std::fill(eb[t].weights.begin(), eb[t].weights.end(), 0.0f);
      }
      for (size_t t = 0; t < eb.size(); ++t) {
        auto bind = [&](const char *what, void *ptr) {
          int i = evalProgram->findArgument(
              "", std::to_string(t) + "." + what, "");
          if (i >= 0)
            evalProgram->bindArgument(i, ptr);
        };
        bind("ids", eb[t].ids.data());
        bind("targets", eb[t].targets.data());
        bind("weights", eb[t].weights.data());
        bind("positions", eb[t].positions.data());
        bind("segments", eb[t].segments.data());
        bind("scale", t == 0 ? (void *)&one : (void *)&zero);
      }
      if (llvm::Error e = evalProgram->run())
        return std::move(e);
      // The first term's weight divides out below: undo the term weight.
      double termWeight = plan->terms.front().weight;
      sum += value / (termWeight == 0 ? 1 : termWeight);
      weight += eb[0].totalWeight;
    }
    return weight > 0 ? sum / weight : NAN;
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
    // Optimizer states "<slot>/<parameter>" under the parameters' names:
    // adapter states directly; base states through the same Hugging Face
    // export as the weights (GPT-2's q/k/v states fuse into c_attn).
    std::map<std::string, ModelWeights> baseStates;
    std::set<std::string> trainedHF;
    for (auto &[name, values] : optState) {
      auto [param, slot] = llvm::StringRef(name).rsplit('.');
      Tensor *p = model.find(param);
      Tensor t = Tensor::zeros(DType::F32, p->shape());
      std::copy(values.begin(), values.end(), t.dataAs<float>());
      if (model.adapterTensors.count(param.str())) {
        state.optimizer.push_back({slot.str() + "/" + param.str(), t});
        continue;
      }
      baseStates[slot.str()].set(param, t);
      if (auto hf = hfTensorName(model.config, param)) {
        trainedHF.insert(*hf);
      } else {
        // layers.<i>.attn.{q,k,v}.<leaf> -> transformer.h.<i>.attn.c_attn.<leaf>
        llvm::SmallVector<llvm::StringRef, 6> parts;
        param.split(parts, '.');
        if (parts.size() == 5)
          trainedHF.insert(("transformer.h." + parts[1] + ".attn.c_attn." +
                            parts[4]).str());
      }
    }
    for (auto &[slot, partial] : baseStates) {
      ModelWeights full;
      for (auto &[name, w] : model.weights) {
        const Tensor *have = partial.find(name);
        full.set(name, have ? *have : Tensor::zeros(DType::F32, w.shape()));
      }
      auto hf = exportHFTensors(model.config, full);
      if (!hf)
        return hf.takeError();
      for (auto &[name, t] : *hf)
        if (trainedHF.count(name))
          state.optimizer.push_back({slot + "/" + name, t});
    }
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

  for (int64_t step = 1; step <= steps; ++step) {
    auto started = std::chrono::steady_clock::now();
    for (auto &[name, acc] : gradAcc)
      std::fill(acc.begin(), acc.end(), 0.0f);
    // Gather the rows of every micro-batch first: the loss normaliser is the
    // total weight of the whole optimizer step.
    std::vector<std::vector<std::vector<PackedRow>>> micro(
        plan->accumulate, std::vector<std::vector<PackedRow>>(feeders.size()));
    std::vector<double> termWeight(feeders.size(), 0);
    for (int64_t m = 0; m < plan->accumulate; ++m)
      for (size_t t = 0; t < feeders.size(); ++t)
        for (int64_t r = 0; r < batch; ++r) {
          auto row = feeders[t]->next();
          if (!row)
            return interp.error(plan->terms[t].loss,
                                llvm::toString(row.takeError()));
          for (size_t i = 1; i < row->ids.size(); ++i)
            if (row->segmentIds[i] >= 0 &&
                row->segmentIds[i] == row->segmentIds[i - 1])
              termWeight[t] += row->weights[i];
          micro[m][t].push_back(std::move(*row));
        }
    double loss = 0;
    int64_t tokens = 0;
    for (int64_t m = 0; m < plan->accumulate; ++m) {
      std::vector<float> scales(feeders.size());
      for (size_t t = 0; t < feeders.size(); ++t) {
        fillBatch(micro[m][t], seq, batches[t]);
        tokens += batches[t].tokens;
        scales[t] = termWeight[t] > 0 ? float(1.0 / termWeight[t]) : 0.0f;
        auto bind = [&](const char *what, void *ptr) {
          int i = grad.findArgument("", std::to_string(t) + "." + what, "");
          if (i >= 0)
            grad.bindArgument(i, ptr);
        };
        bind("ids", batches[t].ids.data());
        bind("targets", batches[t].targets.data());
        bind("weights", batches[t].weights.data());
        bind("positions", batches[t].positions.data());
        bind("segments", batches[t].segments.data());
        bind("scale", &scales[t]);
      }
      if (llvm::Error e = grad.run())
        return interp.error(op, llvm::toString(std::move(e)));
      loss += stepLoss;
    }
    // Clip by global norm.
    gradScale = 1;
    if (plan->clip > 0) {
      double sq = 0;
      for (auto &[name, acc] : gradAcc)
        for (float g : acc)
          sq += double(g) * g;
      double norm = std::sqrt(sq);
      if (norm > plan->clip)
        gradScale = float(plan->clip / (norm + 1e-6));
    }
    lr = float(baseLr * scheduleFactor(schedule, step, steps));
    bias1 = float(1 - std::pow(beta1, double(step)));
    bias2 = float(1 - std::pow(beta2, double(step)));
    if (llvm::Error e = update.run())
      return interp.error(op, llvm::toString(std::move(e)));

    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
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
    if (evalProgram && evalEvery > 0 && (step % evalEvery == 0 || step == steps)) {
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
