//===- Feedback.cpp - generate, judge and metrics in the interpreter ------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The feedback half of a pipeline: `generate` samples from the current model
// (its adapters included) with the KV-cache generator, `judge` scores the
// samples, and metrics (`exact_match`, `pass_rate`, `eval_loss`, `margin`)
// measure models and samples. Semantics: docs/feedback.md.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "Dora.h"

#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Data/Tokenize.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Embed/HostJudges.h"
#include "ftl/Generate/Generate.h"
#include "ftl/Judge/Judge.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Run/Progress.h"

#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace ftl::rt;
using llvm::cast;
using llvm::dyn_cast;
using llvm::StringRef;
using mlir::Operation;
namespace fd = mlir::ftl;
using DataField = ftl::rt::Value; // a record field (not an mlir::Value)

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

llvm::Expected<ModelView> Interpreter::viewOf(ModelState &model) {
  ModelView view;
  view.config = &model.config;
  view.weights = &model.weights;
  // DoRA modules are not plain deltas: the decoder reads their merged
  // weights, in a copy of the weights that shares every other tensor.
  bool dora = llvm::any_of(model.adapterTensors, [](const auto &entry) {
    return StringRef(entry.first).ends_with(".lora_magnitude");
  });
  if (dora) {
    model.viewWeights = model.weights;
    view.weights = &model.viewWeights;
  }
  for (auto &[name, a] : model.adapterTensors) {
    StringRef rest(name);
    if (StringRef(name).contains(".adapter."))
      continue; // parallel and bottleneck modules: below
    if (!rest.consume_back(".lora_A"))
      continue;
    StringRef module = rest.split('.').second;
    auto b = model.adapterTensors.find((rest + ".lora_B").str());
    auto scale = model.loraScales.find(rest.str());
    if (b == model.adapterTensors.end() || scale == model.loraScales.end())
      return llvm::createStringError("adapter tensor '" + name +
                                     "' has no matching lora_B or scale");
    auto m = model.adapterTensors.find((rest + ".lora_magnitude").str());
    if (m != model.adapterTensors.end()) {
      std::string weight = (module + ".weight").str();
      const Tensor *w = model.weights.find(weight);
      if (!w)
        return llvm::createStringError("DoRA module '" + rest.str() +
                                       "' has no base weight");
      model.viewWeights.set(
          weight, doraMergedWeight(*w, a, b->second, m->second, scale->second));
      continue;
    }
    view.lora[(module + ".weight").str()] =
        LoraDelta{&a, &b->second, float(scale->second)};
  }
  // Prompt or prefix tuning: the decoder starts every sequence with the
  // virtual tokens, as the step function does.
  if (!model.virtualAdapter.empty()) {
    ::ftl::VirtualTokenPlacement v;
    v.adapter = model.virtualAdapter;
    auto tensor = [&](const std::string &name) -> const Tensor * {
      auto it = model.adapterTensors.find(name);
      return it == model.adapterTensors.end() ? nullptr : &it->second;
    };
    if (model.virtualKind == "prompt") {
      view.virtualTokens.prompt = tensor(v.promptName());
      if (view.virtualTokens.prompt)
        view.virtualTokens.count = view.virtualTokens.prompt->dim(0);
    } else {
      for (int64_t l = 0; l < model.config.layers; ++l) {
        view.virtualTokens.keys.push_back(tensor(v.prefixName(l, false)));
        view.virtualTokens.values.push_back(tensor(v.prefixName(l, true)));
      }
      if (view.virtualTokens.keys[0])
        view.virtualTokens.count = view.virtualTokens.keys[0]->dim(0);
    }
  }
  for (const ModelState::BlockAdapter &b : model.blockAdapters) {
    auto tensor = [&](const char *suffix) -> const Tensor * {
      auto it = model.adapterTensors.find(b.prefix + suffix);
      return it == model.adapterTensors.end() ? nullptr : &it->second;
    };
    BlockAdapterDelta d;
    d.layer = b.layer;
    d.mlp = b.mlp;
    d.downWeight = tensor(".down.weight");
    d.downBias = tensor(".down.bias");
    d.upWeight = tensor(".up.weight");
    d.upBias = tensor(".up.bias");
    d.scale = float(b.scale);
    d.serial = b.serial;
    d.act = b.act;
    view.blocks.push_back(d);
  }
  return view;
}

