//===- MLIRGen.cpp - AST to the ftl dialect -------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/MLIRGen/MLIRGen.h"

#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Lang/AST.h"
#include "ftl/Lang/Builtins.h"
#include "ftl/Lang/Formatter.h"
#include "ftl/Lang/ParamTree.h"
#include "ftl/Lang/Sema.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SourceMgr.h"

#include <map>

using namespace ftl;
using namespace ftl::lang;
using llvm::StringRef;
namespace fd = mlir::ftl;

namespace {

/// What a name is bound to while generating: an SSA value, or (for function
/// parameters of literal type) the argument expression and where it came
/// from, so literals can become attributes.
struct Binding {
  mlir::Value value;
  const Expr *literal = nullptr;
  struct Env *literalEnv = nullptr;
};

struct Env {
  llvm::StringMap<Binding> names;
  Env *parent = nullptr;

  Binding *lookup(StringRef name) {
    for (Env *env = this; env; env = env->parent) {
      auto it = env->names.find(name);
      if (it != env->names.end())
        return &it->second;
    }
    return nullptr;
  }
};

class MLIRGenImpl {
public:
  MLIRGenImpl(mlir::MLIRContext &context, llvm::SourceMgr &sourceMgr,
              const Program &program)
      : builder(&context), sourceMgr(sourceMgr), program(program) {}

  mlir::OwningOpRef<mlir::ModuleOp> generate() {
    module = mlir::ModuleOp::create(
        loc(program.main.stmts.empty() ? llvm::SMLoc()
                                       : program.main.stmts.front()->getLoc()));
    builder.setInsertionPointToEnd(module->getBody());
    if (program.info.hasSeed)
      builder.create<fd::SeedOp>(seedLoc(), program.info.seed);
    Env top;
    env = &top;
    for (const Stmt *stmt : program.main.stmts)
      genStmt(stmt);
    if (mlir::failed(mlir::verify(*module))) {
      module->emitError("generated IR does not verify (a compiler bug)");
      return nullptr;
    }
    return std::move(module);
  }

private:
  //===--------------------------------------------------------------------===//
  // Locations
  //===--------------------------------------------------------------------===//

  mlir::Location loc(llvm::SMLoc smloc) {
    mlir::Location result = builder.getUnknownLoc();
    if (smloc.isValid()) {
      unsigned id = sourceMgr.FindBufferContainingLoc(smloc);
      if (id) {
        auto [line, col] = sourceMgr.getLineAndColumn(smloc, id);
        result = mlir::FileLineColLoc::get(
            builder.getStringAttr(
                sourceMgr.getMemoryBuffer(id)->getBufferIdentifier()),
            line, col);
      }
    }
    for (auto it = callSites.rbegin(); it != callSites.rend(); ++it)
      result = mlir::CallSiteLoc::get(result, *it);
    return result;
  }
  mlir::Location loc(const Expr *e) { return loc(e->getLoc()); }
  mlir::Location loc(const Stmt *s) { return loc(s->getLoc()); }

  mlir::Location seedLoc() {
    for (const Stmt *s : program.main.stmts)
      if (llvm::isa<SeedStmt>(s))
        return loc(s);
    return builder.getUnknownLoc();
  }

  //===--------------------------------------------------------------------===//
  // Literals and attributes
  //===--------------------------------------------------------------------===//

  /// Follows function parameters bound to literal arguments.
  const Expr *resolveLiteral(const Expr *e, Env *&where) {
    where = env;
    while (const auto *name = llvm::dyn_cast<NameExpr>(e)) {
      Binding *b = where->lookup(name->getName());
      if (!b || !b->literal)
        break;
      e = b->literal;
      where = b->literalEnv;
    }
    return e;
  }

  /// An attribute for a literal argument, typed by the parameter spec.
  mlir::Attribute literalAttr(const Expr *e, StringRef spec) {
    Env *where;
    e = resolveLiteral(e, where);
    bool wantFloat = spec.contains("number") || spec.contains("fraction") ||
                     spec.contains("percent") || spec.contains("duration");
    bool wantInt = spec == "int";
    switch (e->getKind()) {
    case Expr::Kind::Integer: {
      int64_t v = llvm::cast<IntegerExpr>(e)->getValue();
      if (wantFloat && !wantInt)
        return builder.getF64FloatAttr(double(v));
      return builder.getI64IntegerAttr(v);
    }
    case Expr::Kind::Float:
      return builder.getF64FloatAttr(llvm::cast<FloatExpr>(e)->getValue());
    case Expr::Kind::Percent:
      return builder.getF64FloatAttr(llvm::cast<PercentExpr>(e)->getFraction());
    case Expr::Kind::Duration:
      return builder.getF64FloatAttr(llvm::cast<DurationExpr>(e)->getSeconds());
    case Expr::Kind::String:
      return builder.getStringAttr(llvm::cast<StringExpr>(e)->getValue());
    case Expr::Kind::Regex:
      return builder.getStringAttr(llvm::cast<RegexExpr>(e)->getPattern());
    case Expr::Kind::Bool:
      return builder.getBoolAttr(llvm::cast<BoolExpr>(e)->getValue());
    case Expr::Kind::Name:
      return builder.getStringAttr(llvm::cast<NameExpr>(e)->getName());
    case Expr::Kind::Field:
      return builder.getStringAttr(llvm::cast<FieldExpr>(e)->getName());
    case Expr::Kind::Unary: {
      const auto *u = llvm::cast<UnaryExpr>(e);
      mlir::Attribute inner = literalAttr(u->getOperand(), spec);
      if (auto i = llvm::dyn_cast_or_null<mlir::IntegerAttr>(inner))
        return builder.getI64IntegerAttr(-i.getInt());
      if (auto f = llvm::dyn_cast_or_null<mlir::FloatAttr>(inner))
        return builder.getF64FloatAttr(-f.getValueAsDouble());
      return inner;
    }
    case Expr::Kind::List: {
      llvm::SmallVector<mlir::Attribute> elements;
      StringRef elementSpec = spec;
      if (spec.starts_with("list<"))
        elementSpec = spec.slice(5, spec.size() - 1);
      for (const Expr *x : llvm::cast<ListExpr>(e)->getElements())
        if (mlir::Attribute a = literalAttr(x, elementSpec))
          elements.push_back(a);
      return builder.getArrayAttr(elements);
    }
    default:
      return {};
    }
  }

