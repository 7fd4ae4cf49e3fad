//===- SemaCall.cpp - Semantic analysis: calls and arguments --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Calls are checked against the built-in signature table: binding of
// positional and keyword arguments, types, enum symbols, record-level
// arguments inside data operators, files, and the computed result types.
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cmath>

using namespace ftl::lang;
using llvm::SMRange;
using llvm::StringRef;

/// Splits a type spec on top-level `|` (not inside (), {}, <>).
static llvm::SmallVector<StringRef, 4> splitAlternatives(StringRef spec) {
  llvm::SmallVector<StringRef, 4> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c == '(' || c == '{' || c == '<')
      ++depth;
    else if (c == ')' || c == '}' || c == '>')
      --depth;
    else if (c == '|' && depth == 0) {
      out.push_back(spec.slice(start, i));
      start = i + 1;
    }
  }
  out.push_back(spec.drop_front(start));
  return out;
}

static llvm::SmallVector<StringRef, 8> enumMembers(StringRef spec) {
  llvm::SmallVector<StringRef, 8> members;
  StringRef body = spec;
  body.consume_front("enum(");
  body.consume_back(")");
  body.split(members, '|');
  return members;
}

/// Alternatives of a `data{a,b|c}` spec: {{a, b}, {c}}.
static std::vector<std::vector<std::string>> dataRequirement(StringRef spec) {
  std::vector<std::vector<std::string>> alternatives;
  size_t open = spec.find('{');
  if (open == StringRef::npos)
    return alternatives;
  StringRef body = spec.slice(open + 1, spec.rfind('}'));
  llvm::SmallVector<StringRef, 4> alts;
  body.split(alts, '|');
  for (StringRef alt : alts) {
    llvm::SmallVector<StringRef, 4> fields;
    alt.split(fields, ',');
    std::vector<std::string> names;
    for (StringRef f : fields)
      names.push_back(f.trim().str());
    alternatives.push_back(std::move(names));
  }
  return alternatives;
}

static std::string
describeRequirement(const std::vector<std::vector<std::string>> &alternatives) {
  std::vector<std::string> parts;
  for (const auto &alt : alternatives) {
    std::string text = alt.size() == 1 ? "field " : "fields ";
    for (size_t i = 0; i < alt.size(); ++i)
      text += (i == 0 ? "" : i + 1 == alt.size() ? " and " : ", ") + alt[i];
    parts.push_back(text);
  }
  return llvm::join(parts, ", or ");
}

static std::string describeSpec(StringRef spec) {
  llvm::SmallVector<StringRef, 4> alts = splitAlternatives(spec);
  std::vector<std::string> parts;
  for (StringRef alt : alts) {
    if (alt.starts_with("data{")) {
      parts.push_back("data with " + describeRequirement(dataRequirement(alt)));
      continue;
    }
    if (alt.starts_with("enum(")) {
      std::vector<std::string> members;
      for (StringRef m : enumMembers(alt))
        members.push_back(m.str());
      parts.push_back("one of " + llvm::join(members, ", "));
      continue;
    }
    if (alt.starts_with("list<")) {
      parts.push_back("a list of " + alt.slice(5, alt.size() - 1).str() + "s");
      continue;
    }
    static const std::pair<StringRef, StringRef> names[] = {
        {"int", "an integer"},
        {"number", "a number"},
        {"fraction", "a fraction such as 10% or 0.1"},
        {"percent", "a percentage"},
        {"duration", "a duration such as 5s"},
        {"string", "a string"},
        {"path", "a file path"},
        {"dir", "a folder path"},
        {"outpath", "a path"},
        {"regex", "a regular expression"},
        {"bool", "true or false"},
        {"model", "a model"},
        {"tokenizer", "a tokenizer"},
        {"data", "data"},
        {"adapter", "an adapter"},
        {"objective", "an objective"},
        {"optimizer", "an optimizer"},
        {"schedule", "a schedule"},
        {"metric", "a metric"},
        {"judge", "a judge"},
        {"dedupkey", "a dedup key such as exact(.text) or minhash(.text)"},
        {"mask", "a mask such as random(15%)"},
        {"tokweights", "token weights such as key_tokens(.keys)"},
        {"selection", "a selection"},
        {"percentile", "a percentile such as pct(70)"},
        {"field", "a field such as .answer"},
        {"pred", "a condition on record fields such as .score > 0.5"},
        {"recexpr", "an expression over record fields"},
        {"column", "a column such as d.prompt"},
        {"any", "a value"},
    };
    StringRef described = alt;
    for (auto &[name, text] : names)
      if (name == alt)
        described = text;
    parts.push_back(described.str());
  }
  return llvm::join(parts, " or ");
}

