//===- Tokenize.cpp - Records to tokenized examples -----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "WorkerPool.h"

#include "ftl/Data/Tokenize.h"
#include "ftl/Tokenizers/Chat.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <deque>
#include <thread>

using namespace ftl::rt;
using namespace ftl::rt::detail;

ExampleStream::~ExampleStream() = default;

static llvm::StringRef modeName(TokenizeOptions::Mode m) {
  switch (m) {
  case TokenizeOptions::Mode::Text:
    return "text";
  case TokenizeOptions::Mode::PromptResponse:
    return "prompt_response";
  case TokenizeOptions::Mode::Messages:
    return "messages";
  case TokenizeOptions::Mode::Preference:
    return "preference";
  }
  return "?";
}

static llvm::StringRef specialName(TokenizeOptions::Special s) {
  switch (s) {
  case TokenizeOptions::Special::Auto:
    return "auto";
  case TokenizeOptions::Special::Yes:
    return "yes";
  case TokenizeOptions::Special::No:
    return "no";
  }
  return "?";
}

std::string TokenizeOptions::describe() const {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "tokenize(" << modeName(mode);
  switch (mode) {
  case Mode::Text:
    os << ", text: " << textField << ", ids: " << idsField;
    break;
  case Mode::PromptResponse:
    os << ", prompt: " << promptField << ", response: " << responseField;
    break;
  case Mode::Messages:
    os << ", messages: " << messagesField << ", chat: " << chatFormat
       << ", loss_roles: [";
    for (size_t i = 0; i < lossRoles.size(); ++i)
      os << (i ? ", " : "") << lossRoles[i];
    os << "]";
    break;
  case Mode::Preference:
    os << ", prompt: " << promptField << ", chosen: " << chosenField
       << ", rejected: " << rejectedField;
    break;
  }
  if (mode == Mode::PromptResponse || mode == Mode::Preference)
    os << ", loss: " << (loss == Loss::Response ? "response" : "all");
  os << ", bos: " << specialName(bos) << ", eos: " << specialName(eos);
  if (maxLength > 0) {
    os << ", max_length: " << maxLength << ", truncation: "
       << (truncation == Truncation::Right        ? "right"
           : truncation == Truncation::PromptLeft ? "prompt_left"
                                                  : "drop");
  }
  if (keepNoLoss)
    os << ", keep_no_loss";
  if (weighting.kind != TokenWeighting::Kind::None)
    os << ", weights: " << weighting.describe();
  os << ")";
  return out;
}

namespace {

/// Special tokens decided once per stream.
struct SpecialPlan {
  std::vector<int32_t> prefix;
  std::optional<int32_t> eos;
};

llvm::Expected<SpecialPlan> planSpecials(const Tokenizer &tok,
                                         const TokenizeOptions &opts) {
  SpecialPlan plan;
  bool messages = opts.mode == TokenizeOptions::Mode::Messages;
  switch (opts.bos) {
  case TokenizeOptions::Special::No:
    break;
  case TokenizeOptions::Special::Yes:
    if (!tok.bosId())
      return makeError("tokenize: bos: yes, but the '" + tok.kind() +
                       "' tokenizer has no BOS token (use bos: auto or no)");
    plan.prefix.push_back(*tok.bosId());
    break;
  case TokenizeOptions::Special::Auto:
    if (!messages) {
      // What the tokenizer's own post-processor puts in front.
      std::vector<int32_t> plain = tok.encode("a", false);
      std::vector<int32_t> special = tok.encode("a", true);
      auto it = std::search(special.begin(), special.end(), plain.begin(),
                            plain.end());
      if (!plain.empty() && it != special.end())
        plan.prefix.assign(special.begin(), it);
    }
    break;
  }
  switch (opts.eos) {
  case TokenizeOptions::Special::No:
    break;
  case TokenizeOptions::Special::Yes:
    if (!tok.eosId())
      return makeError("tokenize: eos: yes, but the '" + tok.kind() +
                       "' tokenizer has no EOS token (use eos: auto or no)");
    plan.eos = tok.eosId();
    break;
  case TokenizeOptions::Special::Auto:
    if (!messages)
      plan.eos = tok.eosId();
    break;
  }
  return plan;
}

/// A sequence under construction: prefix | prompt | response | suffix.
struct Parts {
  std::vector<int32_t> ids;
  std::vector<float> weights;
  size_t promptBegin = 0, promptEnd = 0; // the droppable prompt range
};

void append(Parts &p, llvm::ArrayRef<int32_t> ids, float w) {
  p.ids.insert(p.ids.end(), ids.begin(), ids.end());
  p.weights.insert(p.weights.end(), ids.size(), w);
}

/// Removes `k` tokens at the prompt's start.
void dropPrompt(Parts &p, size_t k) {
  k = std::min(k, p.promptEnd - p.promptBegin);
  p.ids.erase(p.ids.begin() + p.promptBegin, p.ids.begin() + p.promptBegin + k);
  p.weights.erase(p.weights.begin() + p.promptBegin,
                  p.weights.begin() + p.promptBegin + k);
  p.promptEnd -= k;
}

struct Tokenization {
  const Tokenizer &tok;
  const TokenizeOptions &opts;
  const SpecialPlan &plan;
  ChatFormat chat;