/// The records of a dataset, in order.
static llvm::Expected<std::vector<Record>> readRecords(const DatasetRef &data,
                                                       const DataContext &ctx) {
  auto stream = data->open(ctx);
  if (!stream)
    return stream.takeError();
  std::vector<Record> records;
  Record r;
  while (true) {
    auto more = (*stream)->next(r);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    records.push_back(std::move(r));
    r = Record();
  }
  return records;
}

/// A string field of a record, or "" (numbers are printed).
static std::string textOf(const Record &r, StringRef field) {
  const DataField *v = r.get(field);
  if (!v)
    return "";
  if (v->isString())
    return v->getString().str();
  if (v->isNull())
    return "";
  return v->toJson();
}

/// Prompt tokens exactly as `sft` lays out the prompt of a prompt/response
/// record (the tokenizer's BOS where it adds one, then the prompt).
static llvm::Expected<std::vector<int32_t>>
promptTokens(const Tokenizer &tokenizer, StringRef prompt, int64_t index) {
  TokenizeOptions options;
  options.mode = TokenizeOptions::Mode::PromptResponse;
  options.eos = TokenizeOptions::Special::No;
  options.keepNoLoss = true;
  Record record(
      {Member{"prompt", DataField(prompt)}, Member{"response", DataField("")}});
  std::vector<TokenizedExample> out;
  if (llvm::Error e = tokenizeRecord(record, tokenizer, options, index, out))
    return std::move(e);
  if (out.empty())
    return llvm::createStringError("prompt " + std::to_string(index) +
                                   " gives no tokens");
  return std::move(out.front().ids);
}

//===----------------------------------------------------------------------===//
// generate
//===----------------------------------------------------------------------===//

llvm::Error Interpreter::execGenerate(Operation *op) {
  auto gen = cast<fd::GenerateOp>(op);
  auto m = model(gen.getModel());
  if (!m)
    return m.takeError();
  auto tokenizer = tokenizerFor(op, m->get());
  if (!tokenizer)
    return tokenizer.takeError();
  // Prompts: a column (d.prompt) or records with a `prompt` field.
  DatasetRef source;
  std::string field = "prompt";
  auto it = values.find(gen.getPrompts());
  if (it == values.end())
    return error(op, "internal: the prompts were not computed");
  if (auto *column = std::get_if<ColumnValue>(&it->second)) {
    source = column->data;
    field = column->field;
  } else if (auto *d = std::get_if<DataValue>(&it->second)) {
    source = d->data;
  } else {
    return error(op, "the prompts must be a column such as d.prompt");
  }
  auto records = readRecords(source, dataContext(*tokenizer));
  if (!records)
    return error(op, llvm::toString(records.takeError()));
  if (records->empty())
    return error(op, "there are no prompts to generate from");

  SamplingOptions sampling;
  auto intAttr = [&](StringRef k, int64_t d) {
    auto a = op->getAttrOfType<mlir::IntegerAttr>(k);
    return a ? a.getInt() : d;
  };
  auto floatAttr = [&](StringRef k, double d) {
    auto a = op->getAttrOfType<mlir::FloatAttr>(k);
    return a ? a.getValueAsDouble() : d;
  };
  sampling.n = intAttr("n", 1);
  sampling.maxTokens = intAttr("max_tokens", 64);
  sampling.topK = intAttr("top_k", 0);
  sampling.temperature = floatAttr("temperature", 1.0);
  sampling.topP = floatAttr("top_p", 1.0);
  if (auto stop = op->getAttrOfType<mlir::ArrayAttr>("stop"))
    for (mlir::Attribute s : stop)
      sampling.stop.push_back(cast<mlir::StringAttr>(s).getValue().str());
  sampling.eos = (*tokenizer)->eosId();
  // Each execution draws its own stream: rounds of a loop differ, and a
  // rerun gives the same samples.
  sampling.seed =
      rng.derive("generate:" + std::to_string(generateCount++)).seed();

  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < records->size(); ++i) {
    auto ids = promptTokens(**tokenizer, textOf((*records)[i], field), i);
    if (!ids)
      return error(op, llvm::toString(ids.takeError()));
    prompts.push_back(std::move(*ids));
  }
  auto view = viewOf(**m);
  if (!view)
    return error(op, llvm::toString(view.takeError()));

  std::optional<Progress> progress;
  if (!options.quiet)
    progress.emplace(
        "generate", uint64_t(prompts.size() * sampling.n * sampling.maxTokens));
  auto samples = ftl::rt::generate(*view, **tokenizer, prompts, sampling, &pool,
                                   [&](int64_t tokens) {
                                     if (progress) {
                                       progress->update(uint64_t(tokens));
                                     }
                                   });
  if (progress)
    progress->finish();
  if (!samples)
    return error(op, llvm::toString(samples.takeError()));

  // Records: the prompt record's fields, its response kept as `reference`,
  // then prompt, response (the sample), sample_index and prompt_index.
  std::vector<Record> out;
  for (const Sample &s : *samples) {
    const Record &from = (*records)[s.prompt];
    Record r = from;
    if (const DataField *resp = from.get("response"))
      r.set("reference", *resp);
    r.set("prompt", DataField(textOf(from, field)));
    r.set("response", DataField(s.text));
    r.set("finish", DataField(s.finish));
    r.set("prompt_index", DataField(int64_t(s.prompt)));
    int64_t index = int64_t(out.size()) % sampling.n;
    r.set("sample_index", DataField(index));
    out.push_back(std::move(r));
  }
  // The samples go to the run folder too.
  if (RunFolder *folder = getRunFolder()) {
    std::string dir = folder->samplesDir();
    llvm::sys::fs::create_directories(dir);
    std::string path =
        dir + "/generate-" + std::to_string(generateCount - 1) + ".jsonl";
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (!ec)
      for (const Record &r : out) {
        std::vector<Member> members = r.fields();
        os << DataField::object(std::move(members)).toJson() << "\n";
      }
  }
  int64_t count = int64_t(out.size());
  DataValue result;
  result.data = recordsDataset("generate", std::move(out));
  values[gen.getSamples()] = result;
  materialized.insert(keyOf(gen.getSamples()));
  llvm::json::Object record{{"generated", count}};
  return metrics->log(record);
}