bool SemaImpl::acceptsType(StringRef spec, const Type *type) {
  if (type->isError())
    return true;
  for (StringRef alt : splitAlternatives(spec)) {
    using K = Type::Kind;
    if (alt == "any")
      return true;
    if (alt.starts_with("data")) {
      if (type->is(K::Data))
        return true;
      continue;
    }
    if (alt.starts_with("list<")) {
      if (!type->is(K::List))
        continue;
      const Type *element = type->getElement();
      if (!element || element->is(K::Any) ||
          acceptsType(alt.slice(5, alt.size() - 1), element))
        return true;
      continue;
    }
    bool ok =
        llvm::StringSwitch<bool>(alt)
            .Case("int", type->is(K::Int))
            .Case("number", type->is(K::Int) || type->is(K::Number))
            .Case("fraction", type->is(K::Int) || type->is(K::Number) ||
                                  type->is(K::Percent))
            .Case("percent", type->is(K::Percent))
            .Case("duration", type->is(K::Duration))
            .Cases("string", "path", "dir", "outpath", type->is(K::String))
            .Case("regex", type->is(K::Regex))
            .Case("bool", type->is(K::Bool))
            .Case("model", type->is(K::Model))
            .Case("tokenizer", type->is(K::Tokenizer))
            .Case("adapter", type->is(K::Adapter))
            .Case("objective", type->is(K::Objective))
            .Case("optimizer", type->is(K::Optimizer))
            .Case("schedule", type->is(K::Schedule))
            .Case("metric", type->is(K::Metric) || type->isNumeric())
            .Case("judge", type->is(K::Judge))
            .Case("dedupkey", type->is(K::DedupKey))
            .Case("mask", type->is(K::Mask))
            .Case("tokweights", type->is(K::TokenWeights))
            .Case("selection", type->is(K::Selection))
            .Case("percentile", type->is(K::Percentile))
            .Case("column", type->is(K::Column))
            .Cases("field", "recexpr", type->is(K::Record))
            .Case("pred",
                  type->is(K::Record) && type->getElement()->is(K::Bool))
            .Default(false);
    if (ok)
      return true;
  }
  return false;
}

std::optional<std::string> SemaImpl::resolvePath(const StringExpr *expr,
                                                 StringRef) {
  // A relative path is relative to the folder of the file the literal is in.
  llvm::SmallString<256> path(expr->getValue());
  if (!llvm::sys::path::is_absolute(path)) {
    path = baseDirOf(expr->getLoc());
    llvm::sys::path::append(path, expr->getValue());
  }
  std::string resolved = path.str().str();
  info.resolvedPaths[expr] = resolved;
  return resolved;
}

bool SemaImpl::checkDataRequirement(const Builtin &builtin, StringRef spec,
                                    const Expr *arg, const Type *type) {
  if (!type->is(Type::Kind::Data) || !type->getSchema())
    return true;
  const DataSchema *schema = type->getSchema();
  auto alternatives = dataRequirement(spec);
  if (alternatives.empty() || schema->open)
    return true;
  for (const auto &alt : alternatives)
    if (llvm::all_of(alt,
                     [&](const std::string &f) { return schema->hasField(f); }))
      return true;
  std::string origin =
      schema->origin.empty() ? sourceTextOf(arg) : schema->origin;
  diags.report(arg->getRange(), diag::LossMissingFields,
               {builtin.name.str(), describeRequirement(alternatives), origin,
                schema->describeFields()});
  return false;
}

std::string SemaImpl::sourceTextOf(const Expr *expr) {
  SMRange range = expr->getRange();
  return std::string(range.Start.getPointer(),
                     range.End.getPointer() - range.Start.getPointer());
}

