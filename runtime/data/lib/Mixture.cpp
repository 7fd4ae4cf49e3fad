//===- Mixture.cpp - chunk and mixture ------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "ftl/Data/Tokenize.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <deque>
#include <numeric>

using namespace ftl::rt;
using namespace ftl::rt::detail;

//===----------------------------------------------------------------------===//
// chunk
//===----------------------------------------------------------------------===//

namespace {

class ChunkStream : public RecordStream {
public:
  ChunkStream(DatasetRef keep, std::unique_ptr<RecordStream> in,
              const Tokenizer &tok, ChunkOptions opts)
      : keep(std::move(keep)), in(std::move(in)), tok(tok),
        opts(std::move(opts)), chain("chunk") {}

  llvm::Expected<bool> next(Record &out) override {
    size_t n = opts.tokens;
    while (true) {
      size_t avail = pending.size() - head;
      if (avail >= n) {
        emit(n, out);
        return true;
      }
      if (inputDone || (!opts.acrossRecords && avail > 0)) {
        if (avail > 0 && !opts.dropRemainder) {
          emit(avail, out);
          return true;
        }
        clear();
        if (inputDone)
          return false;
      }
      Record r;
      auto more = in->next(r);
      if (!more)
        return more.takeError();
      if (!*more) {
        inputDone = true;
        continue;
      }
      auto text = r.requireString(opts.field);
      if (!text)
        return text.takeError();
      std::vector<int32_t> ids = tok.encode(*text, false);
      // The EOS between records ends the previous record.
      if (opts.acrossRecords && opts.eosBetween && seenRecord && tok.eosId())
        push(*tok.eosId(), lastProv);
      seenRecord = true;
      for (int32_t id : ids)
        push(id, r.provenance());
      lastProv = r.provenance();
    }
  }

private:
  void push(int32_t id, const Provenance &p) {
    if (starts.empty() || !sameRecord(starts.back().second, p))
      starts.emplace_back(base + pending.size(), p);
    pending.push_back(id);
  }
  static bool sameRecord(const Provenance &a, const Provenance &b) {
    return a.source == b.source && a.index == b.index && a.line == b.line;
  }

  void clear() {
    base += pending.size();
    pending.clear();
    head = 0;
    starts.clear();
  }

  void emit(size_t n, Record &out) {
    uint64_t begin = base + head;
    while (starts.size() > 1 && starts[1].first <= begin)
      starts.pop_front();
    Provenance prov = starts.front().second;
    std::vector<int32_t> ids(pending.begin() + head,
                             pending.begin() + head + n);
    head += n;
    if (head > (1u << 16) && head * 2 > pending.size()) {
      pending.erase(pending.begin(), pending.begin() + head);
      base += head;
      head = 0;
    }
    std::vector<Value> list;
    list.reserve(ids.size());
    for (int32_t id : ids)
      list.emplace_back(static_cast<int64_t>(id));
    std::vector<Member> fields;
    fields.push_back(Member{"text", Value(tok.decode(ids, false))});
    fields.push_back(Member{"input_ids", Value::list(std::move(list))});
    out = Record(std::move(fields));
    prov.index = produced++;
    out.provenance() = prov;
    chain.apply(out);
  }

  DatasetRef keep;
  std::unique_ptr<RecordStream> in;
  const Tokenizer &tok;
  ChunkOptions opts;
  ChainCache chain;
  std::vector<int32_t> pending;
  size_t head = 0;
  uint64_t base = 0; // global offset of pending[0]
  std::deque<std::pair<uint64_t, Provenance>> starts;
  Provenance lastProv;
  int64_t produced = 0;
  bool inputDone = false, seenRecord = false;
};

class ChunkDataset : public Dataset {
public:
  ChunkDataset(DatasetRef in, ChunkOptions opts)
      : in(std::move(in)), opts(std::move(opts)) {}

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override {
    if (!ctx.tokenizer)
      return makeError("chunk(" + llvm::Twine(opts.tokens) +
                       ") needs the pipeline's tokenizer, but none was given");
    auto src = in->open(ctx);
    if (!src)
      return src.takeError();
    return std::make_unique<ChunkStream>(shared_from_this(), std::move(*src),
                                         *ctx.tokenizer, opts);
  }
  std::optional<std::vector<std::string>> schema() const override {
    return std::vector<std::string>{"text", "input_ids"};
  }
  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> chunk(" << opts.tokens << ", field: " << opts.field
       << (opts.acrossRecords ? ", across" : ", per_record")
       << (opts.eosBetween ? ", eos_between" : "")
       << (opts.dropRemainder ? ", drop_remainder" : "") << ")";
  }
  void sourceFiles(std::vector<std::string> &out) const override {
    in->sourceFiles(out);
  }

private:
  DatasetRef in;
  ChunkOptions opts;
};

} // namespace