//===----------------------------------------------------------------------===//
// judge
//===----------------------------------------------------------------------===//

static std::unique_ptr<Judge> likelihoodJudge(std::shared_ptr<ModelState> model,
                                              ModelView view,
                                              const Tokenizer &tokenizer,
                                              ftl::kernels::ThreadPool *pool,
                                              std::optional<double> min);

llvm::Expected<std::unique_ptr<Judge>>
Interpreter::makeJudge(Operation *op, mlir::Value judgeValue) {
  auto make = judgeValue.getDefiningOp<fd::MakeOp>();
  if (!make)
    return llvm::createStringError("the judge must be a judge description "
                                   "such as exec(...)");
  StringRef kind = make.getName();
  auto floatAttr = [&](StringRef k, double d) {
    auto a = make->getAttrOfType<mlir::FloatAttr>(k);
    return a ? a.getValueAsDouble() : d;
  };
  if (kind == "exact")
    return normalizedMatchJudge();
  if (kind == "numeric")
    return numericMatchJudge(floatAttr("tol", 1e-6));
  if (kind == "regex") {
    auto p = make->getAttrOfType<mlir::StringAttr>("pattern");
    return regexJudge(p ? p.getValue() : "");
  }
  if (kind == "host") {
    auto name = make->getAttrOfType<mlir::StringAttr>("registered");
    return findHostJudge(name ? name.getValue() : "");
  }
  if (kind == "exec") {
    ExecOptions options;
    mlir::Attribute command = make->getAttr("command");
    if (auto s = llvm::dyn_cast_or_null<mlir::StringAttr>(command)) {
      auto argv = splitCommandLine(s.getValue());
      if (!argv)
        return argv.takeError();
      options.argv = std::move(*argv);
    } else if (auto list = llvm::dyn_cast_or_null<mlir::ArrayAttr>(command)) {
      for (mlir::Attribute a : list)
        options.argv.push_back(cast<mlir::StringAttr>(a).getValue().str());
    }
    if (options.argv.empty())
      return llvm::createStringError("exec(...) needs a command");
    // Relative paths in the command are relative to the script's folder,
    // like every input path.
    options.workingDir = resolvePath(".");
    options.timeoutSeconds = floatAttr("timeout", 10);
    if (auto mem = make->getAttrOfType<mlir::IntegerAttr>("memory"))
      options.memoryLimitBytes = mem.getInt() * 1024 * 1024;
    if (auto w = make->getAttrOfType<mlir::IntegerAttr>("workers"))
      options.workers = int(w.getInt());
    return ftl::rt::execJudge(std::move(options));
  }
  if (kind == "likelihood") {
    if (make.getInputs().empty())
      return llvm::createStringError("likelihood(...) needs a model");
    auto m = model(make.getInputs()[0]);
    if (!m)
      return m.takeError();
    auto view = viewOf(**m);
    if (!view)
      return view.takeError();
    auto tok = tokenizerFor(op, m->get());
    if (!tok)
      return tok.takeError();
    std::optional<double> min;
    if (make->hasAttr("min"))
      min = floatAttr("min", 0);
    return likelihoodJudge(*m, std::move(*view), **tok, &pool, min);
  }
  return llvm::createStringError("not implemented yet: judge '" + kind.str() +
                                 "'");
}