const Type *SemaImpl::checkArgument(const Builtin &builtin,
                                    const BuiltinParam &param, const Expr *arg,
                                    const ExprContext &ctx) {
  StringRef spec = param.type;
  std::string what = "argument '" + param.plainName().str() + "' of '" +
                     builtin.name.str() + "'";
  // Enum parameters take bare symbols: `on: response`.
  if (spec.starts_with("enum(")) {
    llvm::SmallVector<StringRef, 8> members = enumMembers(spec);
    std::string value;
    if (const auto *name = llvm::dyn_cast<NameExpr>(arg))
      value = name->getName().str();
    else if (const auto *str = llvm::dyn_cast<StringExpr>(arg))
      value = str->getValue().str();
    else {
      const Type *t = checkExpr(arg, ctx);
      if (!t->isError())
        diags.report(arg->getRange(), diag::TypeMismatch,
                     {what, describeSpec(spec), t->describe()});
      return types.error();
    }
    if (llvm::is_contained(members, value)) {
      arg->setType(types.get(Type::Kind::Enum));
      return types.get(Type::Kind::Enum);
    }
    std::vector<std::string> candidates(members.begin(), members.end());
    auto diag = diags.report(
        arg->getRange(), diag::InvalidEnumValue,
        {value, param.plainName().str(), llvm::join(candidates, ", ")});
    std::string s = suggestName(value, candidates);
    if (!s.empty())
      diag.attachNote(arg->getRange(), diag::NoteDidYouMean, {s});
    arg->setType(types.error());
    return types.error();
  }

  const Type *type = checkExpr(arg, ctx);
  if (type->isError())
    return type;
  // A plain value where a per-record value is expected is fine for `recexpr`
  // (a constant) and for `pred` (a constant condition).
  bool recordSpec = spec == "field" || spec == "pred" || spec == "recexpr";
  if (recordSpec && !type->is(Type::Kind::Record)) {
    if (spec == "recexpr" || (spec == "pred" && type->is(Type::Kind::Bool)))
      return type;
  }
  if (spec.contains("field") && type->is(Type::Kind::Record) &&
      !llvm::isa<FieldExpr>(arg)) {
    diags.report(arg->getRange(), diag::TypeMismatch,
                 {what, "a field such as .answer", "an expression"});
    return types.error();
  }
  if (!acceptsType(spec, type)) {
    diags
        .report(arg->getRange(), diag::TypeMismatch,
                {what, describeSpec(spec), type->describe()})
        .attachNote(arg->getRange(), diag::NoteSeeSignature,
                    {builtin.signature()});
    return types.error();
  }
  // Values that must be in range.
  if (spec == "fraction") {
    double value = -1;
    if (const auto *f = llvm::dyn_cast<FloatExpr>(arg))
      value = f->getValue();
    else if (const auto *i = llvm::dyn_cast<IntegerExpr>(arg))
      value = double(i->getValue());
    if ((llvm::isa<FloatExpr>(arg) || llvm::isa<IntegerExpr>(arg)) &&
        (value < 0 || value > 1)) {
      diags.report(arg->getRange(), diag::InvalidValue,
                   {"'" + param.plainName().str() + "'",
                    "a fraction between 0 and 1 (or 0% to 100%)",
                    sourceTextOf(arg)});
      return types.error();
    }
  }
  // Adapter and optimizer settings with narrower ranges than their type.
  {
    std::optional<double> value;
    const Expr *e = arg;
    bool negative = false;
    if (const auto *u = llvm::dyn_cast<UnaryExpr>(e);
        u && u->getOp() == UnaryOp::Neg) {
      negative = true;
      e = u->getOperand();
    }
    if (const auto *f = llvm::dyn_cast<FloatExpr>(e))
      value = f->getValue();
    else if (const auto *i = llvm::dyn_cast<IntegerExpr>(e))
      value = double(i->getValue());
    else if (const auto *p = llvm::dyn_cast<PercentExpr>(e))
      value = p->getFraction();
    if (value && negative)
      value = -*value;
    StringRef name = param.plainName();
    const char *expected = nullptr;
    if (value && builtin.name == "sparse" && name == "density" &&
        !(*value > 0 && *value <= 1))
      expected = "above 0 and at most 1 (0% < density <= 100%)";
    if (value && builtin.name == "adamw" && name == "layer_decay" &&
        !(*value > 0 && *value <= 1))
      expected = "above 0 and at most 1 (1: no decay)";
    // A preference loss with beta 0 is a constant (and IPO divides by it).
    if (value && name == "beta" && !(*value > 0))
      expected = "above 0 (the inverse temperature of the preference loss)";
    if (value && (name == "regroup_every" || name == "refresh") && *value < 0)
      expected = "0 or a positive number of steps";
    if (expected) {
      diags.report(arg->getRange(), diag::InvalidValue,
                   {"'" + name.str() + "'", expected, sourceTextOf(arg)});
      return types.error();
    }
  }
  if (spec == "int")
    if (const auto *i = llvm::dyn_cast<IntegerExpr>(arg)) {
      static const StringRef positive[] = {
          "vocab", "dim",    "layers",     "heads",   "kv_heads", "ffn",
          "ctx",   "rank",   "tokens",     "seq",     "perm",     "ngram",
          "steps", "budget", "max_tokens", "workers", "memory",   "n"};
      if (llvm::is_contained(positive, param.plainName()) &&
          i->getValue() <= 0) {
        diags.report(arg->getRange(), diag::InvalidValue,
                     {"'" + param.plainName().str() + "'", "a positive integer",
                      std::to_string(i->getValue())});
        return types.error();
      }
    }
  if (spec.starts_with("data{"))
    if (!checkDataRequirement(builtin, spec, arg, type))
      return types.error();
  // Files and folders must exist.
  if ((spec == "path" || spec == "dir") && options.checkFiles)
    if (const auto *str = llvm::dyn_cast<StringExpr>(arg)) {
      std::string path = *resolvePath(str, ctx.baseDir);
      bool isDir = llvm::sys::fs::is_directory(path);
      bool exists = llvm::sys::fs::exists(path);
      if (!exists || (spec == "path" && isDir) || (spec == "dir" && !isDir)) {
        std::string kind = spec == "dir" ? "folder" : "file";
        if (exists)
          kind =
              spec == "dir" ? "folder (it is a file)" : "file (it is a folder)";
        diags.report(arg->getRange(), diag::FileNotFound,
                     {kind, str->getValue().str()});
        return types.error();
      }
    }
  return type;
}