llvm::Expected<DatasetRef> ftl::rt::chunkDataset(DatasetRef in,
                                                 ChunkOptions options) {
  if (options.tokens <= 0)
    return makeError("chunk: the chunk size must be a positive number of "
                     "tokens, found " +
                     llvm::Twine(options.tokens));
  if (options.field.empty())
    return makeError("chunk: the field name is empty");
  return std::make_shared<ChunkDataset>(std::move(in), std::move(options));
}

//===----------------------------------------------------------------------===//
// mixture
//===----------------------------------------------------------------------===//

namespace {

using TokenCounter = std::function<llvm::Expected<int64_t>(const Record &)>;

TokenCounter makeCounter(const Tokenizer &tok, const TokenizeOptions &opts) {
  return [&tok, opts](const Record &r) -> llvm::Expected<int64_t> {
    std::vector<TokenizedExample> out;
    if (llvm::Error e = tokenizeRecord(r, tok, opts, 0, out))
      return std::move(e);
    int64_t n = 0;
    for (const TokenizedExample &ex : out)
      n += ex.ids.size();
    return n;
  };
}

struct MixtureSpec {
  std::vector<MixtureComponent> parts;
  MixtureOptions opts;
};

class MixtureStream : public RecordStream {
public:
  struct Comp {
    std::string name;
    double weight;
    std::unique_ptr<RecordStream> stream;
    int64_t taken = 0;
    bool active = true;
    bool hasNext = false;
    Record next;
    uint64_t rank = 0;
    std::unique_ptr<ChainCache> chain;
  };

  MixtureStream(DatasetRef keep, std::vector<Comp> comps,
                const MixtureOptions &opts, TokenCounter counter,
                const DataContext &ctx)
      : keep(std::move(keep)), comps(std::move(comps)), opts(opts),
        counter(std::move(counter)), ctx(ctx) {}

  llvm::Expected<bool> next(Record &out) override {
    while (!done) {
      Comp *best = nullptr;
      for (Comp &c : comps) {
        if (!c.active)
          continue;
        if (!best)
          best = &c;
        else {
          double a = c.taken / c.weight, b = best->taken / best->weight;
          if (a < b || (a == b && c.rank < best->rank))
            best = &c;
        }
      }
      if (!best)
        break;
      Comp &c = *best;
      if (!c.hasNext) {
        auto more = c.stream->next(c.next);
        if (!more)
          return more.takeError();
        if (!*more) {
          c.active = false;
          continue;
        }
        c.hasNext = true;
      }
      int64_t units = 1;
      if (opts.by == MixtureOptions::By::Tokens) {
        auto n = counter(c.next);
        if (!n)
          return n.takeError();
        units = *n;
      }
      if (opts.cap > 0 && c.taken + units > opts.cap) {
        c.active = false;
        ctx.count("mixture: " + c.name + " capped");
        continue;
      }
      if (opts.total > 0 && totalTaken + units > opts.total)
        break;
      c.taken += units;
      totalTaken += units;
      out = std::move(c.next);
      c.hasNext = false;
      c.chain->apply(out);
      ctx.count(
          "mixture: " + c.name +
              (opts.by == MixtureOptions::By::Tokens ? " tokens" : " examples"),
          units);
      return true;
    }
    done = true;
    return false;
  }

private:
  DatasetRef keep;
  std::vector<Comp> comps;
  MixtureOptions opts;
  TokenCounter counter;
  DataContext ctx;
  int64_t totalTaken = 0;
  bool done = false;
};

class MixtureDataset : public Dataset {
public:
  explicit MixtureDataset(std::shared_ptr<const MixtureSpec> spec)
      : spec(std::move(spec)) {}

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override {
    const MixtureOptions &opts = spec->opts;
    TokenCounter counter;
    if (opts.by == MixtureOptions::By::Tokens) {
      if (!ctx.tokenizer)
        return makeError("mixture(by: tokens) needs the pipeline's tokenizer, "
                         "but none was given");
      counter = makeCounter(*ctx.tokenizer, opts.countAs);
    }
    std::vector<double> weights;
    for (const MixtureComponent &p : spec->parts)
      weights.push_back(p.weight);
    if (opts.proportional) {
      // A quiet first pass measures each component.
      DataContext quiet = ctx;
      quiet.stats = nullptr;
      for (size_t i = 0; i < spec->parts.size(); ++i) {
        auto s = spec->parts[i].data->open(quiet);
        if (!s)
          return s.takeError();
        int64_t units = 0;
        Record r;
        while (true) {
          auto more = (*s)->next(r);
          if (!more)
            return more.takeError();
          if (!*more)
            break;
          if (counter) {
            auto n = counter(r);
            if (!n)
              return n.takeError();
            units += *n;
          } else {
            ++units;
          }
        }
        weights[i] = opts.cap > 0 ? std::min(units, opts.cap) : units;
      }
    }
    // A seeded order breaks ties.
    std::vector<uint64_t> rank(spec->parts.size());
    std::iota(rank.begin(), rank.end(), 0);
    Rng r = rng(ctx);
    for (size_t i = rank.size(); i > 1; --i)
      std::swap(rank[i - 1], rank[r.below(i)]);
    std::vector<MixtureStream::Comp> comps;
    for (size_t i = 0; i < spec->parts.size(); ++i) {
      MixtureStream::Comp c;
      c.name = spec->parts[i].name;
      c.weight = weights[i];
      c.active = weights[i] > 0;
      c.rank = rank[i];
      c.chain = std::make_unique<ChainCache>("mixture[" + c.name + "]");
      auto s = spec->parts[i].data->open(ctx);
      if (!s)
        return s.takeError();
      c.stream = std::move(*s);
      comps.push_back(std::move(c));
    }
    return std::make_unique<MixtureStream>(shared_from_this(), std::move(comps),
                                           opts, std::move(counter), ctx);
  }