llvm::Error Interpreter::execJudge(Operation *op) {
  auto judgeOp = cast<fd::JudgeOp>(op);
  auto samples = data(judgeOp.getSamples());
  if (!samples)
    return samples.takeError();
  auto records = readRecords((*samples)->data, dataContext(nullptr));
  if (!records)
    return error(op, llvm::toString(records.takeError()));
  auto judge = makeJudge(op, judgeOp.getJudge());
  if (!judge)
    return error(op, llvm::toString(judge.takeError()));
  std::vector<JudgeItem> items;
  for (const Record &r : *records)
    items.push_back(
        {textOf(r, "prompt"), textOf(r, "response"), textOf(r, "reference")});
  JudgeStats stats;
  std::optional<Progress> progress;
  if (!options.quiet)
    progress.emplace("judge", uint64_t(items.size()));
  auto verdicts = (*judge)->judge(items, stats);
  if (progress) {
    progress->update(uint64_t(items.size()));
    progress->finish();
  }
  if (!verdicts)
    return error(op, llvm::toString(verdicts.takeError()));
  std::vector<Record> all, passed, failed;
  for (size_t i = 0; i < records->size(); ++i) {
    Record r = (*records)[i];
    const Verdict &v = (*verdicts)[i];
    r.set("score", DataField(v.score));
    r.set("pass", DataField(v.pass));
    r.set("feedback", DataField(v.feedback));
    if (!v.failure.empty())
      r.set("judge_failure", DataField(v.failure));
    (v.pass ? passed : failed).push_back(r);
    all.push_back(std::move(r));
  }
  DataValue result;
  result.data = recordsDataset("judge", std::move(all));
  result.parts["pass"] = recordsDataset("judge.pass", std::move(passed));
  result.parts["fail"] = recordsDataset("judge.fail", std::move(failed));
  values[judgeOp.getJudged()] = result;
  materialized.insert(keyOf(judgeOp.getJudged()));
  lastJudgeStats = stats;
  llvm::json::Object record{
      {"judge", llvm::json::Object{{"items", stats.items},
                                   {"passed", stats.passed},
                                   {"crashed", stats.crashed},
                                   {"timed_out", stats.timedOut},
                                   {"garbage", stats.garbage},
                                   {"memory", stats.memory}}}};
  if (!options.quiet &&
      (stats.crashed || stats.timedOut || stats.garbage || stats.memory))
    llvm::errs() << "judge: " << stats.crashed << " crashed, " << stats.timedOut
                 << " timed out, " << stats.garbage << " garbage, "
                 << stats.memory << " over memory, of " << stats.items
                 << " items\n";
  return metrics->log(record);
}

//===----------------------------------------------------------------------===//
// Metrics
//===----------------------------------------------------------------------===//

