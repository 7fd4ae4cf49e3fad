//===- Sema.cpp - Semantic analysis: modules, scopes, statements ----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include "ftl/Lang/Parser.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"

#include <functional>

using namespace ftl::lang;
using llvm::SMRange;
using llvm::StringRef;

#ifndef FTL_STDLIB_DIR
#define FTL_STDLIB_DIR ""
#endif

std::vector<std::string> ftl::lang::defaultStdlibPaths() {
  std::vector<std::string> paths;
  if (auto env = llvm::sys::Process::GetEnv("FTL_STDLIB"))
    paths.push_back(*env);
  if (StringRef(FTL_STDLIB_DIR).size())
    paths.push_back(FTL_STDLIB_DIR);
  return paths;
}

llvm::LogicalResult
ftl::lang::checkProgram(unsigned bufferId, ASTContext &context,
                        TypeContext &types, DiagnosticEngine &diags,
                        const SemaOptions &options, Program &out) {
  unsigned errorsBefore = diags.getNumErrors();
  SemaImpl sema(context, types, diags, options, out);
  sema.checkMainModule(bufferId);
  return llvm::failure(diags.getNumErrors() != errorsBefore);
}

SemaImpl::SemaImpl(ASTContext &context, TypeContext &types,
                   DiagnosticEngine &diags, const SemaOptions &options,
                   Program &program)
    : context(context), types(types), diags(diags), options(options),
      program(program), info(program.info) {}

//===----------------------------------------------------------------------===//
// Modules
//===----------------------------------------------------------------------===//

/// The keyword a statement starts with, for messages.
static StringRef stmtKeyword(const Stmt *stmt) {
  switch (stmt->getKind()) {
  case Stmt::Kind::Seed:
    return "seed";
  case Stmt::Kind::Binding:
    return spelling(llvm::cast<BindingStmt>(stmt)->getBindingKind());
  case Stmt::Kind::Adapter:
    return "adapter";
  case Stmt::Kind::Freeze:
    return "freeze";
  case Stmt::Kind::Train:
    return "train";
  case Stmt::Kind::Loop:
    return "loop";
  case Stmt::Kind::Log:
    return "log";
  case Stmt::Kind::Save:
    return "save";
  case Stmt::Kind::Def:
    return "def";
  case Stmt::Kind::Import:
    return "import";
  case Stmt::Kind::Append:
    return "+=";
  case Stmt::Kind::ExprStmt:
    return "a call";
  }
  return "statement";
}

void SemaImpl::checkMainModule(unsigned bufferId) {
  program.main = parseModule(bufferId, context, diags);
  llvm::SmallString<256> absolute(program.main.path);
  llvm::sys::fs::make_absolute(absolute);
  moduleStack.push_back(absolute.str().str());
  functionTables.emplace_back();
  pushScope();
  checkModule(program.main, /*isMain=*/true, functionTables.back());
  popScope(options.warnUnused);
  moduleStack.pop_back();
}

const SemaImpl::FunctionTable *SemaImpl::loadModule(StringRef path,
                                                    StringRef displayName,
                                                    SMRange importRange) {
  llvm::SmallString<256> absolute(path);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  std::string key = absolute.str().str();
  if (llvm::is_contained(moduleStack, key)) {
    diags.report(importRange, diag::ImportCycle, {displayName.str()});
    return nullptr;
  }
  auto it = loadedModules.find(key);
  if (it != loadedModules.end())
    return it->second;

  auto buffer = llvm::MemoryBuffer::getFile(key);
  if (!buffer) {
    diags.report(importRange, diag::ImportNotFound, {displayName.str()})
        .attachNote(importRange, diag::NoteSearchedPaths, {"'" + key + "'"});
    return nullptr;
  }
  llvm::SourceMgr &sourceMgr = diags.getSourceMgr();
  unsigned id =
      sourceMgr.AddNewSourceBuffer(std::move(*buffer), importRange.Start);
  program.imports.push_back(parseModule(id, context, diags));
  const Module &module = program.imports.back();

  // An imported module is checked in its own scope stack.
  moduleStack.push_back(key);
  std::deque<Scope> saved;
  saved.swap(scopes);
  const FunctionTable *savedBody = bodyFunctions;
  bodyFunctions = nullptr;
  FunctionTable *savedTable = currentTable;
  bool wasImported = inImportedModule;
  inImportedModule = true;
  functionTables.emplace_back();
  FunctionTable &table = functionTables.back();
  pushScope();
  checkModule(module, /*isMain=*/false, table);
  scopes.clear();
  scopes.swap(saved);
  bodyFunctions = savedBody;
  currentTable = savedTable;
  inImportedModule = wasImported;
  moduleStack.pop_back();
  loadedModules[key] = &table;
  return &table;
}

void SemaImpl::checkModule(const Module &module, bool isMain,
                           FunctionTable &table) {
  currentTable = &table;
  // Functions are visible in the whole file (hoisted); everything else is
  // visible after its definition.
  for (const Stmt *stmt : module.stmts)
    if (const auto *def = llvm::dyn_cast<DefStmt>(stmt))
      declareFunction(def);
  for (const Stmt *stmt : module.stmts) {
    if (!isMain && !llvm::isa<DefStmt>(stmt) && !llvm::isa<ImportStmt>(stmt)) {
      diags.report(stmt->getRange(), diag::StatementNotAllowed,
                   {stmtKeyword(stmt).str(),
                    "an imported module (only 'def' and 'import')"});
      continue;
    }
    checkStmt(stmt);
  }
}

//===----------------------------------------------------------------------===//
// Scopes
//===----------------------------------------------------------------------===//

