//===- TermData.cpp - What each objective term is fed ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TermData.h"

#include "Interpreter.h"

#include "ftl/Dialect/FTL/IR/FTLOps.h"

#include "llvm/ADT/STLExtras.h"

#include <map>

using namespace ftl::rt;
namespace fd = mlir::ftl;

void(::ftl::rt::fillBatch)(llvm::ArrayRef<PackedRow> rows, int64_t seq,
                           bool sampleMeans, TermBatch &out) {
  int64_t n = int64_t(rows.size()) * seq;
  out.ids.assign(n, 0);
  out.targets.assign(n, -1);
  out.positions.assign(n, 0);
  out.segments.assign(n, -1);
  out.weights.assign(n, 0.0f);
  out.virtualMask.assign(n, 0.0f);
  out.slots.assign(n, 0);
  out.totalWeight = 0;
  out.supervised = 0;
  out.samples = 0;
  out.tokens = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const PackedRow &row = rows[r];
    std::map<int32_t, double> docWeight; // per segment of this row
    for (int64_t i = 0; i < seq && i < int64_t(row.ids.size()); ++i) {
      int64_t at = int64_t(r) * seq + i;
      // Padding reads token 0: the pad id may lie outside a model's
      // vocabulary, and padding never reaches a loss or a document.
      out.ids[at] = row.segmentIds[i] >= 0 ? row.ids[i] : 0;
      if (int32_t slot = virtualSlotOf(row.ids[i]);
          slot >= 0 && row.segmentIds[i] >= 0) {
        out.ids[at] = 0; // the step function replaces the slot's values
        out.virtualMask[at] = 1;
        out.slots[at] = slot;
      }
      out.positions[at] = row.positions[i];
      out.segments[at] = row.segmentIds[i];
      if (row.segmentIds[i] >= 0)
        ++out.tokens;
      if (i + 1 < int64_t(row.ids.size()) && row.segmentIds[i] >= 0 &&
          row.segmentIds[i + 1] == row.segmentIds[i] &&
          virtualSlotOf(row.ids[i + 1]) < 0) {
        out.targets[at] = row.ids[i + 1];
        out.weights[at] = row.weights[i + 1];
        docWeight[row.segmentIds[i]] += row.weights[i + 1];
      }
    }
    for (auto &[segment, w] : docWeight)
      if (w > 0)
        ++out.samples;
    for (int64_t i = 0; i < seq && i < int64_t(row.ids.size()); ++i) {
      int64_t at = int64_t(r) * seq + i;
      if (sampleMeans && out.targets[at] >= 0) {
        double w = docWeight[out.segments[at]];
        out.weights[at] = w > 0 ? float(out.weights[at] / w) : 0.0f;
      }
      if (out.targets[at] >= 0) {
        out.totalWeight += out.weights[at];
        out.supervised += out.weights[at] > 0;
      }
    }
  }
}

void(::ftl::rt::fillBatch)(const Batch &batch, int64_t seq, TermBatch &out) {
  int64_t n = batch.rows * seq;
  out.ids.assign(n, 0);
  out.targets.assign(n, -1);
  out.positions.assign(n, 0);
  out.segments.assign(n, -1);
  out.weights.assign(n, 0.0f);
  out.virtualMask.assign(n, 0.0f);
  out.slots.assign(n, 0);
  out.rowExamples.assign(batch.rows, 0);
  out.rowRejected.assign(batch.rows, false);
  out.totalWeight = 0;
  out.supervised = 0;
  out.samples = 0;
  out.tokens = 0;
  // The step function wants every chosen row first, then the rejected rows
  // in the same pair order; the batcher interleaves a pair's two rows.
  std::vector<int64_t> order;
  for (bool rejected : {false, true})
    for (int64_t r = 0; r < batch.rows; ++r)
      if ((batch.parts[r] == TokenizedExample::Part::Rejected) == rejected)
        order.push_back(r);
  for (int64_t to = 0; to < batch.rows; ++to) {
    int64_t r = order[to];
    out.rowExamples[to] = batch.exampleIndices[r];
    out.rowRejected[to] = batch.parts[r] == TokenizedExample::Part::Rejected;
    int64_t len = std::min<int64_t>(batch.seqLen, seq);
    bool supervised = false;
    for (int64_t i = 0; i < len; ++i) {
      int64_t from = r * batch.seqLen + i, at = to * seq + i;
      out.ids[at] = batch.segmentIds[from] >= 0 ? batch.ids[from] : 0;
      out.positions[at] = batch.positions[from];
      out.segments[at] = batch.segmentIds[from];
      if (batch.segmentIds[from] >= 0)
        ++out.tokens;
      if (i + 1 < len && batch.segmentIds[from] >= 0 &&
          batch.segmentIds[from + 1] == batch.segmentIds[from]) {
        out.targets[at] = batch.ids[from + 1];
        out.weights[at] = batch.weights[from + 1];
        out.totalWeight += out.weights[at];
        out.supervised += out.weights[at] > 0;
        supervised |= out.weights[at] > 0;
      }
    }
    out.samples += supervised;
  }
}