const Type *SemaImpl::checkCall(const CallExpr *call, const Expr *pipedInput,
                                const ExprContext &ctx) {
  StringRef callee = call->getCallee();
  if (Symbol *symbol = lookup(callee)) {
    symbol->used = true;
    if (symbol->kind == Symbol::Kind::Function)
      return checkUserCall(symbol->function, call, pipedInput, ctx);
    std::string kind = symbol->type ? symbol->type->describe() : "a value";
    diags.report(call->getCalleeRange(), diag::NotCallable,
                 {callee.str(), kind});
    return types.error();
  }
  const Builtin *builtin = lookupBuiltin(callee);
  if (!builtin) {
    reportUnknownName(callee, call->getCalleeRange(), /*isCall=*/true);
    // Still check the arguments for independent errors.
    for (const Argument &arg : call->getArgs())
      checkExpr(arg.value, ctx);
    return types.error();
  }
  if (pipedInput && !builtin->isDataOperator()) {
    diags.report(call->getCalleeRange(), diag::NotADataOperator,
                 {callee.str()});
    return types.error();
  }
  info.userCalls[call] = nullptr;
  return checkBuiltinCall(*builtin, call, pipedInput, ctx);
}

bool SemaImpl::checkBalance(const CallExpr *call,
                            llvm::ArrayRef<const Expr *> bound,
                            llvm::ArrayRef<const Expr *> terms) {
  // bound: *terms, by, val, warmup, history, tau, every.
  const Builtin *builtin = lookupBuiltin("balance");
  auto index = [&](StringRef name) {
    for (size_t i = 0; i < builtin->params.size(); ++i)
      if (builtin->params[i].plainName() == name)
        return i;
    llvm_unreachable("balance parameter");
  };
  std::string by = "loss_scale";
  if (const Expr *e = bound[index("by")])
    if (const auto *s = llvm::dyn_cast<StringExpr>(e))
      by = s->getValue().str();
    else if (const auto *n = llvm::dyn_cast<NameExpr>(e))
      by = n->getName().str();
  const Expr *val = bound[index("val")];
  if (by != "coba") {
    for (StringRef name : {"val", "warmup", "history", "tau", "every"})
      if (const Expr *e = bound[index(name)]) {
        diags.report(e->getRange(), diag::BalanceSettings,
                     {"'" + name.str() +
                      ":' is read by balance(by: coba) "
                      "alone, not by '" +
                      by + "'"});
        return false;
      }
    return true;
  }
  const auto *list = val ? llvm::dyn_cast<ListExpr>(val) : nullptr;
  if (!val || (list && list->getElements().size() != terms.size())) {
    diags.report(val ? val->getRange() : call->getCalleeRange(),
                 diag::BalanceSettings,
                 {"balance(by: coba) needs each task's validation data, one "
                  "per term in term order (val: [...]): " +
                  std::to_string(terms.size()) + " terms, " +
                  std::to_string(list ? list->getElements().size() : 0) +
                  " validation sets"});
    return false;
  }
  return true;
}

