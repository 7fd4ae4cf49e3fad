//===- FTLOps.cpp - Operations of the ftl dialect -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Verifiers. Built-in calls are checked against the same signature table the
// front end uses (ftl/Lang/Builtins.h), so IR written by hand or produced by
// a pass cannot name a parameter the language does not have.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTL/IR/FTLOps.h"

#include "ftl/Lang/Builtins.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpImplementation.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <re2/re2.h>

using namespace mlir;
using namespace mlir::ftl;

#define GET_OP_CLASSES
#include "ftl/Dialect/FTL/IR/FTLOps.cpp.inc"

/// Attributes that belong to the op itself rather than to the call.
static bool isStructuralAttr(StringRef name) {
  return name == "name" || name == "operand_names" || name == "region_params";
}

/// Checks a generic built-in call: the callee exists and is of the right
/// category, every operand and attribute names one of its parameters, and
/// every required parameter is given.
static LogicalResult verifyBuiltinCall(Operation *op, StringRef name,
                                       ArrayRef<StringRef> categories,
                                       ArrayAttr operandNames,
                                       size_t numOperands,
                                       ArrayAttr regionParams = {}) {
  const ::ftl::lang::Builtin *builtin = ::ftl::lang::lookupBuiltin(name);
  if (!builtin)
    return op->emitOpError("unknown built-in '") << name << "'";
  if (!llvm::is_contained(categories, builtin->category))
    return op->emitOpError("'")
           << name << "' is a " << builtin->category << " built-in, expected "
           << llvm::join(categories, " or ");
  if (operandNames.size() != numOperands)
    return op->emitOpError("has ") << numOperands << " operands but "
                                   << operandNames.size() << " operand names";
  bool takesAnyKeyword = llvm::any_of(
      builtin->params, [](const auto &p) { return p.isVariadicKeyword(); });
  llvm::SmallVector<StringRef> given;
  auto check = [&](StringRef param) -> LogicalResult {
    auto it = llvm::find_if(
        builtin->params, [&](const auto &p) { return p.plainName() == param; });
    if (it == builtin->params.end() && !takesAnyKeyword)
      return op->emitOpError("'")
             << name << "' has no parameter '" << param << "'";
    given.push_back(param);
    return success();
  };
  for (Attribute attr : operandNames)
    if (failed(check(cast<StringAttr>(attr).getValue())))
      return failure();
  if (regionParams)
    for (Attribute attr : regionParams)
      if (failed(check(cast<StringAttr>(attr).getValue())))
        return failure();
  for (NamedAttribute attr : op->getDiscardableAttrs())
    if (!isStructuralAttr(attr.getName()) &&
        failed(check(attr.getName().getValue())))
      return failure();
  for (const auto &p : builtin->params) {
    if (!p.isRequired() || p.isVariadicKeyword() || p.isVariadicPositional())
      continue;
    if (!llvm::is_contained(given, p.plainName()))
      return op->emitOpError("'")
             << name << "' requires parameter '" << p.plainName() << "'";
  }
  return success();
}

//===----------------------------------------------------------------------===//

LogicalResult SeedOp::verify() {
  if (getValue() < 0)
    return emitOpError("seed must be non-negative");
  auto module = (*this)->getParentOfType<ModuleOp>();
  if (module) {
    unsigned count = 0;
    module.walk([&](SeedOp) { ++count; });
    if (count > 1)
      return emitOpError("a module sets the seed at most once");
  }
  return success();
}

LogicalResult ModelBuildOp::verify() {
  StringRef arch = getArch();
  if (arch != "llama" && arch != "gpt2")
    return emitOpError("unknown architecture '")
           << arch << "'; expected llama or gpt2";
  auto get = [&](StringRef key) -> int64_t {
    if (auto attr = (*this)->getAttrOfType<IntegerAttr>(key))
      return attr.getInt();
    return -1;
  };
  for (StringRef key : {"vocab", "dim", "layers", "heads"}) {
    int64_t v = get(key);
    if (v <= 0)
      return emitOpError("needs a positive integer '") << key << "'";
  }
  int64_t heads = get("heads"), dim = get("dim");
  int64_t kvHeads = get("kv_heads") > 0 ? get("kv_heads") : heads;
  if (dim % heads != 0)
    return emitOpError("'dim' (")
           << dim << ") is not a multiple of 'heads' (" << heads << ")";
  if (heads % kvHeads != 0)
    return emitOpError("'kv_heads' (")
           << kvHeads << ") does not divide 'heads' (" << heads << ")";
  return success();
}