int64_t(::ftl::rt::maskInputs)(TermBatch &batch, const InputMask &mask,
                               Rng &rng) {
  int64_t replaced = 0;
  if (mask.rate <= 0)
    return 0;
  for (size_t i = 1; i < batch.ids.size(); ++i) {
    // Input i follows input i - 1 in the same document.
    if (batch.segments[i] < 0 || batch.segments[i] != batch.segments[i - 1])
      continue;
    bool supervised = batch.targets[i - 1] >= 0 && batch.weights[i - 1] > 0;
    bool inSpan = mask.span == "all" ||
                  (mask.span == "prompt" ? !supervised : supervised);
    if (!inSpan)
      continue;
    if (rng.uniformDouble() < mask.rate) {
      batch.ids[i] = mask.maskId;
      ++replaced;
    }
  }
  return replaced;
}

void TermFeeder::corrupt(TermBatch &batch) {
  if (inputMask)
    maskInputs(batch, *inputMask, maskRng);
}

llvm::Expected<TokenizeOptions>(::ftl::rt::tokenizeOptionsFor)(
    mlir::Operation *op, const Dataset &data, Interpreter &interp,
    const Tokenizer &tok) {
  auto loss = llvm::cast<fd::LossOp>(op);
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
  if (auto a = loss->getAttrOfType<mlir::StringAttr>("on"))
    on = a.getValue().str();
  llvm::StringRef kind = loss.getName();
  for (auto [name, input] :
       llvm::zip(loss.getOperandNames(), loss.getInputs())) {
    llvm::StringRef operand = llvm::cast<mlir::StringAttr>(name).getValue();
    if (operand != "weights")
      continue;
    auto make = input.getDefiningOp<fd::MakeOp>();
    if (!make)
      return llvm::createStringError("internal: token weights of '" +
                                     kind.str() + "' are not a builtin");
    TokenWeighting &w = options.weighting;
    auto number = [&](llvm::StringRef attr, double fallback) {
      if (auto a = make->getAttrOfType<mlir::FloatAttr>(attr))
        return a.getValueAsDouble();
      if (auto a = make->getAttrOfType<mlir::IntegerAttr>(attr))
        return double(a.getInt());
      return fallback;
    };
    auto field = [&](llvm::StringRef attr) {
      auto a = make->getAttrOfType<mlir::StringAttr>(attr);
      return a ? a.getValue().str() : std::string();
    };
    if (make.getName() == "key_tokens") {
      w.kind = TokenWeighting::Kind::KeyTokens;
      w.field = field("of");
      w.weight = number("weight", 2);
    } else if (make.getName() == "diff_weights") {
      w.kind = TokenWeighting::Kind::Diff;
      w.field = field("against");
      w.lines = number("lines", 1);
      w.tokens = number("tokens", 1);
    } else {
      return llvm::createStringError("not implemented yet: token weighting '" +
                                     make.getName().str() + "'");
    }
    if (w.field.empty())
      return llvm::createStringError("internal: token weights without a field");
  }
  if (kind == "dpo") {
    if (!has("prompt") || !has("chosen") || !has("rejected"))
      return llvm::createStringError(
          "'dpo' needs records with prompt, chosen and rejected fields");
    options.mode = TokenizeOptions::Mode::Preference;
    return options;
  }
  if (kind == "lm") {
    options.mode = TokenizeOptions::Mode::Text;
    options.loss = TokenizeOptions::Loss::All;
    return options;
  }
  if (options.weighting.kind != TokenWeighting::Kind::None &&
      !(has("prompt") && has("response")))
    return llvm::createStringError(
        "token weights in '" + kind.str() +
        "' read the response: they need records with prompt and response "
        "fields");
  // `on:` picks the supervised tokens; each value names what it needs.
  if (has("messages") && on != "response") {
    options.mode = TokenizeOptions::Mode::Messages;
    // Every assistant turn is an answer (ManyICL's all-answer spans).
    if (on == "all")
      options.lossRoles = {"system", "user", "assistant", "tool"};
    return options;
  }
  if (has("prompt") && has("response") && on != "assistant" &&
      on != "answers") {
    options.mode = TokenizeOptions::Mode::PromptResponse;
    options.loss = on == "all" ? TokenizeOptions::Loss::All
                               : TokenizeOptions::Loss::Response;
    return options;
  }
  if (on == "assistant" || on == "answers")
    return llvm::createStringError(
        "'" + kind.str() + "(on: " + on +
        ")' needs records with messages (each assistant turn is supervised)");
  if (on == "response")
    return llvm::createStringError("'" + kind.str() +
                                   "(on: response)' needs records with "
                                   "prompt and response fields");
  if (has("text")) {
    options.mode = TokenizeOptions::Mode::Text;
    options.loss = TokenizeOptions::Loss::All;
    return options;
  }
  return llvm::createStringError(
      "'" + kind.str() +
      "' needs records with text, prompt and response, or messages");
}