  /// The attribute for a parameter's default, when the default is a literal
  /// (computed defaults such as `alpha = rank` are left to the runtime).
  mlir::Attribute defaultAttr(const BuiltinParam &param) {
    StringRef d = param.defaultValue;
    StringRef spec = param.type;
    if (d.empty() || d == "none")
      return {};
    if (d == "true" || d == "false")
      return builder.getBoolAttr(d == "true");
    if (d == "[]")
      return builder.getArrayAttr({});
    if (d.size() >= 2 && d.front() == '"' && d.back() == '"')
      return builder.getStringAttr(d.drop_front().drop_back());
    if (spec.starts_with("enum(")) {
      StringRef body = spec.drop_front(5).drop_back();
      llvm::SmallVector<StringRef> members;
      body.split(members, '|');
      if (llvm::is_contained(members, d))
        return builder.getStringAttr(d);
      return {};
    }
    double value;
    if (spec == "duration") {
      // "10s", "500ms": seconds.
      double scale = d.consume_back("ms")  ? 1e-3
                     : d.consume_back("s") ? 1
                     : d.consume_back("m") ? 60
                     : d.consume_back("h") ? 3600
                                           : 0;
      if (scale == 0 || d.getAsDouble(value))
        return {};
      return builder.getF64FloatAttr(value * scale);
    }
    if (d.getAsDouble(value))
      return {};
    if (spec == "int")
      return builder.getI64IntegerAttr(int64_t(value));
    return builder.getF64FloatAttr(value);
  }

  /// Adds attributes for the literal defaults of parameters not given.
  void addDefaults(const Builtin *builtin,
                   llvm::SmallVectorImpl<mlir::NamedAttribute> &attrs,
                   llvm::ArrayRef<mlir::Attribute> operandNames,
                   llvm::ArrayRef<StringRef> alsoGiven = {}) {
    for (const BuiltinParam &p : builtin->params) {
      if (p.isVariadicKeyword() || p.isVariadicPositional())
        continue;
      StringRef name = p.plainName();
      bool given = llvm::is_contained(alsoGiven, name) ||
                   llvm::any_of(attrs,
                                [&](const mlir::NamedAttribute &a) {
                                  return a.getName() == name;
                                }) ||
                   llvm::any_of(operandNames, [&](mlir::Attribute a) {
                     return llvm::cast<mlir::StringAttr>(a).getValue() == name;
                   });
      if (given)
        continue;
      if (mlir::Attribute a = defaultAttr(p))
        attrs.push_back(builder.getNamedAttr(name, a));
    }
  }

  /// True when the argument is a literal (after following parameters).
  bool isLiteral(const Expr *e) {
    Env *where;
    e = resolveLiteral(e, where);
    switch (e->getKind()) {
    case Expr::Kind::Integer:
    case Expr::Kind::Float:
    case Expr::Kind::Percent:
    case Expr::Kind::Duration:
    case Expr::Kind::String:
    case Expr::Kind::Regex:
    case Expr::Kind::Bool:
    case Expr::Kind::Field:
      return true;
    case Expr::Kind::Unary:
      return isLiteral(llvm::cast<UnaryExpr>(e)->getOperand());
    case Expr::Kind::List:
      return llvm::all_of(llvm::cast<ListExpr>(e)->getElements(),
                          [&](const Expr *x) { return isLiteral(x); });
    default:
      return false;
    }
  }

  //===--------------------------------------------------------------------===//
  // Statements
  //===--------------------------------------------------------------------===//

  void bind(StringRef name, mlir::Value value) { env->names[name] = {value}; }

  void genStmts(llvm::ArrayRef<const Stmt *> stmts) {
    for (const Stmt *stmt : stmts)
      genStmt(stmt);
  }

  void genStmt(const Stmt *stmt) {
    switch (stmt->getKind()) {
    case Stmt::Kind::Seed:
    case Stmt::Kind::Def:
    case Stmt::Kind::Import:
      return;
    case Stmt::Kind::Binding: {
      const auto *b = llvm::cast<BindingStmt>(stmt);
      currentBindingName = b->getName();
      mlir::Value value = genExpr(b->getValue());
      currentBindingName = {};
      if (b->getBindingKind() == BindingKind::Eval && value)
        value = builder.create<fd::EvalOp>(loc(stmt), builder.getF64Type(),
                                           b->getName(), toF64(value, stmt));
      bind(b->getName(), value);
      return;
    }
    case Stmt::Kind::Adapter:
      return genAdapter(llvm::cast<AdapterStmt>(stmt));
    case Stmt::Kind::Freeze:
      return genFreeze(llvm::cast<FreezeStmt>(stmt));
    case Stmt::Kind::Train:
      return genTrain(llvm::cast<TrainStmt>(stmt));
    case Stmt::Kind::Loop:
      return genLoop(llvm::cast<LoopStmt>(stmt));
    case Stmt::Kind::Log: {
      const auto *l = llvm::cast<LogStmt>(stmt);
      llvm::SmallVector<mlir::Value> values;
      llvm::SmallVector<mlir::Attribute> names;
      for (const Expr *e : l->getValues()) {
        values.push_back(genExpr(e));
        names.push_back(builder.getStringAttr(printExpr(e)));
      }
      builder.create<fd::LogOp>(loc(stmt), values, builder.getArrayAttr(names));
      return;
    }
    case Stmt::Kind::Save: {
      const auto *s = llvm::cast<SaveStmt>(stmt);
      mlir::Value value = genExpr(s->getValue());
      auto path = llvm::dyn_cast_or_null<mlir::StringAttr>(
          literalAttr(s->getPath(), "string"));
      builder.create<fd::SaveOp>(loc(stmt), value,
                                 path ? path : builder.getStringAttr(""));
      return;
    }
    case Stmt::Kind::Append: {
      const auto *a = llvm::cast<AppendStmt>(stmt);
      Binding *old = env->lookup(a->getName());
      mlir::Value more = genExpr(a->getValue());
      mlir::Value all = builder.create<fd::DataConcatOp>(
          loc(stmt), fd::DataType::get(builder.getContext()),
          mlir::ValueRange{old->value, more});
      old->value = all;
      return;
    }
    case Stmt::Kind::ExprStmt:
      genExpr(llvm::cast<ExprStmt>(stmt)->getExpr());
      return;
    }
  }

