//===- DataOps.cpp - ftl data ops to runtime/data pipelines ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Builds lazily evaluated runtime/data datasets from `ftl.data.*` ops. Record
// regions (filter predicates, mapped fields) become RecordExpr trees.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"
#include "PairBuilders.h"

#include "ftl/Data/RecordExpr.h"
#include "ftl/Data/Tokenize.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"

#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/StringSwitch.h"

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


namespace fd = mlir::ftl;

static llvm::Expected<Value> literalValue(Attribute attr) {
  if (auto s = dyn_cast<StringAttr>(attr))
    return Value(s.getValue().str());
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return Value(int64_t(i.getInt()));
  if (auto f = dyn_cast<FloatAttr>(attr))
    return Value(f.getValueAsDouble());
  if (auto b = dyn_cast<BoolAttr>(attr))
    return Value(b.getValue());
  return llvm::createStringError("unsupported literal in a record expression");
}

/// The RecordExpr computing `v` inside a record region.
static llvm::Expected<RecordExpr> toRecordExpr(mlir::Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return llvm::createStringError("a record expression reads a value it "
                                   "cannot see");
  using Op = RecordExpr::Op;
  auto sub = [&](unsigned i) { return toRecordExpr(def->getOperand(i)); };
  if (auto field = dyn_cast<fd::RecordFieldOp>(def))
    return RecordExpr::field(field.getField());
  if (auto c = dyn_cast<fd::ConstantOp>(def)) {
    auto value = literalValue(c.getValue());
    if (!value)
      return value.takeError();
    return RecordExpr::literal(std::move(*value));
  }
  if (auto m = dyn_cast<fd::RecordMatchOp>(def)) {
    auto subject = sub(0);
    if (!subject)
      return subject.takeError();
    std::string pattern = m.getPattern().str();
    if (!m.getFlags().empty())
      pattern = "(?" + m.getFlags().str() + ")" + pattern;
    auto match = RecordExpr::match(std::move(*subject), pattern);
    if (!match)
      return match.takeError();
    if (m.getNegate())
      return RecordExpr::unary(Op::Not, std::move(*match));
    return match;
  }
  if (auto len = dyn_cast<fd::RecordLenOp>(def)) {
    auto operand = sub(0);
    if (!operand)
      return operand.takeError();
    return RecordExpr::unary(len.getUnit() == "tokens" ? Op::NTokens : Op::Len,
                             std::move(*operand));
  }
  if (auto cmp = dyn_cast<fd::RecordCompareOp>(def)) {
    auto lhs = sub(0), rhs = sub(1);
    if (!lhs)
      return lhs.takeError();
    if (!rhs)
      return rhs.takeError();
    Op op = llvm::StringSwitch<Op>(cmp.getPredicate())
                .Case("lt", Op::Lt)
                .Case("le", Op::Le)
                .Case("gt", Op::Gt)
                .Case("ge", Op::Ge)
                .Case("eq", Op::Eq)
                .Default(Op::Ne);
    return RecordExpr::binary(op, std::move(*lhs), std::move(*rhs));
  }
  if (auto arith = dyn_cast<fd::RecordArithOp>(def)) {
    auto lhs = sub(0);
    if (!lhs)
      return lhs.takeError();
    if (arith.getOp() == "not")
      return RecordExpr::unary(Op::Not, std::move(*lhs));
    auto rhs = sub(1);
    if (!rhs)
      return rhs.takeError();
    Op op = llvm::StringSwitch<Op>(arith.getOp())
                .Case("add", Op::Add)
                .Case("sub", Op::Sub)
                .Case("mul", Op::Mul)
                .Case("div", Op::Div)
                .Case("and", Op::And)
                .Default(Op::Or);
    return RecordExpr::binary(op, std::move(*lhs), std::move(*rhs));
  }
  return llvm::createStringError(
      "not implemented yet: '" + def->getName().getStringRef().str() +
      "' in a record expression");
}

static llvm::Expected<RecordExpr> regionExpr(Region &region) {
  auto yield = cast<fd::YieldOp>(region.front().getTerminator());
  return toRecordExpr(yield.getValues()[0]);
}