LogicalResult TokenizerOp::verify() {
  if (getKind() == "bytes")
    return success();
  if (getKind() == "hf")
    return getPath() ? success()
                     : emitOpError("an 'hf' tokenizer needs a 'path'");
  return emitOpError("unknown tokenizer kind '") << getKind() << "'";
}

LogicalResult DataSourceOp::verify() {
  if (getKind() != "jsonl" && getKind() != "text")
    return emitOpError("unknown data source '") << getKind() << "'";
  if (getPath().empty())
    return emitOpError("needs a path");
  return success();
}

LogicalResult DataOp::verify() {
  if (getInputs().empty() || !isa<DataType>(getInputs().front().getType()))
    return emitOpError("needs input data as its first operand");
  if (getRegionParams().size() != getRecordExprs().size())
    return emitOpError("has ")
           << getRecordExprs().size() << " regions but "
           << getRegionParams().size() << " region parameter names";
  for (Region &region : getRecordExprs()) {
    Block &block = region.front();
    if (block.getNumArguments() != 1 ||
        !isa<RecordType>(block.getArgument(0).getType()))
      return emitOpError("record regions take one !ftl.record argument");
    auto yield = dyn_cast<YieldOp>(block.getTerminator());
    if (!yield || yield.getValues().size() != 1)
      return emitOpError("record regions must yield exactly one value");
  }
  return verifyBuiltinCall(*this, getName(), {"data operator", "pair builder"},
                           getOperandNames(), getInputs().size(),
                           getRegionParams());
}

LogicalResult DataMixtureOp::verify() {
  if (getSources().empty())
    return emitOpError("needs at least one source");
  if (getNames().size() != getSources().size() ||
      getRatios().size() != getSources().size())
    return emitOpError("needs one name and one ratio per source");
  double sum = 0;
  for (Attribute attr : getRatios()) {
    double r = cast<FloatAttr>(attr).getValueAsDouble();
    if (r <= 0)
      return emitOpError("ratios must be positive");
    sum += r;
  }
  if (std::fabs(sum - 1.0) > 1e-6)
    return emitOpError("ratios must sum to 1, found ")
           << (llvm::formatv("{0}", sum).str());
  return success();
}

LogicalResult RecordMatchOp::verify() {
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  for (char flag : getFlags()) {
    if (flag == 'i')
      opts.set_case_sensitive(false);
    else if (flag == 's')
      opts.set_dot_nl(true);
    else if (flag == 'm') {
      opts.set_posix_syntax(true);
      opts.set_one_line(false);
    } else
      return emitOpError("unknown regex flag '") << flag << "'";
  }
  re2::RE2 re(getPattern().str(), opts);
  if (!re.ok())
    return emitOpError("invalid regular expression: ") << re.error();
  return success();
}

LogicalResult RecordCompareOp::verify() {
  static const StringRef predicates[] = {"lt", "le", "gt", "ge", "eq", "ne"};
  if (!llvm::is_contained(predicates, getPredicate()))
    return emitOpError("unknown predicate '")
           << getPredicate() << "'; expected lt, le, gt, ge, eq or ne";
  return success();
}

LogicalResult MakeOp::verify() {
  return verifyBuiltinCall(*this, getName(),
                           {"optimizer", "schedule", "judge", "mask",
                            "token weighting", "record function",
                            "data operator"},
                           getOperandNames(), getInputs().size());
}

LogicalResult LossOp::verify() {
  return verifyBuiltinCall(*this, getName(), {"loss"}, getOperandNames(),
                           getInputs().size());
}

LogicalResult MetricOp::verify() {
  return verifyBuiltinCall(*this, getName(), {"metric"}, getOperandNames(),
                           getInputs().size());
}