const Type *SemaImpl::checkBuiltinCall(const Builtin &builtin,
                                       const CallExpr *call,
                                       const Expr *pipedInput,
                                       const ExprContext &ctx) {
  llvm::ArrayRef<BuiltinParam> params = builtin.params;
  std::vector<const Expr *> bound(params.size(), nullptr);
  std::vector<SMRange> boundRanges(params.size());
  std::vector<const Expr *> variadic;
  std::vector<std::pair<Argument, const Type *>> extraKeywords;
  const BuiltinParam *variadicKeyword = nullptr;
  int variadicIndex = -1;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].isVariadicKeyword())
      variadicKeyword = &params[i];
    if (params[i].isVariadicPositional())
      variadicIndex = int(i);
  }
  bool ok = true;

  // Positional arguments (a piped input is the first).
  std::vector<const Expr *> positional;
  if (pipedInput)
    positional.push_back(pipedInput);
  for (const Argument &arg : call->getArgs())
    if (!arg.isKeyword())
      positional.push_back(arg.value);
  size_t next = 0;
  for (const Expr *value : positional) {
    while (next < params.size() && params[next].isVariadicKeyword())
      ++next;
    if (next < params.size() && int(next) == variadicIndex) {
      variadic.push_back(value);
      continue;
    }
    if (next >= params.size()) {
      size_t maxPositional = llvm::count_if(
          params, [](const BuiltinParam &p) { return !p.isVariadicKeyword(); });
      diags
          .report(value->getRange(), diag::TooManyArguments,
                  {builtin.name.str(), std::to_string(maxPositional),
                   std::to_string(positional.size())})
          .attachNote(call->getCalleeRange(), diag::NoteSeeSignature,
                      {builtin.signature()});
      ok = false;
      break;
    }
    bound[next] = value;
    boundRanges[next] = value->getRange();
    ++next;
  }

  // Keyword arguments.
  for (const Argument &arg : call->getArgs()) {
    if (!arg.isKeyword())
      continue;
    int index = -1;
    for (size_t i = 0; i < params.size(); ++i)
      if (!params[i].isVariadicKeyword() && !params[i].isVariadicPositional() &&
          params[i].plainName() == arg.name)
        index = int(i);
    if (index < 0) {
      if (variadicKeyword) {
        for (auto &[other, type] : extraKeywords)
          if (other.name == arg.name) {
            diags.report(arg.nameRange, diag::DuplicateArgument,
                         {arg.name.str(), builtin.name.str()});
            ok = false;
          }
        extraKeywords.push_back({arg, nullptr});
        continue;
      }
      std::vector<std::string> names;
      for (const BuiltinParam &p : params)
        names.push_back(p.plainName().str());
      auto diag = diags.report(arg.nameRange, diag::UnknownKeywordArgument,
                               {builtin.name.str(), arg.name.str()});
      std::string s = suggestName(arg.name, names);
      if (!s.empty())
        diag.attachNote(arg.nameRange, diag::NoteDidYouMean, {s});
      else
        diag.attachNote(call->getCalleeRange(), diag::NoteSeeSignature,
                        {builtin.signature()});
      checkExpr(arg.value, ctx);
      ok = false;
      continue;
    }
    if (bound[index]) {
      diags.report(arg.nameRange, diag::DuplicateArgument,
                   {arg.name.str(), builtin.name.str()});
      ok = false;
      continue;
    }
    bound[index] = arg.value;
    boundRanges[index] = arg.nameRange;
  }

  // Required parameters (unless a misspelt keyword probably meant one).
  bool misspelt = !ok;
  for (size_t i = 0; i < params.size() && !misspelt; ++i) {
    const BuiltinParam &p = params[i];
    if (!p.isRequired())
      continue;
    bool missing = p.isVariadicKeyword()      ? extraKeywords.empty()
                   : p.isVariadicPositional() ? variadic.empty()
                                              : !bound[i];
    if (!missing)
      continue;
    diags
        .report(call->getCalleeRange(), diag::MissingArgument,
                {builtin.name.str(), p.plainName().str()})
        .attachNote(call->getCalleeRange(), diag::NoteSeeSignature,
                    {builtin.signature()});
    ok = false;
  }

  // Check argument values in parameter order. After the first parameter,
  // field references refer to the records of the input data (data operators,
  // losses) or of the file being read (jsonl).
  ExprContext argCtx = ctx;
  DataSchema fileSchema;
  std::vector<const Type *> boundTypes(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    const BuiltinParam &p = params[i];
    if (p.isVariadicPositional()) {
      for (const Expr *value : variadic)
        checkArgument(builtin, p, value, argCtx);
      continue;
    }
    if (p.isVariadicKeyword()) {
      for (auto &[arg, type] : extraKeywords) {
        if (builtin.name == "mixture") {
          // The keyword names the source dataset.
          Symbol *source = lookup(arg.name);
          if (!source) {
            reportUnknownName(arg.name, arg.nameRange, false);
            ok = false;
          } else {
            source->used = true;
            if (!source->type->isError() &&
                !source->type->is(Type::Kind::Data)) {
              diags.report(
                  arg.nameRange, diag::TypeMismatch,
                  {"a mixture source", "data", source->type->describe()});
              ok = false;
            }
          }
        }
        type = checkArgument(builtin, p, arg.value, argCtx);
        if (type->isError())
          ok = false;
      }
      continue;
    }
    if (!bound[i])
      continue;
    boundTypes[i] = checkArgument(builtin, p, bound[i], argCtx);
    if (boundTypes[i]->isError())
      ok = false;
    if (i != 0)
      continue;
    if (boundTypes[0]->is(Type::Kind::Data) && boundTypes[0]->getSchema()) {
      argCtx.record = boundTypes[0]->getSchema();
    } else if (builtin.name == "jsonl") {
      // Field mappings refer to the raw fields of the file's records.
      fileSchema.open = true;
      if (const auto *str = llvm::dyn_cast<StringExpr>(bound[0]))
        if (options.checkFiles && !boundTypes[0]->isError()) {
          std::string error;
          std::vector<std::string> fields;
          if (peekJsonlFields(info.resolvedPaths[str], fields, error)) {
            fileSchema.fields = fields;
            fileSchema.open = false;
          } else {
            diags.report(bound[0]->getRange(), diag::BadDataFile,
                         {str->getValue().str(), error});
            ok = false;
          }
          fileSchema.origin = str->getValue().str();
        }
      argCtx.record = &fileSchema;
    }
  }
  if (ok && builtin.name == "balance" && !checkBalance(call, bound, variadic))
    ok = false;
  if (!ok)
    return types.error();
  return computeResult(builtin, call, bound, boundTypes, extraKeywords, argCtx);
}