  llvm::Error checkIds(const Record &r, llvm::ArrayRef<int32_t> ids) const {
    int32_t vocab = tok.vocabSize();
    for (int32_t id : ids)
      if (id < 0 || id >= vocab)
        return recordError(r, "token id " + llvm::Twine(id) +
                                  " is outside the vocabulary (size " +
                                  llvm::Twine(vocab) + ")");
    return llvm::Error::success();
  }

  llvm::Error idsFromField(const Record &r, const Value &v,
                           std::vector<int32_t> &ids) const {
    for (const Value &item : v.getList()) {
      if (!item.isInt() || item.getInt() < INT32_MIN ||
          item.getInt() > INT32_MAX)
        return recordError(r, "field '" + opts.idsField +
                                  "' must be a list of integer token ids, "
                                  "found a " +
                                  item.kindName() + " in it");
      ids.push_back(static_cast<int32_t>(item.getInt()));
    }
    return checkIds(r, ids);
  }

  llvm::Error messagesOf(const Record &r, std::vector<ChatMessage> &out) const {
    auto v = r.require(opts.messagesField);
    if (!v)
      return v.takeError();
    if (!(*v)->isList())
      return recordError(r, "field '" + opts.messagesField + "' is a " +
                                (*v)->kindName() +
                                ", expected a list of {role, content}");
    size_t i = 0;
    for (const Value &m : (*v)->getList()) {
      const Value *role = m.find("role");
      const Value *content = m.find("content");
      if (!m.isObject() || !role || !role->isString() || !content ||
          !content->isString())
        return recordError(r, "message " + llvm::Twine(i) + " of field '" +
                                  opts.messagesField +
                                  "' must be an object with string 'role' "
                                  "and 'content', found " +
                                  m.toJson());
      out.push_back(
          ChatMessage{role->getString().str(), content->getString().str()});
      ++i;
    }
    if (out.empty())
      return recordError(r, "field '" + opts.messagesField +
                                "' is an empty list, expected messages");
    return llvm::Error::success();
  }

  /// Applies maxLength to one sequence by cutting its end (PromptLeft cut
  /// the prompt before). Returns false when the example is dropped.
  bool fit(Parts &p, bool &truncated) const {
    if (opts.maxLength <= 0 || p.ids.size() <= size_t(opts.maxLength))
      return true;
    if (opts.truncation == TokenizeOptions::Truncation::Drop)
      return false;
    truncated = true;
    p.ids.resize(opts.maxLength);
    p.weights.resize(opts.maxLength);
    return true;
  }

  bool hasLoss(const std::vector<float> &w) const {
    return std::any_of(w.begin(), w.end(), [](float x) { return x != 0; });
  }