TermFeeder::TermFeeder(Interpreter &interp, DatasetRef data,
                       const Tokenizer &tokenizer, TokenizeOptions tokenize,
                       int64_t seqLen, int64_t pairsPerBatch)
    : interp(interp), data(std::move(data)), tokenizer(tokenizer),
      tokenize(std::move(tokenize)), seqLen(seqLen),
      pairsPerBatch(pairsPerBatch) {}

TermFeeder::TermFeeder(const TermFeeder &other)
    : interp(other.interp), data(other.data), tokenizer(other.tokenizer),
      tokenize(other.tokenize), seqLen(other.seqLen),
      pairsPerBatch(other.pairsPerBatch) {
  virtualTokens = other.virtualTokens;
}

TermFeeder::~TermFeeder() = default;

llvm::Error TermFeeder::restart() {
  DataContext ctx = interp.dataContext(&tokenizer);
  auto examples = tokenizeDataset(data, tokenizer, tokenize, ctx);
  if (!examples)
    return examples.takeError();
  if (isPairs()) {
    auto all = readAll(**examples);
    if (!all)
      return all.takeError();
    pairs = std::move(*all);
    pairsLoaded = true;
    return llvm::Error::success();
  }
  PackOptions pack;
  pack.seqLen = seqLen;
  pack.virtualTokens = virtualTokens;
  auto packed =
      packExamples(std::move(*examples), pack, &tokenizer, &interp.getStats());
  if (!packed)
    return packed.takeError();
  rows = std::move(*packed);
  return llvm::Error::success();
}

/// Reads the next unit from `stream`, starting a new epoch at its end.
template <typename Unit, typename Stream>
static llvm::Expected<Unit> nextUnit(std::unique_ptr<Stream> &stream,
                                     llvm::function_ref<llvm::Error()> restart,
                                     int64_t &units, int64_t &epoch,
                                     llvm::StringRef what) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!stream)
      if (llvm::Error e = restart())
        return std::move(e);
    Unit unit;
    auto more = stream->next(unit);
    if (!more)
      return more.takeError();
    if (*more) {
      ++units;
      return unit;
    }
    if (units == 0)
      return llvm::createStringError(what);
    ++epoch;
    units = 0;
    stream.reset();
  }
  return llvm::createStringError(what);
}

llvm::Expected<PackedRow> TermFeeder::next() {
  return nextUnit<PackedRow>(
      rows, [&] { return restart(); }, unitsThisEpoch, epoch,
      "the training data has no usable records (after filtering, tokenizing "
      "and dropping examples without supervised tokens)");
}

llvm::Expected<Batch> TermFeeder::nextPairs() {
  if (!pairsLoaded)
    if (llvm::Error e = restart())
      return std::move(e);
  if (pairs.size() < 2)
    return llvm::createStringError(
        "the preference data has no usable pairs (after tokenizing)");
  size_t count = pairs.size() / 2;
  std::vector<TokenizedExample> chosen;
  for (int64_t p = 0; p < pairsPerBatch; ++p) {
    if (nextPair == count) {
      nextPair = 0;
      ++epoch;
    }
    chosen.push_back(pairs[2 * nextPair]);
    chosen.push_back(pairs[2 * nextPair + 1]);
    ++nextPair;
  }
  BatchOptions options;
  options.batchSize = pairsPerBatch;
  options.seqLen = seqLen;
  options.pad = BatchOptions::Pad::SeqLen;
  auto made = batchExamples(examplesStream(std::move(chosen)), options,
                            &tokenizer, &interp.getStats());
  if (!made)
    return made.takeError();
  Batch batch;
  auto got = (*made)->next(batch);
  if (!got)
    return got.takeError();
  if (!*got)
    return llvm::createStringError("internal: no batch of pairs was made");
  return batch;
}