llvm::Error Interpreter::execData(Operation *op) {
  if (auto source = dyn_cast<fd::DataSourceOp>(op)) {
    std::string path = resolvePath(source.getPath());
    auto text = [&](StringRef key) -> std::string {
      if (auto a = op->getAttrOfType<StringAttr>(key))
        return a.getValue().str();
      return "";
    };
    DataValue value;
    if (source.getKind() == "jsonl") {
      JsonlOptions options;
      if (auto fields = source.getFields())
        for (NamedAttribute f : *fields) {
          auto raw = parseFieldPath(cast<StringAttr>(f.getValue()).getValue());
          if (!raw)
            return error(op, llvm::toString(raw.takeError()));
          options.mapping.push_back({f.getName().str(), *raw});
        }
      options.onError = text("on_error") == "skip" ? OnError::Skip
                                                   : OnError::Fail;
      options.invalidUtf8 = text("invalid_utf8") == "replace"
                                ? InvalidUtf8::Replace
                                : InvalidUtf8::Error;
      auto ds = jsonlDataset(path, options);
      if (!ds)
        return error(op, llvm::toString(ds.takeError()));
      value.data = *ds;
    } else {
      TextOptions options;
      std::string split = text("split");
      options.split = split == "paragraph" ? TextSplit::Paragraph
                      : split == "file"    ? TextSplit::File
                                           : TextSplit::Line;
      value.data = textDataset(path, options);
    }
    values[source.getData()] = value;
    return llvm::Error::success();
  }
  if (auto part = dyn_cast<fd::DataPartOp>(op)) {
    auto in = data(part.getSource());
    if (!in)
      return in.takeError();
    auto it = (*in)->parts.find(part.getPart().str());
    if (it == (*in)->parts.end())
      return error(op, "data has no part '" + part.getPart() + "'");
    values[part.getData()] = DataValue{it->second, {}};
    return llvm::Error::success();
  }
  if (auto column = dyn_cast<fd::DataColumnOp>(op)) {
    auto in = data(column.getSource());
    if (!in)
      return in.takeError();
    values[column.getColumn()] = ColumnValue{(*in)->data, column.getField().str()};
    return llvm::Error::success();
  }
  if (auto concat = dyn_cast<fd::DataConcatOp>(op)) {
    std::vector<Record> all;
    DataContext ctx = dataContext(lastTokenizer.get());
    for (mlir::Value v : concat.getSources()) {
      auto in = data(v);
      if (!in)
        return in.takeError();
      auto records = readAll(*(*in)->data, ctx);
      if (!records)
        return error(op, llvm::toString(records.takeError()));
      for (Record &r : *records)
        all.push_back(std::move(r));
    }
    values[concat.getData()] =
        DataValue{recordsDataset("concat", std::move(all)), {}};
    return llvm::Error::success();
  }
  auto mix = cast<fd::DataMixtureOp>(op);
  std::vector<MixtureComponent> parts;
  for (auto [v, name, ratio] :
       llvm::zip(mix.getSources(), mix.getNames(), mix.getRatios())) {
    auto in = data(v);
    if (!in)
      return in.takeError();
    parts.push_back({cast<StringAttr>(name).getValue().str(), (*in)->data,
                     cast<FloatAttr>(ratio).getValueAsDouble()});
  }
  MixtureOptions options;
  if (auto by = op->getAttrOfType<StringAttr>("by"))
    options.by = by.getValue() == "tokens" ? MixtureOptions::By::Tokens
                                           : MixtureOptions::By::Examples;
  if (auto cap = op->getAttrOfType<IntegerAttr>("cap"))
    options.cap = cap.getInt();
  if (auto total = op->getAttrOfType<IntegerAttr>("total"))
    options.total = total.getInt();
  auto ds = mixtureDataset(std::move(parts), options);
  if (!ds)
    return error(op, llvm::toString(ds.takeError()));
  values[mix.getData()] = DataValue{*ds, {}};
  return llvm::Error::success();
}