const Type *SemaImpl::checkUserCall(const DefStmt *def, const CallExpr *call,
                                    const Expr *pipedInput,
                                    const ExprContext &ctx) {
  info.userCalls[call] = def;
  if (llvm::is_contained(instantiating, def)) {
    diags.report(call->getCalleeRange(), diag::RecursiveCall,
                 {def->getName().str()});
    return types.error();
  }
  llvm::ArrayRef<Param> params = def->getParams();
  std::vector<const Expr *> bound(params.size(), nullptr);
  std::vector<const Expr *> positional;
  if (pipedInput)
    positional.push_back(pipedInput);
  for (const Argument &arg : call->getArgs())
    if (!arg.isKeyword())
      positional.push_back(arg.value);
  bool ok = true;
  std::string signature = def->getName().str() + "(";
  for (size_t i = 0; i < params.size(); ++i)
    signature += (i ? ", " : "") + params[i].name.str() + ": " +
                 params[i].typeName.str();
  signature += ")";
  for (size_t i = 0; i < positional.size(); ++i) {
    if (i >= params.size()) {
      diags
          .report(positional[i]->getRange(), diag::TooManyArguments,
                  {def->getName().str(), std::to_string(params.size()),
                   std::to_string(positional.size())})
          .attachNote(def->getNameRange(), diag::NoteSeeSignature, {signature});
      ok = false;
      break;
    }
    bound[i] = positional[i];
  }
  for (const Argument &arg : call->getArgs()) {
    if (!arg.isKeyword())
      continue;
    auto it = llvm::find_if(params,
                            [&](const Param &p) { return p.name == arg.name; });
    if (it == params.end()) {
      diags
          .report(arg.nameRange, diag::UnknownKeywordArgument,
                  {def->getName().str(), arg.name.str()})
          .attachNote(def->getNameRange(), diag::NoteSeeSignature, {signature});
      ok = false;
      continue;
    }
    size_t index = it - params.begin();
    if (bound[index]) {
      diags.report(arg.nameRange, diag::DuplicateArgument,
                   {arg.name.str(), def->getName().str()});
      ok = false;
      continue;
    }
    bound[index] = arg.value;
  }
  std::vector<const Type *> argTypes(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    if (!bound[i]) {
      diags
          .report(call->getCalleeRange(), diag::MissingArgument,
                  {def->getName().str(), params[i].name.str()})
          .attachNote(def->getNameRange(), diag::NoteSeeSignature, {signature});
      ok = false;
      continue;
    }
    const Type *type = checkExpr(bound[i], ctx);
    const Type *expected = typeFromName(params[i].typeName);
    argTypes[i] = type;
    if (!expected || type->isError())
      continue;
    bool accepted = type->getKind() == expected->getKind() ||
                    (expected->is(Type::Kind::Number) && type->isNumeric()) ||
                    (expected->is(Type::Kind::Metric) && type->isNumeric());
    if (!accepted) {
      diags
          .report(bound[i]->getRange(), diag::TypeMismatch,
                  {"argument '" + params[i].name.str() + "' of '" +
                       def->getName().str() + "'",
                   expected->describe(), type->describe()})
          .attachNote(def->getNameRange(), diag::NoteSeeSignature, {signature});
      ok = false;
    }
  }
  if (!ok)
    return types.error();
  if (instantiating.size() >= maxCallDepth) {
    diags.report(call->getCalleeRange(), diag::NestingTooDeep,
                 {"function calls", std::to_string(maxCallDepth),
                  "call fewer functions inside each other"});
    return types.error();
  }
  // Check the body with the argument types, so data fields and model shapes
  // are known inside (once per distinct set of argument types).
  if (!checkedInstances.insert({def, argTypes}).second)
    return types.get(Type::Kind::Void);
  instantiating.push_back(def);
  checkFunctionBody(def, argTypes);
  instantiating.pop_back();
  return types.get(Type::Kind::Void);
}

//===----------------------------------------------------------------------===//
// Result types
//===----------------------------------------------------------------------===//

static std::optional<int64_t> literalInt(const Expr *e) {
  if (!e)
    return std::nullopt;
  if (const auto *i = llvm::dyn_cast<IntegerExpr>(e))
    return i->getValue();
  return std::nullopt;
}

static std::optional<bool> literalBool(const Expr *e) {
  if (!e)
    return std::nullopt;
  if (const auto *b = llvm::dyn_cast<BoolExpr>(e))
    return b->getValue();
  return std::nullopt;
}