  llvm::Error run(const Record &r, int64_t index,
                  std::vector<TokenizedExample> &out,
                  TokenizeNotes &notes) const {
    using Mode = TokenizeOptions::Mode;
    bool responseOnly = opts.loss == TokenizeOptions::Loss::Response;
    std::vector<Parts> seqs;
    std::vector<TokenizedExample::Part> kinds;
    size_t promptCut = 0;

    switch (opts.mode) {
    case Mode::Text: {
      Parts p;
      const Value *ids = r.get(opts.idsField);
      if (ids && ids->isList()) {
        std::vector<int32_t> v;
        if (llvm::Error e = idsFromField(r, *ids, v))
          return e;
        append(p, v, 1);
      } else {
        auto text = r.requireString(opts.textField);
        if (!text)
          return text.takeError();
        append(p, plan.prefix, 1);
        append(p, tok.encode(*text, false), 1);
        if (plan.eos)
          append(p, *plan.eos, 1);
      }
      seqs.push_back(std::move(p));
      kinds.push_back(TokenizedExample::Part::Single);
      break;
    }
    case Mode::PromptResponse:
    case Mode::Preference: {
      auto prompt = r.requireString(opts.promptField);
      if (!prompt)
        return prompt.takeError();
      std::vector<int32_t> promptIds = tok.encode(*prompt, false);
      std::vector<llvm::StringRef> responses;
      if (opts.mode == Mode::PromptResponse) {
        auto resp = r.requireString(opts.responseField);
        if (!resp)
          return resp.takeError();
        responses.push_back(*resp);
        kinds.push_back(TokenizedExample::Part::Single);
      } else {
        auto chosen = r.requireString(opts.chosenField);
        if (!chosen)
          return chosen.takeError();
        auto rejected = r.requireString(opts.rejectedField);
        if (!rejected)
          return rejected.takeError();
        responses.push_back(*chosen);
        responses.push_back(*rejected);
        kinds.push_back(TokenizedExample::Part::Chosen);
        kinds.push_back(TokenizedExample::Part::Rejected);
      }
      float promptW = responseOnly ? 0 : 1;
      size_t longest = 0;
      for (llvm::StringRef resp : responses) {
        Parts p;
        append(p, plan.prefix, promptW);
        p.promptBegin = p.ids.size();
        append(p, promptIds, promptW);
        p.promptEnd = p.ids.size();
        std::vector<int32_t> respIds = tok.encode(resp, false);
        if (opts.weighting.kind == TokenWeighting::Kind::None) {
          append(p, respIds, 1);
        } else {
          auto w = responseTokenWeights(opts.weighting, tok, r, resp, respIds);
          if (!w)
            return w.takeError();
          p.ids.insert(p.ids.end(), respIds.begin(), respIds.end());
          p.weights.insert(p.weights.end(), w->begin(), w->end());
        }
        if (plan.eos)
          append(p, *plan.eos, 1);
        longest = std::max(longest, p.ids.size());
        seqs.push_back(std::move(p));
      }
      // PromptLeft cuts the same prompt tokens from both halves of a pair.
      if (opts.maxLength > 0 && longest > size_t(opts.maxLength))
        promptCut = longest - opts.maxLength;
      break;
    }
    case Mode::Messages: {
      std::vector<ChatMessage> msgs;
      if (llvm::Error e = messagesOf(r, msgs))
        return e;
      auto enc = formatChat(tok, msgs, chat, /*addGenerationPrompt=*/false);
      if (!enc)
        return recordError(r, llvm::toString(enc.takeError()));
      std::vector<float> w(enc->ids.size(), 0.0f);
      for (const std::string &role : opts.lossRoles) {
        std::vector<uint8_t> mask = chatLossMask(*enc, role);
        for (size_t i = 0; i < w.size() && i < mask.size(); ++i)
          if (mask[i])
            w[i] = 1;
      }
      Parts p;
      append(p, plan.prefix, 0);
      p.ids.insert(p.ids.end(), enc->ids.begin(), enc->ids.end());
      p.weights.insert(p.weights.end(), w.begin(), w.end());
      if (plan.eos)
        append(p, *plan.eos, p.weights.empty() ? 0 : p.weights.back());
      seqs.push_back(std::move(p));
      kinds.push_back(TokenizedExample::Part::Single);
      break;
    }
    }

    // Fit every sequence; a pair is dropped together and loses the same
    // prompt tokens.
    bool truncated = false;
    if (promptCut > 0 &&
        opts.truncation == TokenizeOptions::Truncation::PromptLeft) {
      for (Parts &p : seqs)
        dropPrompt(p, promptCut);
      truncated = true;
    }
    for (Parts &p : seqs) {
      if (!fit(p, truncated)) {
        notes.droppedTooLong = true;
        return llvm::Error::success();
      }
      if (!p.weights.empty())
        p.weights[0] = 0;
    }
    if (!opts.keepNoLoss)
      for (Parts &p : seqs)
        if (!hasLoss(p.weights)) {
          notes.droppedNoLoss = true;
          return llvm::Error::success();
        }
    notes.truncated = truncated;
    for (size_t k = 0; k < seqs.size(); ++k) {
      TokenizedExample ex;
      ex.promptLength =
          static_cast<int32_t>(std::min(seqs[k].promptEnd, seqs[k].ids.size()));
      if (opts.mode == Mode::Text || opts.mode == Mode::Messages)
        ex.promptLength = 0;
      ex.ids = std::move(seqs[k].ids);
      ex.weights = std::move(seqs[k].weights);
      ex.exampleIndex = index;
      ex.part = kinds[k];
      ex.truncated = truncated;
      ex.provenance = r.provenance();
      out.push_back(std::move(ex));
    }
    return llvm::Error::success();
  }
};

/// Validates the options; gives the chat format (ChatML when unused).
llvm::Expected<ChatFormat> checkOptions(const TokenizeOptions &opts) {
  if (opts.maxLength < 0)
    return makeError("tokenize: max_length must be >= 0, found " +
                     llvm::Twine(opts.maxLength));
  if (opts.weighting.kind != TokenWeighting::Kind::None &&
      opts.mode != TokenizeOptions::Mode::PromptResponse)
    return makeError("tokenize: token weights need prompt/response records");
  if (opts.mode != TokenizeOptions::Mode::Messages)
    return ChatFormat::ChatML;
  auto f = parseChatFormat(opts.chatFormat);
  if (!f)
    return makeError("tokenize: " + llvm::toString(f.takeError()));
  return *f;
}

} // namespace