  std::vector<std::string> selectorTensors(const Expr *selector,
                                           mlir::Value &model) {
    // Find the root name and rebuild the segments.
    const Expr *e = selector;
    llvm::SmallVector<const Expr *> chain;
    while (!llvm::isa<NameExpr>(e)) {
      chain.push_back(e);
      if (const auto *m = llvm::dyn_cast<MemberExpr>(e))
        e = m->getBase();
      else
        e = llvm::cast<IndexExpr>(e)->getBase();
    }
    const auto *root = llvm::cast<NameExpr>(e);
    model = env->lookup(root->getName())->value;
    std::vector<SelectorSegment> segments;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      SelectorSegment segment;
      if (const auto *m = llvm::dyn_cast<MemberExpr>(*it)) {
        segment.kind = m->isMemberSet() ? SelectorSegment::Kind::Set
                                        : SelectorSegment::Kind::Name;
        for (StringRef n : m->getNames())
          segment.names.push_back(n.str());
      } else {
        const Expr *index = llvm::cast<IndexExpr>(*it)->getIndex();
        segment.kind = SelectorSegment::Kind::Index;
        auto intOf = [&](const Expr *x) -> int64_t {
          auto attr =
              llvm::dyn_cast_or_null<mlir::IntegerAttr>(literalAttr(x, "int"));
          return attr ? attr.getInt() : 0;
        };
        if (llvm::isa<WildcardExpr>(index)) {
          segment.indexKind = SelectorSegment::IndexKind::All;
        } else if (const auto *r = llvm::dyn_cast<RangeExpr>(index)) {
          segment.indexKind = SelectorSegment::IndexKind::Range;
          if (r->getLo())
            segment.lo = intOf(r->getLo());
          if (r->getHi())
            segment.hi = intOf(r->getHi());
        } else if (const auto *l = llvm::dyn_cast<ListExpr>(index)) {
          segment.indexKind = SelectorSegment::IndexKind::List;
          for (const Expr *x : l->getElements())
            segment.list.push_back(intOf(x));
        } else {
          segment.indexKind = SelectorSegment::IndexKind::Single;
          segment.lo = intOf(index);
        }
      }
      segments.push_back(std::move(segment));
    }
    auto info = modelInfos.find(model.getAsOpaquePointer());
    if (info == modelInfos.end())
      return {};
    return resolveSelector(info->second, segments).tensors;
  }

  mlir::ArrayAttr stringArray(llvm::ArrayRef<std::string> values) {
    llvm::SmallVector<mlir::Attribute> attrs;
    for (const std::string &v : values)
      attrs.push_back(builder.getStringAttr(v));
    return builder.getArrayAttr(attrs);
  }

  void genAdapter(const AdapterStmt *stmt) {
    const CallExpr *kind = stmt->getAdapterKind();
    const Builtin *builtin = lookupBuiltin(kind->getCallee());
    std::vector<std::string> tensors, selectors;
    mlir::Value model;
    for (const Expr *target : stmt->getTargets()) {
      selectors.push_back(printExpr(target));
      for (std::string &t : selectorTensors(target, model))
        if (!llvm::is_contained(tensors, t))
          tensors.push_back(std::move(t));
    }
    llvm::SmallVector<mlir::NamedAttribute> config;
    llvm::SmallVector<mlir::Value> inputs;
    llvm::SmallVector<mlir::Attribute> operandNames;
    bindArgs(builtin, kind, nullptr, config, inputs, operandNames);
    if (builtin)
      addDefaults(builtin, config, operandNames);
    mlir::Value adapter = builder.create<fd::AdapterOp>(
        loc(stmt), fd::AdapterType::get(builder.getContext()),
        builtin ? builtin->name : StringRef("load"), stmt->getName(), model,
        inputs, builder.getArrayAttr(operandNames),
        builder.getDictionaryAttr(config), stringArray(selectors),
        stringArray(tensors));
    bind(stmt->getName(), adapter);
  }

  void genFreeze(const FreezeStmt *stmt) {
    std::vector<std::string> tensors, exceptTensors;
    mlir::Value model;
    for (const Expr *target : stmt->getTargets())
      for (std::string &t : selectorTensors(target, model))
        tensors.push_back(std::move(t));
    if (stmt->isReinit()) {
      builder.create<fd::ReinitOp>(loc(stmt), model, stringArray(tensors));
      return;
    }
    llvm::SmallVector<mlir::Value> adapters;
    for (const Expr *e : stmt->getExceptions()) {
      if (const auto *name = llvm::dyn_cast<NameExpr>(e)) {
        Binding *b = env->lookup(name->getName());
        if (b && b->value && llvm::isa<fd::AdapterType>(b->value.getType())) {
          adapters.push_back(b->value);
          continue;
        }
      }
      mlir::Value m;
      for (std::string &t : selectorTensors(e, m))
        exceptTensors.push_back(std::move(t));
    }
    builder.create<fd::FreezeOp>(loc(stmt), model, adapters,
                                 stringArray(tensors),
                                 stringArray(exceptTensors));
  }

  void genTrain(const TrainStmt *stmt) {
    mlir::Value model = genExpr(stmt->getModel());
    mlir::Value objective = genExpr(stmt->getObjective());
    mlir::Value optimizer, schedule, evalData;
    llvm::SmallVector<mlir::NamedAttribute> attrs;
    for (const TrainClause &clause : stmt->getClauses()) {
      if (clause.name == "using")
        optimizer = genExpr(clause.value);
      else if (clause.name == "schedule")
        schedule = genExpr(clause.value);
      else if (clause.name == "eval_on")
        evalData = genExpr(clause.value);
      else {
        StringRef spec =
            clause.name == "clip" ? "number"
            : (clause.name == "recompute" || clause.name == "device" ||
               clause.name == "precision")
                ? "string"
                : "int";
        if (mlir::Attribute attr = literalAttr(clause.value, spec))
          attrs.push_back(builder.getNamedAttr(clause.name, attr));
      }
    }
    auto op = builder.create<fd::TrainOp>(loc(stmt), model, objective,
                                          optimizer, schedule, evalData);
    for (mlir::NamedAttribute attr : attrs)
      op->setAttr(attr.getName(), attr.getValue());
  }

  void genLoop(const LoopStmt *stmt) {
    const auto *range = llvm::cast<RangeExpr>(stmt->getIterRange());
    mlir::Value lo = toI64(genExpr(range->getLo()), stmt);
    mlir::Value hi = toI64(genExpr(range->getHi()), stmt);
    // Names the body appends to (`x += ...`) are carried through rounds.
    llvm::SmallVector<std::string> carried;
    collectAppends(stmt->getBody(), carried);
    llvm::SmallVector<mlir::Value> initial;
    for (const std::string &name : carried)
      initial.push_back(env->lookup(name)->value);
    llvm::SmallVector<mlir::Type> types;
    for (mlir::Value v : initial)
      types.push_back(v.getType());
    auto loop =
        builder.create<fd::LoopOp>(loc(stmt), types, stmt->getVar(), lo, hi,
                                   initial, stmt->getUntil() != nullptr);
    mlir::Block *body = new mlir::Block();
    loop.getBody().push_back(body);
    body->addArgument(builder.getI64Type(), loc(stmt));
    for (mlir::Type t : types)
      body->addArgument(t, loc(stmt));

    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(body);
    Env inner;
    inner.parent = env;
    Env *saved = env;
    env = &inner;
    bind(stmt->getVar(), body->getArgument(0));
    for (size_t i = 0; i < carried.size(); ++i)
      bind(carried[i], body->getArgument(i + 1));
    genStmts(stmt->getBody());
    llvm::SmallVector<mlir::Value> yields;
    for (const std::string &name : carried)
      yields.push_back(env->lookup(name)->value);
    if (const Expr *until = stmt->getUntil())
      yields.push_back(genExpr(until));
    builder.create<fd::YieldOp>(loc(stmt), yields);
    env = saved;
    for (size_t i = 0; i < carried.size(); ++i)
      env->lookup(carried[i])->value = loop.getResult(i);
  }