/// Sum of log p(response tokens | prompt) under `view` for one record.
static llvm::Expected<double>
responseLogProb(const ModelView &view, const Tokenizer &tokenizer,
                StringRef prompt, StringRef response,
                ftl::kernels::ThreadPool *pool, int64_t *tokensOut = nullptr) {
  TokenizeOptions options;
  options.mode = TokenizeOptions::Mode::PromptResponse;
  Record record({Member{"prompt", DataField(prompt)},
                 Member{"response", DataField(response)}});
  std::vector<TokenizedExample> out;
  if (llvm::Error e = tokenizeRecord(record, tokenizer, options, 0, out))
    return std::move(e);
  if (out.empty())
    return 0.0;
  const TokenizedExample &ex = out.front();
  int64_t ctx = view.config->ctx;
  std::vector<int32_t> ids = ex.ids;
  std::vector<float> weights = ex.weights;
  if (int64_t(ids.size()) > ctx) {
    ids.resize(ctx);
    weights.resize(ctx);
  }
  auto logits = forwardLogits(view, ids, pool);
  if (!logits)
    return logits.takeError();
  int64_t vocab = view.config->vocab;
  const float *l = logits->dataAs<float>();
  double sum = 0;
  int64_t tokens = 0;
  for (size_t i = 1; i < ids.size(); ++i) {
    if (weights[i] == 0)
      continue;
    const float *row = l + (i - 1) * vocab;
    double max = row[0];
    for (int64_t j = 1; j < vocab; ++j)
      max = std::max(max, double(row[j]));
    double z = 0;
    for (int64_t j = 0; j < vocab; ++j)
      z += std::exp(double(row[j]) - max);
    sum += weights[i] * (double(row[ids[i]]) - max - std::log(z));
    ++tokens;
  }
  if (tokensOut)
    *tokensOut = tokens;
  return sum;
}

namespace {
/// `likelihood(m, min: x)`: the score of a sample is its mean token
/// log-probability given the prompt under m (the response's tokens and the
/// EOS, as sft trains them); it passes when the score is at least `min`, or
/// always without one.
class LikelihoodJudge : public Judge {
public:
  LikelihoodJudge(std::shared_ptr<ModelState> model, ModelView view,
                  const Tokenizer &tokenizer, ftl::kernels::ThreadPool *pool,
                  std::optional<double> min)
      : model(std::move(model)), view(std::move(view)), tokenizer(tokenizer),
        pool(pool), min(min) {}

  llvm::Expected<std::vector<Verdict>> judge(llvm::ArrayRef<JudgeItem> items,
                                             JudgeStats &stats) override {
    std::vector<Verdict> verdicts;
    for (const JudgeItem &item : items) {
      int64_t tokens = 0;
      auto sum = responseLogProb(view, tokenizer, item.prompt, item.sample,
                                 pool, &tokens);
      if (!sum)
        return sum.takeError();
      Verdict v;
      if (tokens == 0) {
        v.feedback = "no response tokens to score";
      } else {
        v.score = *sum / double(tokens);
        v.pass = !min || v.score >= *min;
        v.feedback = "mean log-probability " + std::to_string(v.score) +
                     " over " + std::to_string(tokens) + " tokens";
      }
      verdicts.push_back(std::move(v));
    }
    accumulateStats(verdicts, stats);
    return verdicts;
  }

private:
  std::shared_ptr<ModelState> model; // keeps the view's tensors alive
  ModelView view;
  const Tokenizer &tokenizer;
  ftl::kernels::ThreadPool *pool;
  std::optional<double> min;
};
} // namespace

static std::unique_ptr<Judge> likelihoodJudge(std::shared_ptr<ModelState> model,
                                              ModelView view,
                                              const Tokenizer &tokenizer,
                                              ftl::kernels::ThreadPool *pool,
                                              std::optional<double> min) {
  return std::make_unique<LikelihoodJudge>(std::move(model), std::move(view),
                                           tokenizer, pool, min);
}