LogicalResult ObjectiveSumOp::verify() {
  if (getTerms().empty())
    return emitOpError("needs at least one term");
  if (auto balance = getBalance()) {
    static const StringRef modes[] = {"static", "data_scale", "token_scale",
                                      "loss_scale", "coba"};
    if (!llvm::is_contained(modes, *balance))
      return emitOpError("unknown balance mode '") << *balance << "'";
  }
  bool coba = getBalance() && *getBalance() == "coba";
  if (coba && getValidation().size() != getTerms().size())
    return emitError("balance(by: coba) needs one validation data set per "
                     "task, in term order: 'val:' has ")
           << getValidation().size() << " for " << getTerms().size()
           << " terms";
  if (!coba && !getValidation().empty())
    return emitError("'val:' is read by balance(by: coba) alone");
  return success();
}

LogicalResult AdapterOp::verify() {
  const ::ftl::lang::Builtin *builtin = ::ftl::lang::lookupBuiltin(getKind());
  if (getKind() != "load" && (!builtin || builtin->category != "adapter"))
    return emitOpError("unknown adapter kind '") << getKind() << "'";
  if (getOperandNames().size() != getInputs().size())
    return emitOpError("needs one operand name per extra operand");
  bool modelLevel = getKind() == "prompt" || getKind() == "prefix";
  if (!modelLevel && getTensors().empty())
    return emitOpError("is placed on no tensor");
  for (NamedAttribute attr : getConfig()) {
    if (getKind() == "load")
      break;
    bool known = llvm::any_of(builtin->params, [&](const auto &p) {
      return p.plainName() == attr.getName().getValue();
    });
    if (!known)
      return emitOpError("'") << getKind() << "' has no parameter '"
                              << attr.getName().getValue() << "'";
  }
  return success();
}

LogicalResult TrainOp::verify() {
  auto positive = [&](StringRef key) -> std::optional<int64_t> {
    if (auto attr = (*this)->getAttrOfType<IntegerAttr>(key))
      return attr.getInt();
    return std::nullopt;
  };
  if (!positive("steps") && !positive("epochs"))
    return emitOpError("needs 'steps' or 'epochs'");
  for (StringRef key : {"steps", "epochs", "batch", "seq", "accumulate",
                        "eval_every", "log_every", "save_every"})
    if (auto v = positive(key); v && *v <= 0)
      return emitOpError("'") << key << "' must be positive, found " << *v;
  return success();
}

LogicalResult GenerateOp::verify() {
  Type type = getPrompts().getType();
  if (!isa<ColumnType, DataType>(type))
    return emitOpError("prompts must be a column or data");
  if (auto n = (*this)->getAttrOfType<IntegerAttr>("n"))
    if (n.getInt() <= 0)
      return emitOpError("'n' must be positive");
  if (auto t = (*this)->getAttrOfType<FloatAttr>("temperature"))
    if (t.getValueAsDouble() < 0)
      return emitOpError("'temperature' must not be negative");
  return success();
}

LogicalResult LoopOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 + getIterArgs().size())
    return emitOpError("body takes the loop variable and one argument per "
                       "iter_arg");
  if (!body.getArgument(0).getType().isInteger(64))
    return emitOpError("the loop variable must be i64");
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  size_t expected = getIterArgs().size() + (getHasUntil() ? 1 : 0);
  if (!yield || yield.getValues().size() != expected)
    return emitOpError("body must yield ")
           << expected << " value(s): one per iter_arg"
           << (getHasUntil() ? " and the until condition" : "");
  if (getHasUntil() && !yield.getValues().back().getType().isInteger(1))
    return emitOpError("the until condition must be i1");
  if (getResults().size() != getIterArgs().size())
    return emitOpError("has one result per iter_arg");
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult LogOp::verify() {
  if (getNames().size() != getValues().size())
    return emitOpError("needs one name per value");
  return success();
}

LogicalResult SaveOp::verify() {
  if (!isa<ModelType, AdapterType, DataType>(getValue().getType()))
    return emitOpError("can save a model, an adapter or data");
  if (getPath().empty())
    return emitOpError("needs a path");
  return success();
}