Symbol *SemaImpl::lookup(StringRef name) {
  for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
    auto found = it->symbols.find(name);
    if (found != it->symbols.end())
      return &found->second;
  }
  // Inside a function body, the functions of its module come last.
  if (bodyFunctions) {
    auto found = bodyFunctions->functions.find(name);
    if (found != bodyFunctions->functions.end())
      return const_cast<Symbol *>(&found->second);
  }
  return nullptr;
}

bool SemaImpl::declare(StringRef name, Symbol symbol) {
  Scope &scope = scopes.back();
  auto it = scope.symbols.find(name);
  if (it != scope.symbols.end()) {
    diags.report(symbol.nameRange, diag::Redefinition, {name.str()})
        .attachNote(it->second.nameRange, diag::NotePreviousDefinition,
                    {name.str()});
    return false;
  }
  scope.symbols[name] = std::move(symbol);
  scope.order.push_back(name.str());
  return true;
}

void SemaImpl::popScope(bool warnUnused) {
  Scope &scope = scopes.back();
  if (warnUnused && functionDepth == 0 && instantiating.empty()) {
    for (const std::string &name : scope.order) {
      const Symbol &symbol = scope.symbols[name];
      if (symbol.used || symbol.kind != Symbol::Kind::Binding)
        continue;
      // Tokenizers are used implicitly by data operators and training;
      // evals are actions (they run and are logged) even if never named.
      if (symbol.what == "tokenizer" || symbol.what == "eval" ||
          symbol.what == "model")
        continue;
      diags.report(symbol.nameRange, diag::UnusedDefinition,
                   {symbol.what, name});
    }
  }
  scopes.pop_back();
}

std::vector<std::string> SemaImpl::visibleNames() const {
  std::vector<std::string> names;
  if (bodyFunctions)
    for (const auto &entry : bodyFunctions->functions)
      names.push_back(entry.first().str());
  for (const Scope &scope : scopes)
    for (const std::string &name : scope.order)
      names.push_back(name);
  return names;
}

void SemaImpl::reportUnknownName(StringRef name, SMRange range, bool isCall) {
  std::vector<std::string> candidates = visibleNames();
  if (isCall)
    for (const Builtin &b : getBuiltins())
      candidates.push_back(b.name.str());
  auto diag = diags.report(
      range, isCall ? diag::UnknownFunction : diag::UnknownName, {name.str()});
  std::string suggestion = suggestName(name, candidates);
  if (!suggestion.empty())
    diag.attachNote(range, diag::NoteDidYouMean, {suggestion});
}