llvm::Error ftl::rt::tokenizeRecord(const Record &record,
                                    const Tokenizer &tokenizer,
                                    const TokenizeOptions &options,
                                    int64_t exampleIndex,
                                    std::vector<TokenizedExample> &out,
                                    TokenizeNotes *notes) {
  auto chat = checkOptions(options);
  if (!chat)
    return chat.takeError();
  auto plan = planSpecials(tokenizer, options);
  if (!plan)
    return plan.takeError();
  TokenizeNotes local;
  Tokenization t{tokenizer, options, *plan, *chat};
  llvm::Error e = t.run(record, exampleIndex, out, local);
  if (notes)
    *notes = local;
  return e;
}

namespace {

class TokenizeStream : public ExampleStream {
public:
  TokenizeStream(DatasetRef data, std::unique_ptr<RecordStream> in,
                 const Tokenizer &tok, const TokenizeOptions &opts,
                 SpecialPlan plan, ChatFormat chat, const DataContext &ctx)
      : data(std::move(data)), in(std::move(in)), opts(opts),
        plan(std::move(plan)), t{tok, this->opts, this->plan, chat}, ctx(ctx),
        pool(opts.threads ? opts.threads
                          : std::max(1u, std::thread::hardware_concurrency())) {
  }

  llvm::Expected<bool> next(TokenizedExample &out) override {
    while (ready.empty()) {
      if (pendingError) {
        llvm::Error e = std::move(pendingError);
        pendingError = llvm::Error::success();
        finished = true;
        return std::move(e);
      }
      if (finished)
        return false;
      if (llvm::Error e = fill())
        return std::move(e);
    }
    out = std::move(ready.front());
    ready.pop_front();
    return true;
  }

private:
  struct Result {
    std::vector<TokenizedExample> examples;
    TokenizeNotes notes;
    std::string error;
  };

