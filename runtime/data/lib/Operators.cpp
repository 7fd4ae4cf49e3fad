//===- Operators.cpp - filter, map, template, take/skip, sample, shuffle,
//                     split ---------------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "ftl/Data/Dataset.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace ftl::rt;
using namespace ftl::rt::detail;

//===----------------------------------------------------------------------===//
// filter
//===----------------------------------------------------------------------===//

namespace {

class FilterDataset : public SelectDataset {
public:
  FilterDataset(DatasetRef in, RecordExpr pred)
      : SelectDataset(std::move(in)), pred(std::move(pred)) {}

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> filter(" << pred.str() << ")";
  }

protected:
  class Sel : public Selector {
  public:
    Sel(RecordExpr pred, const Tokenizer *tok)
        : pred(std::move(pred)), tok(tok) {}
    llvm::Expected<Decision> decide(const Record &r, uint64_t) override {
      auto b = pred.test(r, tok);
      if (!b)
        return b.takeError();
      return *b ? Decision::Keep : Decision::Drop;
    }

  private:
    RecordExpr pred;
    const Tokenizer *tok;
  };

  llvm::Expected<std::unique_ptr<Selector>>
  makeSelector(const DataContext &ctx) const override {
    return std::make_unique<Sel>(pred, ctx.tokenizer);
  }
  llvm::StringRef opName() const override { return "filter"; }

private:
  RecordExpr pred;
};

} // namespace

DatasetRef ftl::rt::filterDataset(DatasetRef in, RecordExpr pred) {
  return std::make_shared<FilterDataset>(std::move(in), std::move(pred));
}

//===----------------------------------------------------------------------===//
// map
//===----------------------------------------------------------------------===//

namespace {

class MapDataset : public RewriteDataset {
public:
  MapDataset(DatasetRef in,
             std::vector<std::pair<std::string, RecordExpr>> assign)
      : RewriteDataset(std::move(in)), assign(std::move(assign)) {}

  llvm::Error rewrite(Record &r, const DataContext &ctx) const override {
    for (const auto &[name, expr] : assign) {
      auto v = expr.evaluate(r, ctx.tokenizer);
      if (!v)
        return v.takeError();
      r.set(name, std::move(*v));
    }
    return llvm::Error::success();
  }
  llvm::StringRef opName() const override { return "map"; }

  std::optional<std::vector<std::string>> schema() const override {
    auto s = in->schema();
    if (!s)
      return s;
    for (const auto &a : assign)
      if (llvm::find(*s, a.first) == s->end())
        s->push_back(a.first);
    return s;
  }

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> map(";
    bool first = true;
    for (const auto &[name, expr] : assign) {
      if (!first)
        os << ", ";
      first = false;
      os << name << ": " << expr.str();
    }
    os << ")";
  }

private:
  std::vector<std::pair<std::string, RecordExpr>> assign;
};

} // namespace

DatasetRef
ftl::rt::mapDataset(DatasetRef in,
                    std::vector<std::pair<std::string, RecordExpr>> assign) {
  return std::make_shared<MapDataset>(std::move(in), std::move(assign));
}

//===----------------------------------------------------------------------===//
// template
//===----------------------------------------------------------------------===//

namespace {

struct TemplatePiece {
  bool isField;
  std::string text; // literal text or field name
};

class TemplateDataset : public RewriteDataset {
public:
  TemplateDataset(DatasetRef in, std::string format, std::string into,
                  std::vector<TemplatePiece> pieces)
      : RewriteDataset(std::move(in)), format(std::move(format)),
        into(std::move(into)), pieces(std::move(pieces)) {}

  llvm::Error rewrite(Record &r, const DataContext &) const override {
    std::string out;
    for (const TemplatePiece &p : pieces) {
      if (!p.isField) {
        out += p.text;
        continue;
      }
      auto v = r.require(p.text);
      if (!v)
        return v.takeError();
      if ((*v)->isString())
        out += (*v)->getString();
      else
        out += (*v)->toJson();
    }
    r.set(into, Value(std::move(out)));
    return llvm::Error::success();
  }
  llvm::StringRef opName() const override { return "template"; }