  void collectAppends(llvm::ArrayRef<const Stmt *> stmts,
                      llvm::SmallVectorImpl<std::string> &out) {
    for (const Stmt *s : stmts) {
      if (const auto *a = llvm::dyn_cast<AppendStmt>(s)) {
        // Only names bound outside the loop are carried.
        if (env->lookup(a->getName()) &&
            !llvm::is_contained(out, a->getName().str()))
          out.push_back(a->getName().str());
      } else if (const auto *l = llvm::dyn_cast<LoopStmt>(s)) {
        collectAppends(l->getBody(), out);
      }
    }
  }

  mlir::Value toI64(mlir::Value v, const Stmt *stmt) {
    if (!v || v.getType().isInteger(64))
      return v;
    return builder.create<mlir::arith::FPToSIOp>(loc(stmt),
                                                 builder.getI64Type(), v);
  }

  mlir::Value toF64(mlir::Value v, const Stmt *stmt) {
    if (!v || v.getType().isF64())
      return v;
    if (v.getType().isInteger(64)) {
      mlir::Location l = stmt ? loc(stmt) : v.getLoc();
      // A literal stays a constant (loss weights must be constants).
      if (auto c = v.getDefiningOp<mlir::arith::ConstantOp>())
        if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(c.getValue()))
          return builder.create<mlir::arith::ConstantOp>(
              l, builder.getF64FloatAttr(double(i.getInt())));
      return builder.create<mlir::arith::SIToFPOp>(l, builder.getF64Type(), v);
    }
    return v;
  }

  //===--------------------------------------------------------------------===//
  // Expressions
  //===--------------------------------------------------------------------===//

  mlir::Value genExpr(const Expr *e) {
    switch (e->getKind()) {
    case Expr::Kind::Integer:
      return builder.create<mlir::arith::ConstantOp>(
          loc(e),
          builder.getI64IntegerAttr(llvm::cast<IntegerExpr>(e)->getValue()));
    case Expr::Kind::Float:
      return builder.create<mlir::arith::ConstantOp>(
          loc(e),
          builder.getF64FloatAttr(llvm::cast<FloatExpr>(e)->getValue()));
    case Expr::Kind::Percent:
      return builder.create<mlir::arith::ConstantOp>(
          loc(e),
          builder.getF64FloatAttr(llvm::cast<PercentExpr>(e)->getFraction()));
    case Expr::Kind::Bool:
      return builder.create<mlir::arith::ConstantOp>(
          loc(e), builder.getBoolAttr(llvm::cast<BoolExpr>(e)->getValue()));
    case Expr::Kind::Name: {
      Binding *b = env->lookup(llvm::cast<NameExpr>(e)->getName());
      assert(b && "Sema resolved every name");
      if (b->literal) {
        Env *saved = env;
        env = b->literalEnv;
        mlir::Value v = genExpr(b->literal);
        env = saved;
        return v;
      }
      return b->value;
    }
    case Expr::Kind::Member: {
      const auto *m = llvm::cast<MemberExpr>(e);
      mlir::Value base = genExpr(m->getBase());
      auto parts = dataParts.find(base.getAsOpaquePointer());
      bool isPart = parts != dataParts.end() &&
                    llvm::is_contained(parts->second, m->getName().str());
      if (isPart)
        return builder.create<fd::DataPartOp>(
            loc(e), fd::DataType::get(builder.getContext()), base,
            m->getName());
      return builder.create<fd::DataColumnOp>(
          loc(e), fd::ColumnType::get(builder.getContext()), base,
          m->getName());
    }
    case Expr::Kind::Call:
      return genCall(llvm::cast<CallExpr>(e), nullptr);
    case Expr::Kind::Pipe: {
      const auto *p = llvm::cast<PipeExpr>(e);
      return genCall(p->getOp(), p->getInput());
    }
    case Expr::Kind::Binary:
      return genBinary(llvm::cast<BinaryExpr>(e));
    case Expr::Kind::Unary: {
      const auto *u = llvm::cast<UnaryExpr>(e);
      mlir::Value v = genExpr(u->getOperand());
      if (u->getOp() == UnaryOp::Not) {
        mlir::Value one = builder.create<mlir::arith::ConstantOp>(
            loc(e), builder.getBoolAttr(true));
        return builder.create<mlir::arith::XOrIOp>(loc(e), v, one);
      }
      if (llvm::isa<fd::ObjectiveType>(v.getType()))
        return scaleObjective(v, -1.0, e);
      if (v.getType().isF64())
        return builder.create<mlir::arith::NegFOp>(loc(e), v);
      mlir::Value zero = builder.create<mlir::arith::ConstantOp>(
          loc(e), builder.getI64IntegerAttr(0));
      return builder.create<mlir::arith::SubIOp>(loc(e), zero, v);
    }
    case Expr::Kind::String:
    case Expr::Kind::Duration:
    case Expr::Kind::Regex:
    case Expr::Kind::List:
    case Expr::Kind::Field:
    case Expr::Kind::Range:
    case Expr::Kind::Index:
    case Expr::Kind::Wildcard:
      // Only used as literal arguments (attributes), or inside record regions.
      return {};
    }
    return {};
  }

  mlir::Value scaleObjective(mlir::Value objective, double weight,
                             const Expr *e) {
    mlir::Value w = builder.create<mlir::arith::ConstantOp>(
        loc(e), builder.getF64FloatAttr(weight));
    return builder.create<fd::ObjectiveScaleOp>(
        loc(e), fd::ObjectiveType::get(builder.getContext()), objective, w);
  }

  void flattenObjectiveSum(const Expr *e, double sign,
                           llvm::SmallVectorImpl<mlir::Value> &terms) {
    if (const auto *b = llvm::dyn_cast<BinaryExpr>(e))
      if ((b->getOp() == BinaryOp::Add || b->getOp() == BinaryOp::Sub) &&
          b->getType() && b->getType()->is(Type::Kind::Objective)) {
        flattenObjectiveSum(b->getLHS(), sign, terms);
        flattenObjectiveSum(b->getRHS(),
                            b->getOp() == BinaryOp::Sub ? -sign : sign, terms);
        return;
      }
    mlir::Value v = genExpr(e);
    if (sign < 0)
      v = scaleObjective(v, -1.0, e);
    terms.push_back(v);
  }

  mlir::Value genBinary(const BinaryExpr *b) {
    // Objective algebra.
    bool isObjective = b->getType() && b->getType()->is(Type::Kind::Objective);
    if (isObjective &&
        (b->getOp() == BinaryOp::Add || b->getOp() == BinaryOp::Sub)) {
      llvm::SmallVector<mlir::Value> terms;
      flattenObjectiveSum(b, 1.0, terms);
      return builder.create<fd::ObjectiveSumOp>(
          loc(b), fd::ObjectiveType::get(builder.getContext()), terms,
          mlir::ValueRange(), mlir::StringAttr());
    }
    mlir::Value lhs = genExpr(b->getLHS());
    mlir::Value rhs = genExpr(b->getRHS());
    if (isObjective) {
      mlir::Value objective =
          llvm::isa<fd::ObjectiveType>(lhs.getType()) ? lhs : rhs;
      mlir::Value weight = objective == lhs ? rhs : lhs;
      weight = toF64(weight, nullptr);
      if (b->getOp() == BinaryOp::Div) {
        mlir::Value one = builder.create<mlir::arith::ConstantOp>(
            loc(b), builder.getF64FloatAttr(1.0));
        weight = builder.create<mlir::arith::DivFOp>(loc(b), one, weight);
      }
      return builder.create<fd::ObjectiveScaleOp>(
          loc(b), fd::ObjectiveType::get(builder.getContext()), objective,
          weight);
    }
    // Scalars (metrics are f64, loop variables i64).
    bool isFloat = lhs.getType().isF64() || rhs.getType().isF64() ||
                   b->getOp() == BinaryOp::Div;
    if (isFloat) {
      lhs = toF64(lhs, nullptr);
      rhs = toF64(rhs, nullptr);
    }
    mlir::Location l = loc(b);
    using P = mlir::arith::CmpFPredicate;
    using IP = mlir::arith::CmpIPredicate;
    switch (b->getOp()) {
    case BinaryOp::Add:
      return isFloat
                 ? (mlir::Value)builder.create<mlir::arith::AddFOp>(l, lhs, rhs)
                 : builder.create<mlir::arith::AddIOp>(l, lhs, rhs);
    case BinaryOp::Sub:
      return isFloat
                 ? (mlir::Value)builder.create<mlir::arith::SubFOp>(l, lhs, rhs)
                 : builder.create<mlir::arith::SubIOp>(l, lhs, rhs);
    case BinaryOp::Mul:
      return isFloat
                 ? (mlir::Value)builder.create<mlir::arith::MulFOp>(l, lhs, rhs)
                 : builder.create<mlir::arith::MulIOp>(l, lhs, rhs);
    case BinaryOp::Div:
      return builder.create<mlir::arith::DivFOp>(l, lhs, rhs);
    case BinaryOp::And:
      return builder.create<mlir::arith::AndIOp>(l, lhs, rhs);
    case BinaryOp::Or:
      return builder.create<mlir::arith::OrIOp>(l, lhs, rhs);
    default:
      break;
    }
    auto fp = [&](BinaryOp op) {
      switch (op) {
      case BinaryOp::Less:
        return P::OLT;
      case BinaryOp::LessEqual:
        return P::OLE;
      case BinaryOp::Greater:
        return P::OGT;
      case BinaryOp::GreaterEqual:
        return P::OGE;
      case BinaryOp::Equal:
        return P::OEQ;
      default:
        return P::ONE;
      }
    };
    auto ip = [&](BinaryOp op) {
      switch (op) {
      case BinaryOp::Less:
        return IP::slt;
      case BinaryOp::LessEqual:
        return IP::sle;
      case BinaryOp::Greater:
        return IP::sgt;
      case BinaryOp::GreaterEqual:
        return IP::sge;
      case BinaryOp::Equal:
        return IP::eq;
      default:
        return IP::ne;
      }
    };
    if (isFloat)
      return builder.create<mlir::arith::CmpFOp>(l, fp(b->getOp()), lhs, rhs);
    return builder.create<mlir::arith::CmpIOp>(l, ip(b->getOp()), lhs, rhs);
  }

  //===--------------------------------------------------------------------===//
  // Record-level expressions (inside data operator regions)
  //===--------------------------------------------------------------------===//

  mlir::Value genRecordExpr(const Expr *e, mlir::Value record) {
    mlir::Location l = loc(e);
    auto valueType = fd::ValueType::get(builder.getContext());
    Env *where;
    const Expr *resolved = resolveLiteral(e, where);
    if (resolved != e) {
      Env *saved = env;
      env = where;
      mlir::Value v = genRecordExpr(resolved, record);
      env = saved;
      return v;
    }
    switch (e->getKind()) {
    case Expr::Kind::Field:
      return builder.create<fd::RecordFieldOp>(
          l, valueType, record, llvm::cast<FieldExpr>(e)->getName());
    case Expr::Kind::Integer:
    case Expr::Kind::Float:
    case Expr::Kind::Percent:
    case Expr::Kind::String:
    case Expr::Kind::Bool:
      return builder.create<fd::ConstantOp>(l, valueType,
                                            literalAttr(e, "any"));
    case Expr::Kind::Call: {
      const auto *call = llvm::cast<CallExpr>(e);
      StringRef callee = call->getCallee();
      if (callee == "len" || callee == "ntokens") {
        mlir::Value v = genRecordExpr(call->getArgs()[0].value, record);
        auto op = builder.create<fd::RecordLenOp>(l, builder.getI64Type(), v);
        op->setAttr("unit", builder.getStringAttr(callee == "len" ? "chars"
                                                                  : "tokens"));
        return op;
      }
      if (callee == "perplexity") {
        mlir::Value model = genExpr(call->getArgs()[0].value);
        return builder.create<fd::RecordScoreOp>(l, builder.getF64Type(),
                                                 "perplexity", record, model);
      }
      // Anything else (pct(70), ...) is computed outside the record.
      return genExpr(e);
    }
    case Expr::Kind::Unary: {
      const auto *u = llvm::cast<UnaryExpr>(e);
      mlir::Value v = genRecordExpr(u->getOperand(), record);
      if (u->getOp() == UnaryOp::Not)
        return builder.create<fd::RecordArithOp>(l, builder.getI1Type(), "not",
                                                 v, mlir::Value());
      mlir::Value zero = builder.create<fd::ConstantOp>(
          l, valueType, builder.getF64FloatAttr(0));
      return builder.create<fd::RecordArithOp>(l, valueType, "sub", zero, v);
    }
    case Expr::Kind::Binary: {
      const auto *b = llvm::cast<BinaryExpr>(e);
      mlir::Value lhs = genRecordExpr(b->getLHS(), record);
      if (b->getOp() == BinaryOp::Match || b->getOp() == BinaryOp::NotMatch) {
        const auto *re = llvm::cast<RegexExpr>(b->getRHS());
        auto op = builder.create<fd::RecordMatchOp>(l, builder.getI1Type(), lhs,
                                                    re->getPattern());
        if (!re->getFlags().empty())
          op.setFlags(re->getFlags());
        if (b->getOp() == BinaryOp::NotMatch)
          op.setNegate(true);
        return op;
      }
      mlir::Value rhs = genRecordExpr(b->getRHS(), record);
      StringRef pred;
      switch (b->getOp()) {
      case BinaryOp::Less:
        pred = "lt";
        break;
      case BinaryOp::LessEqual:
        pred = "le";
        break;
      case BinaryOp::Greater:
        pred = "gt";
        break;
      case BinaryOp::GreaterEqual:
        pred = "ge";
        break;
      case BinaryOp::Equal:
        pred = "eq";
        break;
      case BinaryOp::NotEqual:
        pred = "ne";
        break;
      default:
        break;
      }
      if (!pred.empty())
        return builder.create<fd::RecordCompareOp>(l, builder.getI1Type(), pred,
                                                   lhs, rhs);
      StringRef op = b->getOp() == BinaryOp::Add   ? "add"
                     : b->getOp() == BinaryOp::Sub ? "sub"
                     : b->getOp() == BinaryOp::Mul ? "mul"
                     : b->getOp() == BinaryOp::Div ? "div"
                     : b->getOp() == BinaryOp::And ? "and"
                                                   : "or";
      mlir::Type resultType = (op == "and" || op == "or")
                                  ? (mlir::Type)builder.getI1Type()
                                  : (mlir::Type)valueType;
      return builder.create<fd::RecordArithOp>(l, resultType, op, lhs, rhs);
    }
    default:
      return genExpr(e);
    }
  }

  /// A region `(%r: !ftl.record) { ...; ftl.yield %v }` for a record-level
  /// argument.
  void genRecordRegion(mlir::Region &region, const Expr *e) {
    mlir::Block *block = new mlir::Block();
    region.push_back(block);
    mlir::Value record =
        block->addArgument(fd::RecordType::get(builder.getContext()), loc(e));
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(block);
    mlir::Value v = genRecordExpr(e, record);
    builder.create<fd::YieldOp>(loc(e), mlir::ValueRange{v});
  }

  //===--------------------------------------------------------------------===//
  // Calls
  //===--------------------------------------------------------------------===//

  /// Splits a built-in call's arguments into SSA operands, literal
  /// attributes and record-level regions (returned as expressions).
  void bindArgs(const Builtin *builtin, const CallExpr *call, const Expr *piped,
                llvm::SmallVectorImpl<mlir::NamedAttribute> &attrs,
                llvm::SmallVectorImpl<mlir::Value> &operands,
                llvm::SmallVectorImpl<mlir::Attribute> &operandNames,
                llvm::SmallVectorImpl<std::pair<StringRef, const Expr *>>
                    *recordArgs = nullptr) {
    if (!builtin) { // load(...) as an adapter
      for (const Argument &arg : call->getArgs())
        if (mlir::Attribute a = literalAttr(arg.value, "string"))
          attrs.push_back(builder.getNamedAttr("path", a));
      return;
    }
    llvm::SmallVector<std::pair<StringRef, const Expr *>> bound;
    llvm::SmallVector<const Expr *> positional;
    if (piped)
      positional.push_back(piped);
    for (const Argument &arg : call->getArgs())
      if (!arg.isKeyword())
        positional.push_back(arg.value);
    size_t next = 0;
    for (const Expr *value : positional) {
      while (next < builtin->params.size() &&
             builtin->params[next].isVariadicKeyword())
        ++next;
      const BuiltinParam &p = builtin->params[next];
      bound.push_back({p.name, value});
      if (!p.isVariadicPositional())
        ++next;
    }
    for (const Argument &arg : call->getArgs())
      if (arg.isKeyword())
        bound.push_back({arg.name, arg.value});

    for (auto [rawName, value] : bound) {
      StringRef name = rawName.ltrim('*');
      const BuiltinParam *param = nullptr;
      for (const BuiltinParam &p : builtin->params)
        if (p.plainName() == name)
          param = &p;
      StringRef spec = param ? param->type : StringRef("any");
      if (!param)
        for (const BuiltinParam &p : builtin->params)
          if (p.isVariadicKeyword())
            spec = p.type;
      bool recordLevel =
          spec == "pred" || spec == "recexpr" ||
          (spec == "pred|selection" &&
           !(value->getType() && value->getType()->is(Type::Kind::Selection)));
      if (recordLevel && recordArgs) {
        recordArgs->push_back({name, value});
        continue;
      }
      if (isLiteral(value) || spec.starts_with("enum(")) {
        if (mlir::Attribute a = literalAttr(value, spec))
          attrs.push_back(builder.getNamedAttr(name, a));
        continue;
      }
      mlir::Value v = genExpr(value);
      if (!v)
        continue;
      operands.push_back(v);
      operandNames.push_back(builder.getStringAttr(name));
    }
  }

  mlir::Value genCall(const CallExpr *call, const Expr *piped) {
    auto userIt = program.info.userCalls.find(call);
    if (userIt != program.info.userCalls.end() && userIt->second)
      return genUserCall(userIt->second, call, piped);
    const Builtin *builtin = lookupBuiltin(call->getCallee());
    assert(builtin && "Sema resolved every call");
    StringRef name = builtin->name;
    StringRef category = builtin->category;
    mlir::Location l = loc(call);
    mlir::MLIRContext *ctx = builder.getContext();

    llvm::SmallVector<mlir::NamedAttribute> attrs;
    llvm::SmallVector<mlir::Value> operands;
    llvm::SmallVector<mlir::Attribute> operandNames;
    llvm::SmallVector<std::pair<StringRef, const Expr *>> recordArgs;
    auto setAttrs = [&](mlir::Operation *op) {
      for (mlir::NamedAttribute a : attrs)
        op->setAttr(a.getName(), a.getValue());
      return op;
    };

    if (name == "llama" || name == "gpt2") {
      bindArgs(builtin, call, piped, attrs, operands, operandNames);
      addDefaults(builtin, attrs, operandNames);
      auto intAttr = [&](StringRef key) -> int64_t {
        for (auto &a : attrs)
          if (a.getName() == key)
            if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(a.getValue()))
              return i.getInt();
        return -1;
      };
      if (name == "llama") {
        if (intAttr("kv_heads") < 0)
          attrs.push_back(builder.getNamedAttr(
              "kv_heads", builder.getI64IntegerAttr(intAttr("heads"))));
        if (intAttr("ffn") < 0)
          attrs.push_back(builder.getNamedAttr(
              "ffn", builder.getI64IntegerAttr(((8 * intAttr("dim") / 3) + 7) /
                                               8 * 8)));
      }
      StringRef bindingName =
          currentBindingName.empty() ? "model" : currentBindingName;
      auto op = builder.create<fd::ModelBuildOp>(l, fd::ModelType::get(ctx),
                                                 name, bindingName);
      setAttrs(op);
      recordModelInfo(op);
      return op;
    }
    if (name == "load") {
      auto path = llvm::cast<mlir::StringAttr>(
          literalAttr(call->getArgs()[0].value, "string"));
      auto op = builder.create<fd::ModelLoadOp>(
          l, fd::ModelType::get(ctx), path,
          currentBindingName.empty() ? StringRef("model") : currentBindingName);
      if (const auto *str =
              llvm::dyn_cast<StringExpr>(call->getArgs()[0].value))
        if (const Type *t = call->getType())
          if (const ModelInfo *info = t->getModelInfo()) {
            modelInfos[op.getResult().getAsOpaquePointer()] = *info;
            (void)str;
          }
      return op;
    }
    if (name == "snapshot" || name == "frozen") {
      mlir::Value source = genExpr(call->getArgs()[0].value);
      auto op = builder.create<fd::ModelSnapshotOp>(l, fd::ModelType::get(ctx),
                                                    source, name == "frozen");
      copyModelInfo(source, op);
      return op;
    }
    if (name == "merge") {
      mlir::Value base = genExpr(call->getArgs()[0].value);
      llvm::SmallVector<mlir::Value> adapters;
      for (const Argument &arg : call->getArgs().drop_front())
        adapters.push_back(genExpr(arg.value));
      auto op = builder.create<fd::ModelMergeOp>(l, fd::ModelType::get(ctx),
                                                 base, adapters);
      copyModelInfo(base, op);
      return op;
    }
    if (category == "tokenizer") {
      bindArgs(builtin, call, piped, attrs, operands, operandNames);
      mlir::StringAttr path;
      for (auto &a : attrs)
        if (a.getName() == "path")
          path = llvm::cast<mlir::StringAttr>(a.getValue());
      auto op = builder.create<fd::TokenizerOp>(l, fd::TokenizerType::get(ctx),
                                                name, path);
      for (auto &a : attrs)
        if (a.getName() != "path")
          op->setAttr(a.getName(), a.getValue());
      return op;
    }
    if (name == "jsonl" || name == "text") {
      mlir::StringAttr path;
      llvm::SmallVector<mlir::NamedAttribute> fields;
      const Expr *pathExpr = piped ? piped : call->getArgs()[0].value;
      path = llvm::cast<mlir::StringAttr>(literalAttr(pathExpr, "string"));
      for (const Argument &arg : call->getArgs()) {
        if (!arg.isKeyword())
          continue;
        if (name == "jsonl" && arg.name != "on_error" &&
            arg.name != "invalid_utf8" && arg.name != "path")
          fields.push_back(
              builder.getNamedAttr(arg.name, literalAttr(arg.value, "string")));
        else if (arg.name != "path")
          attrs.push_back(
              builder.getNamedAttr(arg.name, literalAttr(arg.value, "string")));
      }
      auto op = builder.create<fd::DataSourceOp>(
          l, fd::DataType::get(ctx), name, path,
          fields.empty() ? mlir::DictionaryAttr()
                         : builder.getDictionaryAttr(fields));
      setAttrs(op);
      return op;
    }
    if (name == "mixture") {
      llvm::SmallVector<mlir::Value> sources;
      llvm::SmallVector<mlir::Attribute> names;
      llvm::SmallVector<mlir::Attribute> ratios;
      for (const Argument &arg : call->getArgs()) {
        if (arg.name == "by" || arg.name == "cap" || arg.name == "total") {
          attrs.push_back(builder.getNamedAttr(
              arg.name,
              literalAttr(arg.value, arg.name == "by" ? "string" : "int")));
          continue;
        }
        sources.push_back(env->lookup(arg.name)->value);
        names.push_back(builder.getStringAttr(arg.name));
        ratios.push_back(literalAttr(arg.value, "fraction"));
      }
      auto op = builder.create<fd::DataMixtureOp>(
          l, fd::DataType::get(ctx), sources, builder.getArrayAttr(names),
          builder.getArrayAttr(ratios));
      setAttrs(op);
      return op;
    }
    if (category == "data operator" || category == "pair builder") {
      bindArgs(builtin, call, piped, attrs, operands, operandNames,
               &recordArgs);
      llvm::SmallVector<mlir::Attribute> regionParams;
      llvm::SmallVector<StringRef> regionNames;
      for (auto &[paramName, e] : recordArgs) {
        regionParams.push_back(builder.getStringAttr(paramName));
        regionNames.push_back(paramName);
      }
      addDefaults(builtin, attrs, operandNames, regionNames);
      auto op = builder.create<fd::DataOp>(
          l, mlir::TypeRange{fd::DataType::get(ctx)}, name, operands,
          builder.getArrayAttr(operandNames),
          builder.getArrayAttr(regionParams), recordArgs.size());
      setAttrs(op);
      for (size_t i = 0; i < recordArgs.size(); ++i)
        genRecordRegion(op.getRecordExprs()[i], recordArgs[i].second);
      if (name == "split") {
        std::vector<std::string> parts = {"train"};
        for (const Argument &arg : call->getArgs())
          if (arg.isKeyword())
            parts.push_back(arg.name.str());
        dataParts[op.getResult().getAsOpaquePointer()] = parts;
      }
      return op;
    }
    if (category == "loss") {
      if (name == "balance") {
        llvm::SmallVector<mlir::Value> terms, validation;
        llvm::SmallVector<mlir::NamedAttribute> settings;
        mlir::StringAttr by = builder.getStringAttr("loss_scale");
        for (const Argument &arg : call->getArgs()) {
          if (arg.name == "by") {
            by = llvm::cast<mlir::StringAttr>(literalAttr(arg.value, "string"));
          } else if (arg.name == "val") {
            Env *where;
            const Expr *list = resolveLiteral(arg.value, where);
            if (const auto *l = llvm::dyn_cast<ListExpr>(list))
              for (const Expr *x : l->getElements())
                validation.push_back(genExpr(x));
          } else if (arg.isKeyword()) {
            StringRef spec;
            for (const BuiltinParam &p : builtin->params)
              if (p.name == arg.name)
                spec = p.type;
            settings.push_back(
                builder.getNamedAttr(arg.name, literalAttr(arg.value, spec)));
          } else {
            terms.push_back(genExpr(arg.value));
          }
        }
        auto sum = builder.create<fd::ObjectiveSumOp>(
            l, fd::ObjectiveType::get(ctx), terms, validation, by);
        for (mlir::NamedAttribute a : settings)
          sum->setAttr(a.getName(), a.getValue());
        return sum;
      }
      bindArgs(builtin, call, piped, attrs, operands, operandNames);
      addDefaults(builtin, attrs, operandNames);
      auto op = builder.create<fd::LossOp>(l, fd::ObjectiveType::get(ctx), name,
                                           operands,
                                           builder.getArrayAttr(operandNames));
      setAttrs(op);
      return op;
    }
    if (category == "metric") {
      bindArgs(builtin, call, piped, attrs, operands, operandNames);
      addDefaults(builtin, attrs, operandNames);
      auto op =
          builder.create<fd::MetricOp>(l, builder.getF64Type(), name, operands,
                                       builder.getArrayAttr(operandNames));
      setAttrs(op);
      return op;
    }
    if (name == "generate") {
      bindArgs(builtin, call, piped, attrs, operands, operandNames);
      addDefaults(builtin, attrs, operandNames);
      auto op = builder.create<fd::GenerateOp>(l, fd::DataType::get(ctx),
                                               operands[0], operands[1]);
      setAttrs(op);
      return op;
    }
    if (name == "judge") {
      mlir::Value samples = genExpr(piped ? piped : call->getArgs()[0].value);
      mlir::Value judge;
      for (const Argument &arg : call->getArgs())
        if (arg.name == "by" ||
            (!arg.isKeyword() && arg.value != call->getArgs()[0].value))
          judge = genExpr(arg.value);
      if (!judge)
        judge = genExpr(call->getArgs().back().value);
      auto op = builder.create<fd::JudgeOp>(l, fd::DataType::get(ctx), samples,
                                            judge);
      dataParts[op.getResult().getAsOpaquePointer()] = {"pass", "fail"};
      return op;
    }
    // Descriptors: optimizers, schedules, judges, masks, dedup keys, ...
    bindArgs(builtin, call, piped, attrs, operands, operandNames);
    addDefaults(builtin, attrs, operandNames);
    mlir::Type type = descriptorType(builtin, call);
    auto op = builder.create<fd::MakeOp>(l, type, name, operands,
                                         builder.getArrayAttr(operandNames));
    setAttrs(op);
    return op;
  }

  mlir::Type descriptorType(const Builtin *builtin, const CallExpr *call) {
    mlir::MLIRContext *ctx = builder.getContext();
    if (builtin->name == "exact")
      return call->getType() && call->getType()->is(Type::Kind::Judge)
                 ? (mlir::Type)fd::JudgeType::get(ctx)
                 : (mlir::Type)fd::DedupKeyType::get(ctx);
    StringRef c = builtin->category;
    StringRef r = builtin->result;
    if (c == "optimizer")
      return fd::OptimizerType::get(ctx);
    if (c == "schedule")
      return fd::ScheduleType::get(ctx);
    if (c == "judge")
      return fd::JudgeType::get(ctx);
    if (c == "mask")
      return fd::MaskType::get(ctx);
    if (c == "token weighting")
      return fd::TokenWeightsType::get(ctx);
    if (r == "dedupkey")
      return fd::DedupKeyType::get(ctx);
    if (r == "percentile")
      return fd::PercentileType::get(ctx);
    return fd::SelectionType::get(ctx);
  }

  void recordModelInfo(fd::ModelBuildOp op) {
    ModelInfo info;
    auto get = [&](StringRef key, int64_t fallback) {
      if (auto a = op->getAttrOfType<mlir::IntegerAttr>(key))
        return a.getInt();
      return fallback;
    };
    auto getBool = [&](StringRef key, bool fallback) {
      if (auto a = op->getAttrOfType<mlir::BoolAttr>(key))
        return a.getValue();
      return fallback;
    };
    bool gpt2 = op.getArch() == "gpt2";
    info.arch = gpt2 ? ModelInfo::Arch::GPT2 : ModelInfo::Arch::Llama;
    info.vocab = get("vocab", gpt2 ? 50257 : 0);
    info.dim = get("dim", gpt2 ? 768 : 0);
    info.layers = get("layers", gpt2 ? 12 : 0);
    info.heads = get("heads", gpt2 ? 12 : 0);
    info.kvHeads = gpt2 ? info.heads : get("kv_heads", info.heads);
    info.ffn =
        gpt2 ? 4 * info.dim : get("ffn", ((8 * info.dim / 3) + 7) / 8 * 8);
    info.ctx = get("ctx", gpt2 ? 1024 : 2048);
    info.tied = gpt2 || getBool("tied", false);
    info.qkvBias = gpt2 || getBool("qkv_bias", false);
    modelInfos[op.getResult().getAsOpaquePointer()] = info;
  }

  void copyModelInfo(mlir::Value from, mlir::Value to) {
    auto it = modelInfos.find(from.getAsOpaquePointer());
    if (it != modelInfos.end()) {
      ModelInfo info = it->second;
      modelInfos[to.getAsOpaquePointer()] = info;
    }
  }

  mlir::Value genUserCall(const DefStmt *def, const CallExpr *call,
                          const Expr *piped) {
    // Bind parameters: pipeline values are generated once here; literal
    // arguments stay expressions so they can become attributes.
    Env *callerEnv = env;
    auto calleeEnv = std::make_unique<Env>();
    llvm::SmallVector<const Expr *> positional;
    if (piped)
      positional.push_back(piped);
    for (const Argument &arg : call->getArgs())
      if (!arg.isKeyword())
        positional.push_back(arg.value);
    auto bindParam = [&](const Param &param, const Expr *value) {
      static const StringRef literalTypes[] = {
          "int", "number", "percent", "duration", "string", "regex", "bool"};
      if (llvm::is_contained(literalTypes, param.typeName))
        calleeEnv->names[param.name] = {mlir::Value(), value, callerEnv};
      else
        calleeEnv->names[param.name] = {genExpr(value)};
    };
    llvm::ArrayRef<Param> params = def->getParams();
    for (size_t i = 0; i < positional.size() && i < params.size(); ++i)
      bindParam(params[i], positional[i]);
    for (const Argument &arg : call->getArgs())
      if (arg.isKeyword())
        for (const Param &p : params)
          if (p.name == arg.name)
            bindParam(p, arg.value);
    callSites.push_back(loc(call));
    ownedEnvs.push_back(std::move(calleeEnv));
    env = ownedEnvs.back().get();
    genStmts(def->getBody());
    env = callerEnv;
    callSites.pop_back();
    return {};
  }

  mlir::OpBuilder builder;
  llvm::SourceMgr &sourceMgr;
  const Program &program;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  Env *env = nullptr;
  std::vector<std::unique_ptr<Env>> ownedEnvs;
  llvm::SmallVector<mlir::Location> callSites;
  StringRef currentBindingName;
  std::map<void *, ModelInfo> modelInfos;
  std::map<void *, std::vector<std::string>> dataParts;
};

} // namespace

mlir::OwningOpRef<mlir::ModuleOp> ftl::mlirGen(mlir::MLIRContext &context,
                                               llvm::SourceMgr &sourceMgr,
                                               const Program &program) {
  context.loadDialect<fd::FTLDialect, mlir::arith::ArithDialect>();
  MLIRGenImpl gen(context, sourceMgr, program);
  return gen.generate();
}