const Type *SemaImpl::modelFromArgs(const Builtin &builtin,
                                    const CallExpr *call,
                                    llvm::ArrayRef<const Expr *> args) {
  auto arg = [&](StringRef name) -> const Expr * {
    for (size_t i = 0; i < builtin.params.size(); ++i)
      if (builtin.params[i].plainName() == name)
        return args[i];
    return nullptr;
  };
  ModelInfo model;
  bool known = true, tooLarge = false;
  auto intArg = [&](StringRef name, int64_t fallback) {
    const Expr *e = arg(name);
    if (!e)
      return fallback;
    std::optional<int64_t> v = literalInt(e);
    if (!v)
      known = false;
    int64_t limit = name == "layers" ? maxModelLayers : maxModelSize;
    if (v && *v > limit) {
      diags.report(e->getRange(), diag::InvalidValue,
                   {"'" + name.str() + "'", "at most " + std::to_string(limit),
                    std::to_string(*v)});
      tooLarge = true;
      return fallback;
    }
    return v.value_or(fallback);
  };
  if (builtin.name == "llama") {
    model.arch = ModelInfo::Arch::Llama;
    model.vocab = intArg("vocab", 0);
    model.dim = intArg("dim", 0);
    model.layers = intArg("layers", 0);
    model.heads = intArg("heads", 0);
    model.kvHeads = intArg("kv_heads", model.heads);
    int64_t defaultFfn = ((8 * model.dim / 3) + 7) / 8 * 8;
    model.ffn = intArg("ffn", defaultFfn);
    model.ctx = intArg("ctx", 2048);
    model.tied = literalBool(arg("tied")).value_or(false);
    model.qkvBias = literalBool(arg("qkv_bias")).value_or(false);
  } else {
    model.arch = ModelInfo::Arch::GPT2;
    model.vocab = intArg("vocab", 50257);
    model.dim = intArg("dim", 768);
    model.layers = intArg("layers", 12);
    model.heads = intArg("heads", 12);
    model.kvHeads = model.heads;
    model.ffn = 4 * model.dim;
    model.ctx = intArg("ctx", 1024);
    model.tied = true;
    model.qkvBias = true;
  }
  model.source = sourceTextOf(call);
  if (tooLarge)
    return types.error();
  if (!known)
    return types.getModel(nullptr);
  // Shapes must fit together.
  if (model.heads > 0 && model.dim % model.heads != 0) {
    const Expr *e = arg("dim") ? arg("dim") : call;
    diags.report(e->getRange(), diag::InvalidValue,
                 {"'dim'",
                  "a multiple of 'heads' (" + std::to_string(model.heads) + ")",
                  std::to_string(model.dim)});
    return types.error();
  }
  if (model.kvHeads > 0 && model.heads % model.kvHeads != 0) {
    const Expr *e = arg("kv_heads") ? arg("kv_heads") : call;
    diags.report(e->getRange(), diag::InvalidValue,
                 {"'kv_heads'",
                  "a divisor of 'heads' (" + std::to_string(model.heads) + ")",
                  std::to_string(model.kvHeads)});
    return types.error();
  }
  return types.getModel(types.addModelInfo(model));
}