  std::optional<std::vector<std::string>> schema() const override {
    auto s = in->schema();
    if (s && llvm::find(*s, into) == s->end())
      s->push_back(into);
    return s;
  }

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> template(";
    describeString(os, format);
    os << ", into: ";
    describeString(os, into);
    os << ")";
  }

private:
  std::string format, into;
  std::vector<TemplatePiece> pieces;
};

llvm::Expected<std::vector<TemplatePiece>>
parseTemplate(llvm::StringRef format) {
  std::vector<TemplatePiece> pieces;
  std::string lit;
  auto bad = [&](size_t at, const llvm::Twine &what) {
    return makeError("template \"" + format + "\": " + what + " at offset " +
                     llvm::Twine(at) +
                     " (write '{{' or '}}' for a literal brace)");
  };
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '}') {
      if (i + 1 < format.size() && format[i + 1] == '}') {
        lit += '}';
        ++i;
        continue;
      }
      return bad(i, "unmatched '}'");
    }
    if (c != '{') {
      lit += c;
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '{') {
      lit += '{';
      ++i;
      continue;
    }
    size_t close = format.find('}', i + 1);
    size_t nextOpen = format.find('{', i + 1);
    if (close == llvm::StringRef::npos || nextOpen < close)
      return bad(i, "unmatched '{'");
    llvm::StringRef name = format.slice(i + 1, close).trim();
    name.consume_front(".");
    if (name.empty())
      return bad(i, "empty field name in '{}'");
    if (!lit.empty())
      pieces.push_back(TemplatePiece{false, std::move(lit)});
    lit.clear();
    pieces.push_back(TemplatePiece{true, name.str()});
    i = close;
  }
  if (!lit.empty())
    pieces.push_back(TemplatePiece{false, std::move(lit)});
  return pieces;
}

} // namespace

llvm::Expected<DatasetRef>
ftl::rt::templateDataset(DatasetRef in, llvm::StringRef format,
                         llvm::StringRef into,
                         std::optional<std::vector<std::string>> schema) {
  if (into.empty())
    return makeError("template \"" + format +
                     "\": 'into' is empty, expected a field name");
  auto pieces = parseTemplate(format);
  if (!pieces)
    return pieces.takeError();
  if (!schema)
    schema = in->schema();
  if (schema) {
    for (const TemplatePiece &p : *pieces) {
      if (!p.isField)
        continue;
      llvm::StringRef root = llvm::StringRef(p.text).split('.').first;
      if (llvm::find(*schema, root.str()) == schema->end()) {
        std::string fields;
        for (const std::string &f : *schema)
          fields += (fields.empty() ? "" : ", ") + f;
        return makeError("template \"" + format + "\" uses field '" + p.text +
                         "', which the data does not have (fields: " +
                         (fields.empty() ? std::string("none") : fields) + ")");
      }
    }
  }
  return std::make_shared<TemplateDataset>(std::move(in), format.str(),
                                           into.str(), std::move(*pieces));
}

//===----------------------------------------------------------------------===//
// take, skip, sample
//===----------------------------------------------------------------------===//

namespace {

class TakeSkipDataset : public SelectDataset {
public:
  TakeSkipDataset(DatasetRef in, uint64_t n, bool take)
      : SelectDataset(std::move(in)), n(n), take(take) {}

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> " << opName() << "(" << n << ")";
  }

protected:
  class Sel : public Selector {
  public:
    Sel(uint64_t n, bool take) : n(n), take(take) {}
    llvm::Expected<Decision> decide(const Record &, uint64_t pos) override {
      if (take)
        return pos < n ? Decision::Keep : Decision::Stop;
      return pos < n ? Decision::Drop : Decision::Keep;
    }
    bool exhausted() const override { return false; }