llvm::Error Interpreter::execMetric(Operation *op) {
  auto metric = cast<fd::MetricOp>(op);
  StringRef name = metric.getName();
  auto input = [&](StringRef operand) -> mlir::Value {
    for (auto [n, v] : llvm::zip(metric.getOperandNames(), metric.getInputs()))
      if (cast<mlir::StringAttr>(n).getValue() == operand)
        return v;
    return {};
  };
  auto recordsOf = [&](mlir::Value v) -> llvm::Expected<std::vector<Record>> {
    auto it = values.find(v);
    if (it == values.end())
      return llvm::createStringError("internal: an input was not computed");
    if (auto *d = std::get_if<DataValue>(&it->second))
      return readRecords(d->data, dataContext(nullptr));
    if (auto *c = std::get_if<ColumnValue>(&it->second))
      return readRecords(c->data, dataContext(nullptr));
    return llvm::createStringError("expected data");
  };
  double result = NAN;
  if (name == "pass_rate") {
    auto judged = recordsOf(metric.getInputs()[0]);
    if (!judged)
      return error(op, llvm::toString(judged.takeError()));
    int64_t pass = 0;
    for (const Record &r : *judged)
      if (const DataField *p = r.get("pass"); p && p->isBool() && p->getBool())
        ++pass;
    result = judged->empty() ? NAN : double(pass) / double(judged->size());
  } else if (name == "exact_match") {
    mlir::Value predicted = input("predicted"), reference = input("reference");
    if (!predicted)
      predicted = metric.getInputs()[0];
    if (!reference && metric.getInputs().size() > 1)
      reference = metric.getInputs()[1];
    auto preds = recordsOf(predicted);
    if (!preds)
      return error(op, llvm::toString(preds.takeError()));
    std::vector<std::string> refs;
    std::string refField = "response";
    if (reference) {
      auto it = values.find(reference);
      if (auto *c = std::get_if<ColumnValue>(&it->second))
        refField = c->field;
      auto rr = recordsOf(reference);
      if (!rr)
        return error(op, llvm::toString(rr.takeError()));
      for (const Record &r : *rr)
        refs.push_back(textOf(r, refField));
    }
    auto trim = [](StringRef s) { return s.trim().str(); };
    int64_t hits = 0;
    for (size_t i = 0; i < preds->size(); ++i) {
      const Record &p = (*preds)[i];
      std::string want;
      if (!refs.empty()) {
        int64_t at = int64_t(i);
        if (const DataField *pi = p.get("prompt_index"); pi && pi->isInt())
          at = pi->getInt();
        if (at < int64_t(refs.size()))
          want = refs[at];
      } else {
        want = textOf(p, "reference");
      }
      hits += trim(textOf(p, "response")) == trim(want);
    }
    result = preds->empty() ? NAN : double(hits) / double(preds->size());
  } else if (name == "margin" || name == "eval_loss") {
    auto m = model(input("m") ? input("m") : metric.getInputs()[0]);
    if (!m)
      return m.takeError();
    auto tokenizer = tokenizerFor(op, m->get());
    if (!tokenizer)
      return tokenizer.takeError();
    auto view = viewOf(**m);
    if (!view)
      return error(op, llvm::toString(view.takeError()));
    mlir::Value d = input("d") ? input("d") : metric.getInputs()[1];
    auto records = recordsOf(d);
    if (!records)
      return error(op, llvm::toString(records.takeError()));
    std::optional<ModelView> refView;
    std::shared_ptr<ModelState> refModel;
    if (mlir::Value ref = input("ref")) {
      auto r = model(ref);
      if (!r)
        return r.takeError();
      refModel = *r;
      auto v = viewOf(*refModel);
      if (!v)
        return error(op, llvm::toString(v.takeError()));
      refView = std::move(*v);
    }
    double sum = 0;
    int64_t count = 0;
    for (const Record &r : *records) {
      std::string prompt = textOf(r, "prompt");
      if (name == "eval_loss") {
        int64_t tokens = 0;
        auto lp = responseLogProb(*view, **tokenizer, prompt,
                                  textOf(r, "response"), &pool, &tokens);
        if (!lp)
          return error(op, llvm::toString(lp.takeError()));
        sum -= *lp;
        count += tokens;
        continue;
      }
      double pair = 0;
      for (int side = 0; side < 2; ++side) {
        std::string text = textOf(r, side == 0 ? "chosen" : "rejected");
        auto lp = responseLogProb(*view, **tokenizer, prompt, text, &pool);
        if (!lp)
          return error(op, llvm::toString(lp.takeError()));
        double v = *lp;
        if (refView) {
          auto rlp =
              responseLogProb(*refView, **tokenizer, prompt, text, &pool);
          if (!rlp)
            return error(op, llvm::toString(rlp.takeError()));
          v -= *rlp;
        }
        pair += side == 0 ? v : -v;
      }
      sum += pair;
      ++count;
    }
    result = count ? sum / double(count) : NAN;
  } else {
    return error(op, "not implemented yet: metric '" + name.str() + "'");
  }
  values[metric.getValue()] = result;
  return llvm::Error::success();
}