const Type *SemaImpl::computeResult(
    const Builtin &builtin, const CallExpr *call,
    llvm::ArrayRef<const Expr *> bound, llvm::ArrayRef<const Type *> boundTypes,
    const std::vector<std::pair<Argument, const Type *>> &extraKeywords,
    const ExprContext &ctx) {
  using K = Type::Kind;
  StringRef rule = builtin.result;
  const Type *input = boundTypes.empty() ? nullptr : boundTypes[0];
  auto inputSchema = [&]() -> DataSchema {
    if (input && input->is(K::Data) && input->getSchema()) {
      DataSchema schema = *input->getSchema();
      schema.parts.clear();
      return schema;
    }
    DataSchema schema;
    schema.open = true;
    return schema;
  };
  auto argNamed = [&](StringRef name) -> const Expr * {
    for (size_t i = 0; i < builtin.params.size(); ++i)
      if (builtin.params[i].plainName() == name)
        return bound[i];
    return nullptr;
  };

  if (builtin.name == "llama" || builtin.name == "gpt2")
    return modelFromArgs(builtin, call, bound);
  if (builtin.name == "snapshot" || builtin.name == "frozen" ||
      builtin.name == "merge")
    return input && input->is(K::Model) ? input : types.getModel(nullptr);

  if (rule == "@same") {
    if (input && input->is(K::Data) && input->getSchema() &&
        input->getSchema()->parts.empty())
      return input;
    return types.getData(inputSchema());
  }
  if (rule == "@load") {
    const auto *str = llvm::dyn_cast_or_null<StringExpr>(bound[0]);
    if (!str || !options.checkFiles)
      return types.getModel(nullptr);
    ModelInfo model;
    bool isAdapter = false;
    std::string error;
    if (!readModelFolder(info.resolvedPaths[str], model, isAdapter, error)) {
      diags.report(bound[0]->getRange(), diag::BadModelFolder,
                   {str->getValue().str(), error});
      return types.error();
    }
    if (isAdapter)
      return types.get(K::Adapter);
    model.source = str->getValue().str();
    return types.getModel(types.addModelInfo(model));
  }
  if (rule == "@jsonl") {
    DataSchema schema = ctx.record ? *ctx.record : DataSchema();
    for (const auto &[arg, type] : extraKeywords)
      if (!schema.hasField(arg.name))
        schema.fields.push_back(arg.name.str());
    return types.getData(std::move(schema));
  }
  if (rule == "@mixture") {
    DataSchema schema;
    bool first = true;
    for (const auto &[arg, type] : extraKeywords) {
      Symbol *source = lookup(arg.name);
      if (!source || !source->type->is(K::Data) || !source->type->getSchema())
        continue;
      const DataSchema &s = *source->type->getSchema();
      if (first) {
        schema.fields = s.fields;
        schema.open = s.open;
        first = false;
        continue;
      }
      std::vector<std::string> common;
      for (const std::string &f : schema.fields)
        if (s.hasField(f))
          common.push_back(f);
      schema.fields = common;
      schema.open = schema.open || s.open;
    }
    // Ratios must make sense.
    double sum = 0;
    bool literal = true;
    for (const auto &[arg, type] : extraKeywords) {
      if (const auto *f = llvm::dyn_cast<FloatExpr>(arg.value))
        sum += f->getValue();
      else if (const auto *p = llvm::dyn_cast<PercentExpr>(arg.value))
        sum += p->getFraction();
      else if (const auto *i = llvm::dyn_cast<IntegerExpr>(arg.value))
        sum += double(i->getValue());
      else
        literal = false;
    }
    if (literal && std::fabs(sum - 1.0) > 1e-6) {
      char buffer[32];
      snprintf(buffer, sizeof(buffer), "%g", sum);
      diags.report(call->getRange(), diag::MixtureRatios, {buffer});
      return types.error();
    }
    schema.fields.push_back("task");
    return types.getData(std::move(schema));
  }
  if (rule == "@map" || rule == "@template" || rule == "@tag") {
    DataSchema schema = inputSchema();
    std::vector<std::string> added;
    if (rule == "@map")
      for (const auto &[arg, type] : extraKeywords)
        added.push_back(arg.name.str());
    if (rule == "@tag")
      added.push_back("task");
    if (rule == "@template") {
      const Expr *into = argNamed("into");
      const auto *intoStr = llvm::dyn_cast_or_null<StringExpr>(into);
      added.push_back(intoStr ? intoStr->getValue().str() : "text");
      // Placeholders must name fields.
      if (const auto *format =
              llvm::dyn_cast_or_null<StringExpr>(argNamed("format"))) {
        StringRef text = format->getValue();
        for (size_t open = text.find('{'); open != StringRef::npos;
             open = text.find('{', open + 1)) {
          size_t close = text.find('}', open);
          if (close == StringRef::npos)
            break;
          StringRef field = text.slice(open + 1, close);
          if (!schema.open && !schema.hasField(field)) {
            auto diag =
                diags.report(format->getRange(), diag::MissingField,
                             {schema.origin.empty() ? "records" : schema.origin,
                              field.str()});
            std::string s = suggestName(field, schema.fields);
            if (!s.empty())
              diag.attachNote(format->getRange(), diag::NoteDidYouMean, {s});
            return types.error();
          }
        }
      }
    }
    for (std::string &f : added)
      if (!schema.hasField(f))
        schema.fields.push_back(std::move(f));
    return types.getData(std::move(schema));
  }
  if (rule == "@split") {
    DataSchema schema = inputSchema();
    double total = 0;
    for (const auto &[arg, type] : extraKeywords) {
      schema.parts.push_back(arg.name.str());
      if (const auto *p = llvm::dyn_cast<PercentExpr>(arg.value))
        total += p->getFraction();
      else if (const auto *f = llvm::dyn_cast<FloatExpr>(arg.value))
        total += f->getValue();
    }
    if (total > 1.0 + 1e-9) {
      diags.report(call->getRange(), diag::InvalidValue,
                   {"the parts of 'split'", "at most 100% in total",
                    std::to_string(int(std::lround(total * 100))) + "%"});
      return types.error();
    }
    if (!llvm::is_contained(schema.parts, "train"))
      schema.parts.insert(schema.parts.begin(), "train");
    return types.getData(std::move(schema));
  }
  if (rule == "@len")
    return types.getRecord(types.get(K::Int));
  if (rule == "@exact") {
    if (input && input->is(K::Column))
      return types.get(K::Judge);
    return types.get(K::DedupKey);
  }
  if (rule == "@generate") {
    DataSchema schema;
    if (input && input->is(K::Column) && input->getSchema())
      schema = *input->getSchema();
    else if (input && input->is(K::Data) && input->getSchema())
      schema = *input->getSchema();
    else
      schema.open = true;
    schema.parts.clear();
    schema.origin.clear();
    // The sample becomes the response (so `sft(samples)` trains on it); a
    // reference response of the prompt's record is kept as `reference`.
    for (std::string &f : schema.fields)
      if (f == "response")
        f = "reference";
    for (const char *f : {"prompt", "response", "sample_index"})
      if (!schema.hasField(f))
        schema.fields.push_back(f);
    return types.getData(std::move(schema));
  }
  if (rule == "@judge") {
    DataSchema schema = inputSchema();
    schema.origin.clear();
    for (const char *f : {"score", "pass", "feedback"})
      if (!schema.hasField(f))
        schema.fields.push_back(f);
    schema.parts = {"pass", "fail"};
    return types.getData(std::move(schema));
  }
  // A fixed result spec.
  if (rule.starts_with("data{")) {
    DataSchema schema;
    for (const auto &alt : dataRequirement(rule))
      for (const std::string &f : alt)
        schema.fields.push_back(f);
    return types.getData(std::move(schema));
  }
  if (rule == "record<number>")
    return types.getRecord(types.get(K::Number));
  static const std::pair<StringRef, K> simple[] = {
      {"model", K::Model},
      {"tokenizer", K::Tokenizer},
      {"adapter", K::Adapter},
      {"objective", K::Objective},
      {"optimizer", K::Optimizer},
      {"schedule", K::Schedule},
      {"metric", K::Metric},
      {"judge", K::Judge},
      {"dedupkey", K::DedupKey},
      {"mask", K::Mask},
      {"tokweights", K::TokenWeights},
      {"selection", K::Selection},
      {"percentile", K::Percentile},
  };
  for (auto &[name, kind] : simple)
    if (rule == name)
      return types.get(kind);
  return types.get(K::Any);
}