  private:
    uint64_t n;
    bool take;
  };
  // take(n) is exhausted once n records went through: count decisions.
  class TakeSel : public Selector {
  public:
    explicit TakeSel(uint64_t n) : n(n) {}
    llvm::Expected<Decision> decide(const Record &, uint64_t) override {
      ++seen;
      return Decision::Keep;
    }
    bool exhausted() const override { return seen >= n; }

  private:
    uint64_t n, seen = 0;
  };

  llvm::Expected<std::unique_ptr<Selector>>
  makeSelector(const DataContext &) const override {
    if (take)
      return std::make_unique<TakeSel>(n);
    return std::make_unique<Sel>(n, false);
  }
  llvm::StringRef opName() const override { return take ? "take" : "skip"; }

private:
  uint64_t n;
  bool take;
};

class SampleDataset : public SelectDataset {
public:
  SampleDataset(DatasetRef in, double fraction)
      : SelectDataset(std::move(in)), fraction(fraction) {}

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> sample(" << formatDouble(fraction) << ")";
  }

protected:
  class Sel : public Selector {
  public:
    Sel(uint64_t base, double fraction) : base(base), fraction(fraction) {}
    llvm::Expected<Decision> decide(const Record &, uint64_t pos) override {
      double u = (mix64(base ^ mix64(pos)) >> 11) * 0x1.0p-53;
      return u < fraction ? Decision::Keep : Decision::Drop;
    }

  private:
    uint64_t base;
    double fraction;
  };

  llvm::Expected<std::unique_ptr<Selector>>
  makeSelector(const DataContext &ctx) const override {
    return std::make_unique<Sel>(rng(ctx).next(), fraction);
  }
  llvm::StringRef opName() const override { return "sample"; }

private:
  double fraction;
};

} // namespace

DatasetRef ftl::rt::takeDataset(DatasetRef in, uint64_t n) {
  return std::make_shared<TakeSkipDataset>(std::move(in), n, true);
}

DatasetRef ftl::rt::skipDataset(DatasetRef in, uint64_t n) {
  return std::make_shared<TakeSkipDataset>(std::move(in), n, false);
}

llvm::Expected<DatasetRef> ftl::rt::sampleDataset(DatasetRef in,
                                                  double fraction) {
  if (!(fraction >= 0 && fraction <= 1))
    return makeError("sample: fraction " + formatDouble(fraction) +
                     " is outside [0, 1] (write e.g. sample(0.1) or 10%)");
  return std::make_shared<SampleDataset>(std::move(in), fraction);
}

//===----------------------------------------------------------------------===//
// shuffle
//===----------------------------------------------------------------------===//

namespace {

class PermutedIndexed : public IndexedRecords {
public:
  PermutedIndexed(std::unique_ptr<IndexedRecords> in,
                  std::vector<uint64_t> order, std::string name)
      : in(std::move(in)), order(std::move(order)), chain(std::move(name)) {}
  size_t size() const override { return order.size(); }
  llvm::Expected<Record> get(size_t i) override {
    auto r = in->get(order[i]);
    if (!r)
      return r.takeError();
    chain.apply(*r);
    return r;
  }

private:
  std::unique_ptr<IndexedRecords> in;
  std::vector<uint64_t> order;
  ChainCache chain;
};

/// The input's random access, or its records held in memory.
llvm::Expected<std::unique_ptr<IndexedRecords>>
indexedOrMaterialized(const Dataset &in, const DataContext &ctx) {
  auto view = in.openIndexed(ctx);
  if (!view || *view)
    return view;
  auto all = materialize(in, ctx);
  if (!all)
    return all.takeError();
  return std::make_unique<VectorIndexed>(
      std::make_shared<const std::vector<Record>>(std::move(*all)));
}

class ShuffleDataset : public Dataset {
public:
  explicit ShuffleDataset(DatasetRef in) : in(std::move(in)) {}

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override {
    auto view = openIndexed(ctx);
    if (!view)
      return view.takeError();
    return std::make_unique<IndexedStream>(std::move(*view));
  }

  llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const override {
    auto view = indexedOrMaterialized(*in, ctx);
    if (!view)
      return view.takeError();
    std::vector<uint64_t> order((*view)->size());
    std::iota(order.begin(), order.end(), 0);
    Rng r = rng(ctx);
    // Fisher-Yates.
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[r.below(i)]);
    return std::make_unique<PermutedIndexed>(std::move(*view), std::move(order),
                                             "shuffle");
  }

  std::optional<std::vector<std::string>> schema() const override {
    return in->schema();
  }
  void describe(llvm::raw_ostream &os, bool forKey) const override {
    in->describe(os, forKey);
    os << " |> shuffle()";
  }
  void sourceFiles(std::vector<std::string> &out) const override {
    in->sourceFiles(out);
  }

private:
  DatasetRef in;
};

} // namespace

DatasetRef ftl::rt::shuffleDataset(DatasetRef in) {
  return std::make_shared<ShuffleDataset>(std::move(in));
}

//===----------------------------------------------------------------------===//
// split
//===----------------------------------------------------------------------===//

namespace {

struct SplitSpec {
  DatasetRef in;
  std::vector<SplitPart> parts;
  std::string restName;

  void describeOp(llvm::raw_ostream &os) const {
    os << " |> split(";
    bool first = true;
    for (const SplitPart &p : parts) {
      if (!first)
        os << ", ";
      first = false;
      os << p.name << ": " << formatDouble(p.fraction);
    }
    os << ")";
  }

  /// partOf[position] = part number (parts.size() = the rest).
  std::vector<uint8_t> assign(uint64_t n, const DataContext &ctx) const {
    std::string key;
    llvm::raw_string_ostream os(key);
    in->describe(os, /*forKey=*/true);
    describeOp(os);
    Rng rng = Rng(ctx.seed).derive(key);
    std::vector<uint64_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    for (size_t i = perm.size(); i > 1; --i)
      std::swap(perm[i - 1], perm[rng.below(i)]);
    std::vector<uint8_t> partOf(n, static_cast<uint8_t>(parts.size()));
    double cum = 0;
    uint64_t prev = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      cum += parts[k].fraction;
      uint64_t bound = std::min<uint64_t>(
          n, static_cast<uint64_t>(std::floor(cum * n + 0.5 + 1e-9)));
      for (uint64_t j = prev; j < bound; ++j)
        partOf[perm[j]] = static_cast<uint8_t>(k);
      prev = std::max(prev, bound);
    }
    return partOf;
  }
};

class SplitPartDataset : public Dataset {
public:
  SplitPartDataset(std::shared_ptr<const SplitSpec> spec, size_t part)
      : spec(std::move(spec)), part(part) {}

  llvm::StringRef partName() const {
    return part < spec->parts.size() ? llvm::StringRef(spec->parts[part].name)
                                     : llvm::StringRef(spec->restName);
  }

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override {
    // Random access: select positions directly.
    auto view = spec->in->openIndexed(ctx);
    if (!view)
      return view.takeError();
    if (*view) {
      auto sel = selectIndexed(std::move(*view), ctx);
      if (!sel)
        return sel.takeError();
      return std::make_unique<IndexedStream>(std::move(*sel));
    }
    // Streaming input: count first (without counting into the stats), then
    // read again keeping this part's positions.
    DataContext quiet = ctx;
    quiet.stats = nullptr;
    auto counter = spec->in->open(quiet);
    if (!counter)
      return counter.takeError();
    uint64_t n = 0;
    Record r;
    while (true) {
      auto more = (*counter)->next(r);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      ++n;
    }
    auto src = spec->in->open(ctx);
    if (!src)
      return src.takeError();
    return std::make_unique<PartStream>(std::move(*src), spec->assign(n, ctx),
                                        part, "split:" + partName().str());
  }

  llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const override {
    auto view = spec->in->openIndexed(ctx);
    if (!view || !*view)
      return view;
    return selectIndexed(std::move(*view), ctx);
  }

  std::optional<std::vector<std::string>> schema() const override {
    return spec->in->schema();
  }
  void describe(llvm::raw_ostream &os, bool forKey) const override {
    spec->in->describe(os, forKey);
    spec->describeOp(os);
    os << "." << partName();
  }
  void sourceFiles(std::vector<std::string> &out) const override {
    spec->in->sourceFiles(out);
  }

private:
  class PartStream : public RecordStream {
  public:
    PartStream(std::unique_ptr<RecordStream> in, std::vector<uint8_t> partOf,
               size_t part, std::string name)
        : in(std::move(in)), partOf(std::move(partOf)), part(part),
          chain(std::move(name)) {}
    llvm::Expected<bool> next(Record &out) override {
      while (true) {
        auto more = in->next(out);
        if (!more || !*more)
          return more;
        uint64_t pos = position++;
        if (pos >= partOf.size())
          return makeError("split: the input changed between passes (more "
                           "than " +
                           llvm::Twine(partOf.size()) + " records)");
        if (partOf[pos] == part) {
          chain.apply(out);
          return true;
        }
      }
    }

  private:
    std::unique_ptr<RecordStream> in;
    std::vector<uint8_t> partOf;
    size_t part;
    ChainCache chain;
    uint64_t position = 0;
  };

  llvm::Expected<std::unique_ptr<IndexedRecords>>
  selectIndexed(std::unique_ptr<IndexedRecords> view,
                const DataContext &ctx) const {
    std::vector<uint8_t> partOf = spec->assign(view->size(), ctx);
    std::vector<uint64_t> keep;
    for (uint64_t i = 0; i < partOf.size(); ++i)
      if (partOf[i] == part)
        keep.push_back(i);
    return std::make_unique<PermutedIndexed>(std::move(view), std::move(keep),
                                             "split:" + partName().str());
  }

  std::shared_ptr<const SplitSpec> spec;
  size_t part;
};

} // namespace

llvm::Expected<std::vector<std::pair<std::string, DatasetRef>>>
ftl::rt::splitDataset(DatasetRef in, llvm::ArrayRef<SplitPart> parts,
                      llvm::StringRef restName) {
  if (parts.empty())
    return makeError("split: expected at least one part, such as eval: 10%");
  if (parts.size() > 200)
    return makeError("split: at most 200 parts are supported, found " +
                     llvm::Twine(parts.size()));
  llvm::StringSet<> names;
  double sum = 0;
  for (const SplitPart &p : parts) {
    if (p.name.empty())
      return makeError("split: a part has an empty name");
    if (!names.insert(p.name).second)
      return makeError("split: part '" + p.name + "' is named twice");
    if (!(p.fraction >= 0 && p.fraction <= 1))
      return makeError("split: part '" + p.name + "' has fraction " +
                       formatDouble(p.fraction) +
                       ", expected a value in [0, 1] such as 10%");
    sum += p.fraction;
  }
  if (sum > 1 + 1e-9)
    return makeError("split: the parts' fractions sum to " + formatDouble(sum) +
                     ", expected at most 1 (100%)");
  if (restName.empty())
    return makeError("split: the name of the rest is empty");
  if (names.contains(restName))
    return makeError("split: part '" + restName +
                     "' clashes with the name of the rest");
  auto spec = std::make_shared<SplitSpec>();
  spec->in = std::move(in);
  spec->parts = parts.vec();
  spec->restName = restName.str();
  std::vector<std::pair<std::string, DatasetRef>> out;
  for (size_t k = 0; k <= parts.size(); ++k) {
    auto d = std::make_shared<SplitPartDataset>(spec, k);
    out.emplace_back(d->partName().str(), d);
  }
  return out;
}