std::string SemaImpl::baseDirOf(llvm::SMLoc loc) {
  llvm::SourceMgr &sourceMgr = diags.getSourceMgr();
  unsigned id = loc.isValid() ? sourceMgr.FindBufferContainingLoc(loc) : 0;
  if (!id)
    id = program.main.bufferId;
  if (!id)
    return ".";
  StringRef file = sourceMgr.getMemoryBuffer(id)->getBufferIdentifier();
  StringRef dir = llvm::sys::path::parent_path(file);
  return dir.empty() ? "." : dir.str();
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

void SemaImpl::checkStmts(llvm::ArrayRef<const Stmt *> stmts) {
  for (const Stmt *stmt : stmts)
    checkStmt(stmt);
}

void SemaImpl::checkStmt(const Stmt *stmt) {
  if (!enterCheck(stmt->getRange()))
    return;
  checkStmtImpl(stmt);
  --checkDepth;
}

void SemaImpl::checkStmtImpl(const Stmt *stmt) {
  ExprContext ctx;
  std::string base = baseDirOf(stmt->getLoc());
  ctx.baseDir = base;
  switch (stmt->getKind()) {
  case Stmt::Kind::Seed:
    return checkSeed(llvm::cast<SeedStmt>(stmt));
  case Stmt::Kind::Binding:
    return checkBinding(llvm::cast<BindingStmt>(stmt));
  case Stmt::Kind::Adapter:
    return checkAdapter(llvm::cast<AdapterStmt>(stmt));
  case Stmt::Kind::Freeze:
    return checkFreeze(llvm::cast<FreezeStmt>(stmt));
  case Stmt::Kind::Train:
    return checkTrain(llvm::cast<TrainStmt>(stmt));
  case Stmt::Kind::Loop:
    return checkLoop(llvm::cast<LoopStmt>(stmt));
  case Stmt::Kind::Log:
    for (const Expr *value : llvm::cast<LogStmt>(stmt)->getValues())
      if (checkExpr(value, ctx)->is(Type::Kind::Void))
        reportNoValue(value, "'log'");
    return;
  case Stmt::Kind::Save:
    return checkSave(llvm::cast<SaveStmt>(stmt));
  case Stmt::Kind::Def: {
    const auto *def = llvm::cast<DefStmt>(stmt);
    // Check the body once with the declared parameter types; calls check it
    // again with the argument types (diagnostics are reported once).
    std::vector<const Type *> paramTypes;
    for (const Param &param : def->getParams())
      paramTypes.push_back(typeFromName(param.typeName));
    checkFunctionBody(def, paramTypes);
    return;
  }
  case Stmt::Kind::Import:
    return checkImport(llvm::cast<ImportStmt>(stmt));
  case Stmt::Kind::Append:
    return checkAppend(llvm::cast<AppendStmt>(stmt));
  case Stmt::Kind::ExprStmt:
    checkExpr(llvm::cast<ExprStmt>(stmt)->getExpr(), ctx);
    return;
  }
}

void SemaImpl::reportNoValue(const Expr *value, const std::string &user) {
  std::string found = "nothing";
  if (const auto *call = llvm::dyn_cast<CallExpr>(value))
    found =
        "a call to '" + call->getCallee().str() + "', which returns nothing";
  diags.report(value->getRange(), diag::TypeMismatch, {user, "a value", found});
}

void SemaImpl::checkSeed(const SeedStmt *stmt) {
  if (seedStmt) {
    diags.report(stmt->getRange(), diag::DuplicateSeed)
        .attachNote(seedStmt->getRange(), diag::NotePreviousDefinition,
                    {"seed"});
    return;
  }
  seedStmt = stmt;
  const auto *value = llvm::dyn_cast<IntegerExpr>(stmt->getValue());
  if (!value || value->getValue() < 0) {
    diags.report(
        stmt->getValue()->getRange(), diag::InvalidValue,
        {"the seed", "a non-negative integer literal",
         "'" +
             std::string(stmt->getValue()->getRange().Start.getPointer(),
                         stmt->getValue()->getRange().End.getPointer()) +
             "'"});
    return;
  }
  info.seed = value->getValue();
  info.hasSeed = true;
}

static Type::Kind expectedKindFor(BindingKind kind) {
  switch (kind) {
  case BindingKind::Model:
    return Type::Kind::Model;
  case BindingKind::Tokenizer:
    return Type::Kind::Tokenizer;
  case BindingKind::Data:
    return Type::Kind::Data;
  case BindingKind::Objective:
    return Type::Kind::Objective;
  case BindingKind::Eval:
    return Type::Kind::Metric;
  case BindingKind::Let:
    return Type::Kind::Any;
  }
  return Type::Kind::Any;
}

void SemaImpl::checkBinding(const BindingStmt *stmt) {
  ExprContext ctx;
  std::string base = baseDirOf(stmt->getLoc());
  ctx.baseDir = base;
  const Type *type = checkExpr(stmt->getValue(), ctx);
  Type::Kind expected = expectedKindFor(stmt->getBindingKind());
  bool ok = type->isError() || expected == Type::Kind::Any ||
            type->is(expected) ||
            (expected == Type::Kind::Metric && type->isNumeric());
  if (!ok) {
    std::string what = "'" + spelling(stmt->getBindingKind()).str() + " " +
                       stmt->getName().str() + "'";
    diags.report(stmt->getValue()->getRange(), diag::TypeMismatch,
                 {what, types.get(expected)->describe(), type->describe()});
    type = types.error();
  }
  if (stmt->getBindingKind() == BindingKind::Let &&
      type->is(Type::Kind::Void)) {
    reportNoValue(stmt->getValue(), "'let " + stmt->getName().str() + "'");
    type = types.error();
  }
  // Data keeps its binding name for messages.
  if (type->is(Type::Kind::Data) && type->getSchema()) {
    DataSchema schema = *type->getSchema();
    schema.origin = stmt->getName().str();
    type = types.getData(std::move(schema));
  }
  Symbol symbol;
  symbol.kind = Symbol::Kind::Binding;
  symbol.decl = stmt;
  symbol.nameRange = stmt->getNameRange();
  symbol.type = type;
  symbol.what = spelling(stmt->getBindingKind()).str();
  if (stmt->getBindingKind() == BindingKind::Let)
    symbol.what = "let binding";
  declare(stmt->getName(), symbol);
}

void SemaImpl::declareFunction(const DefStmt *stmt) {
  Symbol symbol;
  symbol.kind = Symbol::Kind::Function;
  symbol.decl = stmt;
  symbol.function = stmt;
  symbol.nameRange = stmt->getNameRange();
  symbol.type = types.get(Type::Kind::Void);
  symbol.what = "function";
  if (lookupBuiltin(stmt->getName())) {
    diags
        .report(stmt->getNameRange(), diag::Redefinition,
                {stmt->getName().str()})
        .attachNote(stmt->getNameRange(), diag::NoteDeclaredHere,
                    {"'" + stmt->getName().str() + "' is a built-in function"});
    return;
  }
  if (declare(stmt->getName(), symbol) && currentTable) {
    currentTable->functions[stmt->getName()] = symbol;
    defTables[stmt] = currentTable;
  }
}

const Type *SemaImpl::typeFromName(StringRef name) {
  static const std::pair<StringRef, Type::Kind> table[] = {
      {"model", Type::Kind::Model},
      {"tokenizer", Type::Kind::Tokenizer},
      {"data", Type::Kind::Data},
      {"adapter", Type::Kind::Adapter},
      {"objective", Type::Kind::Objective},
      {"optimizer", Type::Kind::Optimizer},
      {"schedule", Type::Kind::Schedule},
      {"int", Type::Kind::Int},
      {"number", Type::Kind::Number},
      {"percent", Type::Kind::Percent},
      {"duration", Type::Kind::Duration},
      {"string", Type::Kind::String},
      {"regex", Type::Kind::Regex},
      {"bool", Type::Kind::Bool},
      {"judge", Type::Kind::Judge},
      {"metric", Type::Kind::Metric},
  };
  for (auto &[typeName, kind] : table) {
    if (typeName != name)
      continue;
    if (kind == Type::Kind::Data) {
      DataSchema schema;
      schema.open = true;
      return types.getData(schema);
    }
    return types.get(kind);
  }
  return nullptr;
}

void SemaImpl::checkFunctionBody(const DefStmt *def,
                                 llvm::ArrayRef<const Type *> argTypes) {
  // A body sees its module's functions and its parameters, nothing else:
  // recipes take what they use as arguments.
  // (Looked up through bodyFunctions rather than copied into a scope: a
  // module may have thousands of functions.)
  std::deque<Scope> saved;
  saved.swap(scopes);
  const FunctionTable *savedBody = bodyFunctions;
  bodyFunctions = defTables.lookup(def);
  ++functionDepth;
  pushScope();
  size_t i = 0;
  for (const Param &param : def->getParams()) {
    const Type *type = i < argTypes.size() ? argTypes[i] : nullptr;
    ++i;
    if (!type) {
      if (!typeFromName(param.typeName)) {
        std::vector<std::string> names = {
            "model",     "tokenizer", "data",     "adapter",
            "objective", "optimizer", "schedule", "int",
            "number",    "percent",   "duration", "string",
            "regex",     "bool",      "judge",    "metric"};
        auto diag = diags.report(param.typeRange, diag::UnknownName,
                                 {param.typeName.str()});
        std::string s = suggestName(param.typeName, names);
        if (!s.empty())
          diag.attachNote(param.typeRange, diag::NoteDidYouMean, {s});
      }
      type = types.error();
    }
    Symbol symbol;
    symbol.kind = Symbol::Kind::Param;
    symbol.nameRange = param.nameRange;
    symbol.type = type;
    symbol.what = "parameter";
    symbol.used = true;
    declare(param.name, symbol);
  }
  checkStmts(def->getBody());
  popScope(false);
  --functionDepth;
  scopes.swap(saved);
  bodyFunctions = savedBody;
}

void SemaImpl::checkImport(const ImportStmt *stmt) {
  std::string base = baseDirOf(stmt->getLoc());
  std::vector<std::string> candidates;
  if (stmt->isFilePath()) {
    llvm::SmallString<256> path(stmt->getModule());
    if (!llvm::sys::path::is_absolute(path))
      path = (llvm::Twine(base) + "/" + stmt->getModule()).str();
    candidates.push_back(path.str().str());
  } else {
    std::string relative = stmt->getModule().str();
    std::replace(relative.begin(), relative.end(), '.', '/');
    relative += ".ftl";
    candidates.push_back(base + "/" + relative);
    for (const std::string &dir : options.stdlibPaths)
      candidates.push_back(dir + "/" + relative);
  }
  std::string found;
  for (const std::string &candidate : candidates)
    if (llvm::sys::fs::is_regular_file(candidate)) {
      found = candidate;
      break;
    }
  if (found.empty()) {
    std::vector<std::string> quoted;
    for (const std::string &c : candidates)
      quoted.push_back("'" + c + "'");
    diags
        .report(stmt->getModuleRange(), diag::ImportNotFound,
                {stmt->getModule().str()})
        .attachNote(stmt->getModuleRange(), diag::NoteSearchedPaths,
                    {llvm::join(quoted, ", ")});
    return;
  }
  FunctionTable *importer = currentTable;
  const FunctionTable *module =
      loadModule(found, stmt->getModule(), stmt->getModuleRange());
  currentTable = importer;
  if (!module)
    return;
  auto importDef = [&](const Symbol &exported, SMRange range) {
    Symbol symbol = exported;
    symbol.nameRange = range;
    symbol.used = true;
    StringRef name = symbol.function->getName();
    if (declare(name, symbol) && currentTable)
      currentTable->functions[name] = symbol;
  };
  if (stmt->getNames().empty()) {
    std::vector<std::string> names;
    for (const auto &entry : module->functions)
      names.push_back(entry.first().str());
    llvm::sort(names);
    for (const std::string &name : names)
      importDef(module->functions.lookup(name), stmt->getModuleRange());
    return;
  }
  for (const ImportStmt::Name &name : stmt->getNames()) {
    const Symbol *def = nullptr;
    std::vector<std::string> available;
    for (const auto &entry : module->functions) {
      available.push_back(entry.first().str());
      if (entry.first() == name.name)
        def = &entry.second;
    }
    if (!def) {
      auto diag = diags.report(name.range, diag::ImportNameNotFound,
                               {stmt->getModule().str(), name.name.str()});
      std::string s = suggestName(name.name, available);
      if (!s.empty())
        diag.attachNote(name.range, diag::NoteDidYouMean, {s});
      continue;
    }
    importDef(*def, name.range);
  }
}

void SemaImpl::checkLoop(const LoopStmt *stmt) {
  ExprContext ctx;
  const Type *rangeType = checkExpr(stmt->getIterRange(), ctx);
  const auto *range = llvm::dyn_cast<RangeExpr>(stmt->getIterRange());
  bool ok = range && range->getLo() && range->getHi() &&
            range->getLo()->getType() &&
            range->getLo()->getType()->is(Type::Kind::Int) &&
            range->getHi()->getType() &&
            range->getHi()->getType()->is(Type::Kind::Int);
  if (!ok && !rangeType->isError())
    diags.report(stmt->getIterRange()->getRange(), diag::InvalidLoopRange,
                 {rangeType->describe()});
  ++loopDepth;
  pushScope();
  Symbol var;
  var.kind = Symbol::Kind::LoopVar;
  var.decl = stmt;
  var.nameRange = stmt->getVarRange();
  var.type = types.get(Type::Kind::Int);
  var.what = "loop variable";
  var.used = true;
  declare(stmt->getVar(), var);
  checkStmts(stmt->getBody());
  // The exit condition sees the body's bindings (e.g. an eval).
  if (const Expr *until = stmt->getUntil()) {
    const Type *type = checkExpr(until, ctx);
    if (!type->isError() && !type->is(Type::Kind::Bool))
      diags.report(until->getRange(), diag::InvalidCondition,
                   {type->describe()});
  }
  popScope(options.warnUnused);
  --loopDepth;
}

void SemaImpl::checkSave(const SaveStmt *stmt) {
  ExprContext ctx;
  const Type *type = checkExpr(stmt->getValue(), ctx);
  if (!type->isError() && !type->is(Type::Kind::Model) &&
      !type->is(Type::Kind::Adapter) && !type->is(Type::Kind::Data))
    diags.report(stmt->getValue()->getRange(), diag::TypeMismatch,
                 {"'save'", "a model, an adapter or data", type->describe()});
  const Type *pathType = checkExpr(stmt->getPath(), ctx);
  if (!pathType->isError() && !pathType->is(Type::Kind::String))
    diags.report(stmt->getPath()->getRange(), diag::TypeMismatch,
                 {"'save ... to'", "a path string", pathType->describe()});
}

void SemaImpl::checkAppend(const AppendStmt *stmt) {
  ExprContext ctx;
  Symbol *symbol = lookup(stmt->getName());
  const Type *type = checkExpr(stmt->getValue(), ctx);
  if (!symbol) {
    reportUnknownName(stmt->getName(), stmt->getNameRange(), false);
    return;
  }
  symbol->used = true;
  if (!symbol->type->isError() && !symbol->type->is(Type::Kind::Data))
    diags.report(stmt->getNameRange(), diag::TypeMismatch,
                 {"'+='", "data on the left", symbol->type->describe()});
  else if (!type->isError() && !type->is(Type::Kind::Data))
    diags.report(stmt->getValue()->getRange(), diag::TypeMismatch,
                 {"'+='", "data on the right", type->describe()});
}

//===----------------------------------------------------------------------===//
// Train
//===----------------------------------------------------------------------===//

void SemaImpl::checkTrain(const TrainStmt *stmt) {
  ExprContext ctx;
  const Type *modelType = checkExpr(stmt->getModel(), ctx);
  if (!modelType->isError() && !modelType->is(Type::Kind::Model))
    diags.report(stmt->getModel()->getRange(), diag::TypeMismatch,
                 {"'train'", "a model", modelType->describe()});
  const Type *objective = checkExpr(stmt->getObjective(), ctx);
  if (!objective->isError() && !objective->is(Type::Kind::Objective))
    diags.report(stmt->getObjective()->getRange(), diag::TypeMismatch,
                 {"'train ... with'", "an objective such as 'sft(data)'",
                  objective->describe()});

  for (const TrainClause &clause : stmt->getClauses()) {
    const Type *type = nullptr;
    StringRef name = clause.name;
    auto expectKind = [&](Type::Kind kind, StringRef what) {
      type = checkExpr(clause.value, ctx);
      if (type->isError() || type->is(kind))
        return true;
      diags.report(clause.value->getRange(), diag::TypeMismatch,
                   {"'" + name.str() + "'", what.str(), type->describe()});
      return false;
    };
    if (name == "using") {
      expectKind(Type::Kind::Optimizer,
                 "an optimizer such as 'adamw(lr: 1e-4)'");
    } else if (name == "schedule") {
      expectKind(Type::Kind::Schedule,
                 "a schedule such as 'cosine(warmup: 10)'");
    } else if (name == "eval_on") {
      expectKind(Type::Kind::Data, "data");
    } else if (name == "clip") {
      type = checkExpr(clause.value, ctx);
      if (!type->isError() && !type->isNumeric())
        diags.report(clause.value->getRange(), diag::TypeMismatch,
                     {"'clip'", "a number", type->describe()});
    } else if (name == "recompute" || name == "device" || name == "precision") {
      StringRef allowed = name == "recompute" ? "none|attention|all"
                          : name == "device"  ? "cpu|cuda"
                                              : "fp32|bf16";
      const auto *sym = llvm::dyn_cast<NameExpr>(clause.value);
      llvm::SmallVector<StringRef, 4> values;
      allowed.split(values, '|');
      if (!sym || !llvm::is_contained(values, sym->getName())) {
        std::vector<std::string> candidates(values.begin(), values.end());
        std::string found =
            sym ? sym->getName().str()
                : std::string(clause.value->getRange().Start.getPointer(),
                              clause.value->getRange().End.getPointer());
        auto diag =
            diags.report(clause.value->getRange(), diag::InvalidEnumValue,
                         {found, name.str(), llvm::join(candidates, ", ")});
        std::string s = suggestName(found, candidates);
        if (!s.empty())
          diag.attachNote(clause.value->getRange(), diag::NoteDidYouMean, {s});
      } else {
        clause.value->setType(types.get(Type::Kind::Enum));
      }
    } else {
      // steps, epochs, batch, seq, accumulate, *_every: positive integers.
      if (expectKind(Type::Kind::Int, "a positive integer")) {
        if (const auto *lit = llvm::dyn_cast<IntegerExpr>(clause.value))
          if (lit->getValue() <= 0)
            diags.report(clause.value->getRange(), diag::InvalidValue,
                         {"'" + name.str() + "'", "a positive integer",
                          std::to_string(lit->getValue())});
      }
    }
  }
  if (!stmt->findClause("steps") && !stmt->findClause("epochs"))
    diags.report(stmt->getRange().Start, diag::TrainNeedsLength);

  // Something must train.
  const auto *modelName = llvm::dyn_cast<NameExpr>(stmt->getModel());
  if (!modelName || modelType->isError())
    return;

  // Adapters the objective names must sit on the model being trained.
  std::function<void(const Expr *)> visit = [&](const Expr *e) {
    if (!e)
      return;
    switch (e->getKind()) {
    case Expr::Kind::Name: {
      auto it = info.nameDecls.find(llvm::cast<NameExpr>(e));
      if (it == info.nameDecls.end() || !it->second)
        return;
      const auto *adapter = llvm::dyn_cast<AdapterStmt>(it->second);
      if (!adapter)
        return;
      auto placed = adapterIndex.find(adapter);
      if (placed == adapterIndex.end())
        return;
      const AdapterPlacement &p = info.adapters[placed->second];
      if (!p.model.empty() && p.model != modelName->getName())
        diags.report(e->getRange(), diag::AdapterOnOtherModel,
                     {adapter->getName().str(), p.model.str(),
                      modelName->getName().str()});
      return;
    }
    case Expr::Kind::Call:
      for (const Argument &arg : llvm::cast<CallExpr>(e)->getArgs())
        visit(arg.value);
      return;
    case Expr::Kind::Binary:
      visit(llvm::cast<BinaryExpr>(e)->getLHS());
      visit(llvm::cast<BinaryExpr>(e)->getRHS());
      return;
    case Expr::Kind::Unary:
      visit(llvm::cast<UnaryExpr>(e)->getOperand());
      return;
    default:
      return;
    }
  };
  visit(stmt->getObjective());
  auto declIt = info.nameDecls.find(modelName);
  if (declIt == info.nameDecls.end() || !declIt->second)
    return;
  const Stmt *modelDecl = declIt->second;
  bool hasAdapter = adaptersByModel.count(modelName->getName()) != 0;
  const ModelInfo *modelInfo = modelType->getModelInfo();
  if (!hasAdapter && modelInfo && explicitlyFrozen[modelDecl]) {
    size_t total = enumerateParams(*modelInfo).size();
    std::set<std::string> trainable;
    for (const ParamTensor &t : enumerateParams(*modelInfo))
      if (!frozen[modelDecl].count(t.name) || unfrozen[modelDecl].count(t.name))
        trainable.insert(t.name);
    if (trainable.empty() && total)
      diags.report(stmt->getModel()->getRange(), diag::NothingTrainable,
                   {modelName->getName().str()});
  }
}

//===----------------------------------------------------------------------===//
// Adapters and freezing
//===----------------------------------------------------------------------===//

bool SemaImpl::lowerSelector(const Expr *expr,
                             std::vector<SelectorSegment> &segments,
                             const NameExpr *&root) {
  if (const auto *name = llvm::dyn_cast<NameExpr>(expr)) {
    root = name;
    return true;
  }
  auto literalIndex = [&](const Expr *e, int64_t &out) {
    if (const auto *i = llvm::dyn_cast<IntegerExpr>(e)) {
      out = i->getValue();
      return true;
    }
    if (const auto *u = llvm::dyn_cast<UnaryExpr>(e))
      if (u->getOp() == UnaryOp::Neg)
        if (const auto *i = llvm::dyn_cast<IntegerExpr>(u->getOperand())) {
          out = -i->getValue();
          return true;
        }
    diags.report(e->getRange(), diag::ExpectedSelector,
                 {"an index that is not an integer literal"});
    return false;
  };
  if (const auto *member = llvm::dyn_cast<MemberExpr>(expr)) {
    if (!lowerSelector(member->getBase(), segments, root))
      return false;
    SelectorSegment segment;
    segment.kind = member->isMemberSet() ? SelectorSegment::Kind::Set
                                         : SelectorSegment::Kind::Name;
    for (StringRef n : member->getNames())
      segment.names.push_back(n.str());
    segments.push_back(std::move(segment));
    return true;
  }
  if (const auto *index = llvm::dyn_cast<IndexExpr>(expr)) {
    if (!lowerSelector(index->getBase(), segments, root))
      return false;
    SelectorSegment segment;
    segment.kind = SelectorSegment::Kind::Index;
    const Expr *e = index->getIndex();
    if (llvm::isa<WildcardExpr>(e)) {
      segment.indexKind = SelectorSegment::IndexKind::All;
    } else if (const auto *range = llvm::dyn_cast<RangeExpr>(e)) {
      segment.indexKind = SelectorSegment::IndexKind::Range;
      int64_t v;
      if (range->getLo()) {
        if (!literalIndex(range->getLo(), v))
          return false;
        segment.lo = v;
      }
      if (range->getHi()) {
        if (!literalIndex(range->getHi(), v))
          return false;
        segment.hi = v;
      }
    } else if (const auto *list = llvm::dyn_cast<ListExpr>(e)) {
      segment.indexKind = SelectorSegment::IndexKind::List;
      for (const Expr *element : list->getElements()) {
        int64_t v;
        if (!literalIndex(element, v))
          return false;
        segment.list.push_back(v);
      }
    } else {
      int64_t v;
      if (!literalIndex(e, v))
        return false;
      segment.indexKind = SelectorSegment::IndexKind::Single;
      segment.lo = v;
    }
    segments.push_back(std::move(segment));
    return true;
  }
  diags.report(expr->getRange(), diag::ExpectedSelector, {"an expression"});
  return false;
}

bool SemaImpl::resolveSelectorExpr(const Expr *selector,
                                   std::vector<std::string> &tensors,
                                   const Symbol **modelSymbol) {
  std::vector<SelectorSegment> segments;
  const NameExpr *root = nullptr;
  if (!lowerSelector(selector, segments, root))
    return false;
  Symbol *symbol = lookup(root->getName());
  if (!symbol) {
    reportUnknownName(root->getName(), root->getRange(), false);
    return false;
  }
  symbol->used = true;
  if (symbol->decl)
    info.nameDecls[root] = symbol->decl;
  root->setType(symbol->type);
  if (modelSymbol)
    *modelSymbol = symbol;
  if (symbol->type->isError())
    return false;
  if (!symbol->type->is(Type::Kind::Model)) {
    diags.report(root->getRange(), diag::SelectorNotModel,
                 {root->getName().str(), symbol->type->describe()});
    return false;
  }
  info.selectorModels[selector] = symbol->decl;
  const ModelInfo *modelInfo = symbol->type->getModelInfo();
  if (!modelInfo)
    return true; // shape unknown here (a function parameter): checked later
  SelectorMatch match = resolveSelector(*modelInfo, segments);
  if (!match.error.empty()) {
    diags.report(selector->getRange(), diag::LayerIndexOutOfRange,
                 {std::to_string(match.badIndex),
                  root->getName().str() + "." + match.listName,
                  std::to_string(match.listSize)});
    return false;
  }
  if (match.tensors.empty()) {
    diags.report(selector->getRange(), diag::SelectorMatchesNothing,
                 {root->getName().str() + "." + selectorToString(segments),
                  root->getName().str()});
    return false;
  }
  tensors = match.tensors;
  info.selectors[selector] = tensors;
  return true;
}

/// Which adapter kinds may share a tensor: a low-rank update and a sparse
/// update add up (DSEE); branches around a sub-layer add to anything;
/// everything else owns its tensors.
/// Whether `dir` holds a sparse diff (`ftl_adapter_type` SPARSE_DIFF in its
/// adapter_config.json).
static bool isSparseDiffFolder(StringRef dir) {
  if (dir.empty())
    return false;
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "adapter_config.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return false;
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return false;
  }
  const llvm::json::Object *object = parsed->getAsObject();
  auto type = object ? object->getString("ftl_adapter_type") : std::nullopt;
  return type && *type == "SPARSE_DIFF";
}