  llvm::Error fill() {
    size_t want = 64 * pool.threads();
    batch.clear();
    while (batch.size() < want) {
      Record r;
      auto more = in->next(r);
      if (!more) {
        // Examples of the records read so far come first, then the error.
        pendingError = more.takeError();
        break;
      }
      if (!*more) {
        inputDone = true;
        break;
      }
      batch.push_back(std::move(r));
    }
    results.assign(batch.size(), Result());
    int64_t base = consumed;
    pool.parallelFor(batch.size(), [&](size_t i) {
      llvm::Error e =
          t.run(batch[i], base + i, results[i].examples, results[i].notes);
      if (e)
        results[i].error = llvm::toString(std::move(e));
    });
    consumed += batch.size();
    for (Result &res : results) {
      if (!res.error.empty()) {
        if (pendingError)
          llvm::consumeError(std::move(pendingError));
        pendingError = makeError(res.error);
        finished = true;
        break;
      }
      if (res.notes.truncated)
        ctx.count("tokenize: truncated");
      if (res.notes.droppedTooLong)
        ctx.count("tokenize: dropped (too long)");
      if (res.notes.droppedNoLoss)
        ctx.count("tokenize: dropped (no loss tokens)");
      if (!res.examples.empty())
        ctx.count("tokenize: examples");
      for (TokenizedExample &ex : res.examples)
        ready.push_back(std::move(ex));
    }
    if (inputDone || pendingError)
      finished = true;
    return llvm::Error::success();
  }

  DatasetRef data;
  std::unique_ptr<RecordStream> in;
  TokenizeOptions opts;
  SpecialPlan plan;
  Tokenization t;
  DataContext ctx;
  WorkerPool pool;
  std::vector<Record> batch;
  std::vector<Result> results;
  std::deque<TokenizedExample> ready;
  llvm::Error pendingError = llvm::Error::success();
  int64_t consumed = 0;
  bool inputDone = false, finished = false;
};

class VectorExampleStream : public ExampleStream {
public:
  explicit VectorExampleStream(std::vector<TokenizedExample> v)
      : v(std::move(v)) {}
  llvm::Expected<bool> next(TokenizedExample &out) override {
    if (pos >= v.size())
      return false;
    out = std::move(v[pos++]);
    return true;
  }

private:
  std::vector<TokenizedExample> v;
  size_t pos = 0;
};

} // namespace

llvm::Expected<std::unique_ptr<ExampleStream>>
ftl::rt::tokenizeDataset(DatasetRef data, const Tokenizer &tokenizer,
                         const TokenizeOptions &options,
                         const DataContext &ctx) {
  auto chat = checkOptions(options);
  if (!chat)
    return chat.takeError();
  auto plan = planSpecials(tokenizer, options);
  if (!plan)
    return plan.takeError();
  DataContext inner = ctx;
  if (!inner.tokenizer)
    inner.tokenizer = &tokenizer;
  auto in = data->open(inner);
  if (!in)
    return in.takeError();
  return std::make_unique<TokenizeStream>(std::move(data), std::move(*in),
                                          tokenizer, options, std::move(*plan),
                                          *chat, inner);
}

std::unique_ptr<ExampleStream>
ftl::rt::examplesStream(std::vector<TokenizedExample> examples) {
  return std::make_unique<VectorExampleStream>(std::move(examples));
}

llvm::Expected<std::vector<TokenizedExample>>
ftl::rt::readAll(ExampleStream &stream) {
  std::vector<TokenizedExample> out;
  while (true) {
    TokenizedExample ex;
    auto more = stream.next(ex);
    if (!more)
      return more.takeError();
    if (!*more)
      return out;
    out.push_back(std::move(ex));
  }
}