llvm::Error Interpreter::execDataOp(Operation *raw) {
  auto op = cast<fd::DataOp>(raw);
  auto in = data(op.getInputs()[0]);
  if (!in)
    return in.takeError();
  DatasetRef input = (*in)->data;
  StringRef name = op.getName();
  auto intAttr = [&](StringRef key, int64_t fallback) {
    if (auto a = raw->getAttrOfType<IntegerAttr>(key))
      return a.getInt();
    return fallback;
  };
  auto floatAttr = [&](StringRef key, double fallback) {
    if (auto a = raw->getAttrOfType<FloatAttr>(key))
      return a.getValueAsDouble();
    return fallback;
  };
  auto stringAttr = [&](StringRef key) -> std::string {
    if (auto a = raw->getAttrOfType<StringAttr>(key))
      return a.getValue().str();
    return "";
  };
  auto region = [&](StringRef param) -> Region * {
    for (auto [i, attr] : llvm::enumerate(op.getRegionParams()))
      if (cast<StringAttr>(attr).getValue() == param)
        return &op.getRecordExprs()[i];
    return nullptr;
  };
  auto operand = [&](StringRef param) -> mlir::Value {
    for (auto [i, attr] : llvm::enumerate(op.getOperandNames()))
      if (cast<StringAttr>(attr).getValue() == param)
        return op.getInputs()[i];
    return {};
  };
  DataValue result;
  if (name == "filter") {
    auto expr = regionExpr(*region("pred"));
    if (!expr)
      return error(raw, llvm::toString(expr.takeError()));
    result.data = filterDataset(input, std::move(*expr));
  } else if (name == "map") {
    std::vector<std::pair<std::string, RecordExpr>> assign;
    for (auto [i, attr] : llvm::enumerate(op.getRegionParams())) {
      auto expr = regionExpr(op.getRecordExprs()[i]);
      if (!expr)
        return error(raw, llvm::toString(expr.takeError()));
      assign.push_back({cast<StringAttr>(attr).getValue().str(), *expr});
    }
    result.data = mapDataset(input, std::move(assign));
  } else if (name == "template") {
    std::string into = stringAttr("into");
    auto ds = templateDataset(input, stringAttr("format"),
                              into.empty() ? "text" : into);
    if (!ds)
      return error(raw, llvm::toString(ds.takeError()));
    result.data = *ds;
  } else if (name == "tag") {
    std::vector<std::pair<std::string, RecordExpr>> assign;
    assign.push_back({"task", RecordExpr::literal(Value(stringAttr("task")))});
    result.data = mapDataset(input, std::move(assign));
  } else if (name == "dedup") {
    DedupOptions options;
    auto key = operand("key").getDefiningOp<fd::MakeOp>();
    if (!key)
      return error(raw, "the dedup key must be exact(...) or minhash(...)");
    auto of = key->getAttrOfType<StringAttr>("of");
    options.field = of ? of.getValue().str() : "";
    if (key.getName() == "minhash") {
      options.method = DedupOptions::Method::MinHash;
      if (auto n = key->getAttrOfType<IntegerAttr>("ngram"))
        options.ngram = unsigned(n.getInt());
      if (auto p = key->getAttrOfType<IntegerAttr>("perm"))
        options.permutations = unsigned(p.getInt());
      options.threshold = floatAttr("threshold", 0.8);
    }
    auto ds = dedupDataset(input, options);
    if (!ds)
      return error(raw, llvm::toString(ds.takeError()));
    result.data = *ds;
  } else if (name == "shuffle") {
    result.data = shuffleDataset(input);
  } else if (name == "take") {
    result.data = takeDataset(input, uint64_t(intAttr("n", 0)));
  } else if (name == "skip") {
    result.data = skipDataset(input, uint64_t(intAttr("n", 0)));
  } else if (name == "sample") {
    auto ds = sampleDataset(input, floatAttr("frac", 1.0));
    if (!ds)
      return error(raw, llvm::toString(ds.takeError()));
    result.data = *ds;
  } else if (name == "split") {
    std::vector<SplitPart> parts;
    for (NamedAttribute attr : raw->getDiscardableAttrs()) {
      StringRef key = attr.getName().getValue();
      if (key == "operand_names" || key == "region_params")
        continue;
      if (auto f = dyn_cast<FloatAttr>(attr.getValue()))
        parts.push_back({key.str(), f.getValueAsDouble()});
    }
    auto split = splitDataset(input, parts);
    if (!split)
      return error(raw, llvm::toString(split.takeError()));
    result.data = input;
    for (auto &[partName, ds] : *split)
      result.parts[partName] = ds;
  } else if (name == "chunk") {
    ChunkOptions options;
    options.tokens = intAttr("n", 256);
    auto ds = chunkDataset(input, options);
    if (!ds)
      return error(raw, llvm::toString(ds.takeError()));
    result.data = *ds;
  } else if (name == "best_worst" || name == "gold_pairs" ||
             name == "with_feedback") {
    // Builders read all their records (they group by prompt).
    auto all = [&](DatasetRef d) { return readAll(*d, dataContext(nullptr)); };
    auto first = all(input);
    if (!first)
      return error(raw, llvm::toString(first.takeError()));
    llvm::Expected<std::vector<Record>> built = std::vector<Record>();
    if (name == "best_worst") {
      std::string by = "score";
      if (auto f = raw->getAttrOfType<StringAttr>("by"))
        by = f.getValue().ltrim('.').str();
      built = bestWorstPairs(*first, by);
    } else if (name == "gold_pairs") {
      auto samples = data(operand("samples"));
      if (!samples)
        return samples.takeError();
      auto second = all((*samples)->data);
      if (!second)
        return error(raw, llvm::toString(second.takeError()));
      built = goldPairs(*first, *second);
    } else {
      built = withFeedback(*first, stringAttr("format"));
    }
    if (!built)
      return error(raw, llvm::toString(built.takeError()));
    result.data = recordsDataset(name, std::move(*built));
  } else {
    return error(raw, "not implemented yet: data operator '" + name + "'");
  }
  values[op.getData()] = std::move(result);
  return llvm::Error::success();
}