static bool composable(StringRef a, StringRef b) {
  auto is = [&](StringRef x, StringRef y) {
    return (a == x && b == y) || (a == y && b == x);
  };
  // A loaded sparse diff is already part of the model's tensors.
  if (a == "sparse_diff" || b == "sparse_diff")
    return true;
  // LoRA adds its own parameters, so it composes with any plan that decides
  // which base entries train (sparse: DSEE; half; structured).
  if (is("lora", "sparse") || is("lora", "half") || is("lora", "structured"))
    return true;
  // Parallel and bottleneck modules add a branch around a whole sub-layer:
  // they compose with whatever happens to its weights, and with each other
  // (applied in placement order).
  auto branch = [](StringRef k) {
    return k == "parallel" || k == "bottleneck";
  };
  return branch(a) || branch(b);
}

/// Whether `tensor` is the matrix of a linear layer (what sparse
/// fine-tuning trains entries of).
static bool isLinearWeight(StringRef tensor) {
  return tensor.ends_with(".weight") &&
         (tensor.contains(".attn.") || tensor.contains(".mlp.") ||
          tensor == "head.weight");
}

bool SemaImpl::checkAdapterTensors(StringRef kind, const CallExpr *kindCall,
                                   const Expr *target,
                                   const std::vector<std::string> &tensors,
                                   StringRef model, const ModelInfo *info) {
  if (kind == "half") {
    for (const std::string &t : tensors)
      if (!StringRef(t).starts_with("layers.")) {
        diags.report(target->getRange(), diag::HalfOutsideLayers,
                     {t, model.str()});
        return false;
      }
    return true;
  }
  if (kind != "sparse")
    return true;
  // Biases of selected linear layers stay as they are; anything else that
  // is not a linear weight is an error.
  bool anyLinear = llvm::any_of(tensors, isLinearWeight);
  for (const std::string &t : tensors) {
    StringRef name = t;
    if (isLinearWeight(name) || (anyLinear && name.ends_with(".bias")))
      continue;
    std::string what =
        name.ends_with(".bias") ? "a bias"
        : name.contains("norm") ? "a norm"
        : name.starts_with("embed.") || name.starts_with("pos_embed.")
            ? "an embedding (a tied head is the embedding)"
            : "not a linear weight";
    diags.report(target->getRange(), diag::SparseNotLinear, {t, what});
    return false;
  }
  // principal(rank: r) needs r <= the smaller side of every matrix.
  if (!info || !kindCall)
    return true;
  const CallExpr *pick = nullptr;
  for (const Argument &arg : kindCall->getArgs())
    if (arg.name == "pick")
      pick = llvm::dyn_cast<CallExpr>(arg.value);
  if (!pick || pick->getCallee() != "principal")
    return true;
  const Expr *rankExpr = nullptr;
  for (const Argument &arg : pick->getArgs())
    if (arg.name == "rank" || !arg.isKeyword())
      rankExpr = arg.value;
  const auto *rank = llvm::dyn_cast_or_null<IntegerExpr>(rankExpr);
  if (!rank)
    return true;
  for (const ParamTensor &p : enumerateParams(*info)) {
    if (p.shape.size() != 2 || !llvm::is_contained(tensors, p.name) ||
        !isLinearWeight(p.name))
      continue;
    int64_t side = std::min(p.shape[0], p.shape[1]);
    if (rank->getValue() > side) {
      diags.report(rankExpr->getRange(), diag::InvalidValue,
                   {"'rank' of principal()",
                    "at most " + std::to_string(side) +
                        ", the smaller side of '" + p.name + "' [" +
                        std::to_string(p.shape[0]) + "x" +
                        std::to_string(p.shape[1]) + "]",
                    std::to_string(rank->getValue())});
      return false;
    }
  }
  return true;
}