  std::optional<std::vector<std::string>> schema() const override {
    // Fields all components share.
    std::optional<std::vector<std::string>> common;
    for (const MixtureComponent &p : spec->parts) {
      auto s = p.data->schema();
      if (!s)
        return std::nullopt;
      if (!common) {
        common = *s;
        continue;
      }
      llvm::erase_if(*common, [&](const std::string &f) {
        return !llvm::is_contained(*s, f);
      });
    }
    return common;
  }

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    const MixtureOptions &opts = spec->opts;
    os << "mixture(";
    for (const MixtureComponent &p : spec->parts) {
      os << p.name << ": ";
      if (!opts.proportional)
        os << formatDouble(p.weight) << " ";
      os << "<";
      p.data->describe(os, forKey);
      os << ">, ";
    }
    os << "by: "
       << (opts.by == MixtureOptions::By::Tokens ? "tokens" : "examples");
    if (opts.proportional)
      os << ", proportional";
    if (opts.cap > 0)
      os << ", cap: " << opts.cap;
    if (opts.total > 0)
      os << ", total: " << opts.total;
    if (opts.by == MixtureOptions::By::Tokens)
      os << ", count_as: " << opts.countAs.describe();
    os << ")";
  }

  void sourceFiles(std::vector<std::string> &out) const override {
    for (const MixtureComponent &p : spec->parts)
      p.data->sourceFiles(out);
  }

private:
  std::shared_ptr<const MixtureSpec> spec;
};

} // namespace

llvm::Expected<DatasetRef>
ftl::rt::mixtureDataset(std::vector<MixtureComponent> parts,
                        MixtureOptions options) {
  if (parts.empty())
    return makeError("mixture: expected at least one named dataset, such as "
                     "mixture(code: 0.6, math: 0.4)");
  llvm::StringSet<> names;
  for (const MixtureComponent &p : parts) {
    if (p.name.empty())
      return makeError("mixture: a component has an empty name");
    if (!names.insert(p.name).second)
      return makeError("mixture: component '" + p.name + "' is named twice");
    if (!p.data)
      return makeError("mixture: component '" + p.name + "' has no data");
    if (!options.proportional && !(p.weight > 0 && std::isfinite(p.weight)))
      return makeError("mixture: component '" + p.name + "' has weight " +
                       formatDouble(p.weight) + ", expected a positive number");
  }
  if (options.cap < 0 || options.total < 0)
    return makeError("mixture: cap and total must be >= 0 (0 = no limit)");
  auto spec = std::make_shared<MixtureSpec>();
  spec->parts = std::move(parts);
  spec->opts = std::move(options);
  return std::make_shared<MixtureDataset>(std::move(spec));
}