void SemaImpl::checkAdapter(const AdapterStmt *stmt) {
  ExprContext ctx;
  std::string base = baseDirOf(stmt->getLoc());
  ctx.baseDir = base;
  const CallExpr *kindCall = stmt->getAdapterKind();
  const Type *type = checkExpr(kindCall, ctx);
  const Builtin *builtin = lookupBuiltin(kindCall->getCallee());
  if (!type->isError() && !type->is(Type::Kind::Adapter))
    diags.report(kindCall->getRange(), diag::TypeMismatch,
                 {"'adapter " + stmt->getName().str() + "'",
                  "an adapter kind such as 'lora(rank: 8)'", type->describe()});

  AdapterPlacement placement;
  placement.stmt = stmt;
  placement.kind = builtin ? builtin->name : StringRef("load");
  // A loaded sparse diff (LT-SFT) is added to the model's tensors: it
  // composes with anything, other diffs included.
  if (placement.kind == "load" && !kindCall->getArgs().empty())
    if (const auto *path =
            llvm::dyn_cast<StringExpr>(kindCall->getArgs()[0].value);
        path && isSparseDiffFolder(info.resolvedPaths.lookup(path)))
      placement.kind = "sparse_diff";
  placement.modelLevel =
      placement.kind == "prompt" || placement.kind == "prefix";
  bool ok = !type->isError();
  const ModelInfo *modelInfo = nullptr;
  for (const Expr *target : stmt->getTargets()) {
    std::vector<std::string> tensors;
    const Symbol *modelSymbol = nullptr;
    if (!resolveSelectorExpr(target, tensors, &modelSymbol)) {
      ok = false;
      continue;
    }
    if (modelSymbol && modelSymbol->decl)
      placement.model = llvm::cast<BindingStmt>(modelSymbol->decl)->getName();
    if (modelSymbol)
      modelInfo = modelSymbol->type->getModelInfo();
    if (ok && !checkAdapterTensors(placement.kind, kindCall, target, tensors,
                                   placement.model, modelInfo)) {
      ok = false;
      continue;
    }
    if (placement.modelLevel && !llvm::isa<NameExpr>(target)) {
      diags.report(target->getRange(), diag::TypeMismatch,
                   {"'" + placement.kind.str() + "'",
                    "a whole model, as in 'on base'", "a selector"});
      ok = false;
      continue;
    }
    for (std::string &t : tensors)
      if (!llvm::is_contained(placement.tensors, t))
        placement.tensors.push_back(std::move(t));
  }
  if (!placement.modelLevel && ok) {
    auto onModel = adaptersByModel.find(placement.model);
    llvm::ArrayRef<size_t> others;
    if (onModel != adaptersByModel.end())
      others = onModel->second;
    for (size_t index : others) {
      const AdapterPlacement &other = info.adapters[index];
      if (other.modelLevel)
        continue;
      if (composable(other.kind, placement.kind))
        continue;
      for (const std::string &t : placement.tensors) {
        if (!llvm::is_contained(other.tensors, t))
          continue;
        diags
            .report(stmt->getTargets().front()->getRange(),
                    diag::AdapterConflict,
                    {other.stmt->getName().str(), stmt->getName().str(), t,
                     "'" + other.kind.str() + "' and '" + placement.kind.str() +
                         "'"})
            .attachNote(
                other.stmt->getNameRange(), diag::NoteDeclaredHere,
                {"'" + other.stmt->getName().str() + "' is placed here"});
        ok = false;
        break;
      }
    }
  }
  Symbol symbol;
  symbol.kind = Symbol::Kind::Adapter;
  symbol.decl = stmt;
  symbol.nameRange = stmt->getNameRange();
  symbol.type = ok ? types.get(Type::Kind::Adapter) : types.error();
  symbol.what = "adapter";
  if (declare(stmt->getName(), symbol) && ok) {
    adapterIndex[stmt] = info.adapters.size();
    adaptersByModel[placement.model].push_back(info.adapters.size());
    info.adapters.push_back(std::move(placement));
  }
}

void SemaImpl::checkFreeze(const FreezeStmt *stmt) {
  const Stmt *modelDecl = nullptr;
  for (const Expr *target : stmt->getTargets()) {
    std::vector<std::string> tensors;
    const Symbol *modelSymbol = nullptr;
    if (!resolveSelectorExpr(target, tensors, &modelSymbol))
      continue;
    if (!modelSymbol || !modelSymbol->decl || stmt->isReinit())
      continue;
    modelDecl = modelSymbol->decl;
    explicitlyFrozen[modelDecl] = true;
    frozen[modelDecl].insert(tensors.begin(), tensors.end());
  }
  for (const Expr *exception : stmt->getExceptions()) {
    // An adapter name, or a selector of parameters that stay trainable.
    if (const auto *name = llvm::dyn_cast<NameExpr>(exception)) {
      Symbol *symbol = lookup(name->getName());
      if (symbol && symbol->kind == Symbol::Kind::Adapter) {
        symbol->used = true;
        info.nameDecls[name] = symbol->decl;
        name->setType(symbol->type);
        continue;
      }
    }
    std::vector<std::string> tensors;
    const Symbol *modelSymbol = nullptr;
    if (!resolveSelectorExpr(exception, tensors, &modelSymbol))
      continue;
    if (modelSymbol && modelSymbol->decl)
      unfrozen[modelSymbol->decl].insert(tensors.begin(), tensors.end());
  }
}
