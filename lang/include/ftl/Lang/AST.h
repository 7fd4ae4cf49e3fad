//===- ftl/Lang/AST.h - Abstract syntax tree of .ftl files ------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The AST of a .ftl file. Nodes live in an ASTContext arena, are trivially
/// destructible, refer to source text by StringRef, and carry the source range
/// they were parsed from. LLVM-style RTTI (`isa`, `cast`, `dyn_cast`).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_AST_H
#define FTL_LANG_AST_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/SMLoc.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace llvm {
class raw_ostream;
}

namespace ftl::lang {

class Type;

//===----------------------------------------------------------------------===//
// Context
//===----------------------------------------------------------------------===//

class ASTContext {
public:
  template <typename T, typename... Args>
  T *create(Args &&...args) {
    static_assert(std::is_trivially_destructible_v<T>,
                  "AST nodes must be trivially destructible");
    return new (allocator.Allocate<T>()) T(std::forward<Args>(args)...);
  }
  template <typename T>
  llvm::ArrayRef<T> copy(llvm::ArrayRef<T> values) {
    if (values.empty())
      return {};
    T *data = allocator.Allocate<T>(values.size());
    std::uninitialized_copy(values.begin(), values.end(), data);
    return {data, values.size()};
  }
  llvm::StringRef copy(llvm::StringRef text) {
    if (text.empty())
      return {};
    char *data = allocator.Allocate<char>(text.size());
    std::memcpy(data, text.data(), text.size());
    return {data, text.size()};
  }

private:
  llvm::BumpPtrAllocator allocator;
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class Expr {
public:
  enum class Kind {
    Integer,
    Float,
    Percent,
    Duration,
    String,
    Regex,
    Bool,
    Name,
    Field,
    Member,
    Index,
    Range,
    Call,
    Pipe,
    Binary,
    Unary,
    List,
    Wildcard,
  };

  Kind getKind() const { return kind; }
  llvm::SMRange getRange() const { return range; }
  llvm::SMLoc getLoc() const { return range.Start; }

  /// Filled in by Sema.
  const Type *getType() const { return type; }
  void setType(const Type *t) const { type = t; }

  /// The height of the tree under this node: 1 for a leaf, one more than the
  /// deepest operand otherwise. The parser bounds it (maxNestingDepth), so
  /// recursive walks over expressions have a bounded depth.
  unsigned getDepth() const { return depth; }

protected:
  Expr(Kind kind, llvm::SMRange range, unsigned depth = 1)
      : kind(kind), depth(depth), range(range) {}
  static unsigned depthOf(const Expr *e) { return e ? e->depth : 0; }
  static unsigned depthOf(const Expr *a, const Expr *b) {
    return 1 + std::max(depthOf(a), depthOf(b));
  }

private:
  Kind kind;
  unsigned depth;
  llvm::SMRange range;
  mutable const Type *type = nullptr;
};

class IntegerExpr : public Expr {
public:
  IntegerExpr(llvm::SMRange range, int64_t value)
      : Expr(Kind::Integer, range), value(value) {}
  int64_t getValue() const { return value; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Integer; }

private:
  int64_t value;
};

class FloatExpr : public Expr {
public:
  FloatExpr(llvm::SMRange range, double value)
      : Expr(Kind::Float, range), value(value) {}
  double getValue() const { return value; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Float; }

private:
  double value;
};

/// `15%`: the value is the fraction (0.15).
class PercentExpr : public Expr {
public:
  PercentExpr(llvm::SMRange range, double fraction)
      : Expr(Kind::Percent, range), fraction(fraction) {}
  double getFraction() const { return fraction; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Percent; }

private:
  double fraction;
};

/// `5s`, `200ms`: the value in seconds.
class DurationExpr : public Expr {
public:
  DurationExpr(llvm::SMRange range, double seconds)
      : Expr(Kind::Duration, range), seconds(seconds) {}
  double getSeconds() const { return seconds; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Duration; }

private:
  double seconds;
};

class StringExpr : public Expr {
public:
  StringExpr(llvm::SMRange range, llvm::StringRef value)
      : Expr(Kind::String, range), value(value) {}
  /// The decoded value (escapes resolved).
  llvm::StringRef getValue() const { return value; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::String; }

private:
  llvm::StringRef value;
};

class RegexExpr : public Expr {
public:
  RegexExpr(llvm::SMRange range, llvm::StringRef pattern, llvm::StringRef flags)
      : Expr(Kind::Regex, range), pattern(pattern), flags(flags) {}
  llvm::StringRef getPattern() const { return pattern; }
  llvm::StringRef getFlags() const { return flags; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Regex; }

private:
  llvm::StringRef pattern, flags;
};

class BoolExpr : public Expr {
public:
  BoolExpr(llvm::SMRange range, bool value)
      : Expr(Kind::Bool, range), value(value) {}
  bool getValue() const { return value; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Bool; }

private:
  bool value;
};

/// A use of a name: `base`, `response` (an enum value), `loss_scale`.
class NameExpr : public Expr {
public:
  NameExpr(llvm::SMRange range, llvm::StringRef name)
      : Expr(Kind::Name, range), name(name) {}
  llvm::StringRef getName() const { return name; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Name; }

private:
  llvm::StringRef name;
};

/// A field of the current record inside a data operator: `.answer`.
class FieldExpr : public Expr {
public:
  FieldExpr(llvm::SMRange range, llvm::StringRef name)
      : Expr(Kind::Field, range), name(name) {}
  llvm::StringRef getName() const { return name; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Field; }

private:
  llvm::StringRef name;
};

/// One step of a member path. In selectors a member can be a set `{q, v}` or
/// a glob (`*`, `norm*`); in ordinary expressions it is a plain name.
class MemberExpr : public Expr {
public:
  MemberExpr(llvm::SMRange range, const Expr *base,
             llvm::ArrayRef<llvm::StringRef> names, bool isSet)
      : Expr(Kind::Member, range, depthOf(base, nullptr)), base(base),
        names(names), isSet(isSet) {}
  const Expr *getBase() const { return base; }
  /// One name (possibly a glob), or the members of a set.
  llvm::ArrayRef<llvm::StringRef> getNames() const { return names; }
  llvm::StringRef getName() const { return names.front(); }
  bool isMemberSet() const { return isSet; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Member; }

private:
  const Expr *base;
  llvm::ArrayRef<llvm::StringRef> names;
  bool isSet;
};

/// `base[index]`; in selectors the index may be a Range, a Wildcard or a List.
class IndexExpr : public Expr {
public:
  IndexExpr(llvm::SMRange range, const Expr *base, const Expr *index)
      : Expr(Kind::Index, range, depthOf(base, index)), base(base),
        index(index) {}
  const Expr *getBase() const { return base; }
  const Expr *getIndex() const { return index; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Index; }

private:
  const Expr *base, *index;
};

/// `lo..hi`, inclusive at both ends; either bound may be missing (`2..`).
class RangeExpr : public Expr {
public:
  RangeExpr(llvm::SMRange range, const Expr *lo, const Expr *hi)
      : Expr(Kind::Range, range, depthOf(lo, hi)), lo(lo), hi(hi) {}
  const Expr *getLo() const { return lo; }
  const Expr *getHi() const { return hi; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Range; }

private:
  const Expr *lo, *hi;
};

/// `*` as an index in a selector: `layers[*]`.
class WildcardExpr : public Expr {
public:
  explicit WildcardExpr(llvm::SMRange range) : Expr(Kind::Wildcard, range) {}
  static bool classof(const Expr *e) { return e->getKind() == Kind::Wildcard; }
};

struct Argument {
  llvm::StringRef name; ///< empty for positional arguments
  llvm::SMRange nameRange;
  const Expr *value;
  bool isKeyword() const { return !name.empty(); }
};

class CallExpr : public Expr {
public:
  CallExpr(llvm::SMRange range, llvm::StringRef callee,
           llvm::SMRange calleeRange, llvm::ArrayRef<Argument> args)
      : Expr(Kind::Call, range, argsDepth(args)), callee(callee),
        calleeRange(calleeRange), args(args) {}
  llvm::StringRef getCallee() const { return callee; }
  llvm::SMRange getCalleeRange() const { return calleeRange; }
  llvm::ArrayRef<Argument> getArgs() const { return args; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Call; }

private:
  static unsigned argsDepth(llvm::ArrayRef<Argument> args) {
    unsigned deepest = 0;
    for (const Argument &arg : args)
      deepest = std::max(deepest, depthOf(arg.value));
    return deepest + 1;
  }

  llvm::StringRef callee;
  llvm::SMRange calleeRange;
  llvm::ArrayRef<Argument> args;
};

/// `input |> op(args)`: op receives `input` as its first argument.
class PipeExpr : public Expr {
public:
  PipeExpr(llvm::SMRange range, const Expr *input, const CallExpr *op)
      : Expr(Kind::Pipe, range, depthOf(input, op)), input(input), op(op) {}
  const Expr *getInput() const { return input; }
  const CallExpr *getOp() const { return op; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Pipe; }

private:
  const Expr *input;
  const CallExpr *op;
};

enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  Equal,
  NotEqual,
  Match,
  NotMatch,
  And,
  Or,
};
llvm::StringRef spelling(BinaryOp op);

class BinaryExpr : public Expr {
public:
  BinaryExpr(llvm::SMRange range, BinaryOp op, llvm::SMRange opRange,
             const Expr *lhs, const Expr *rhs)
      : Expr(Kind::Binary, range, depthOf(lhs, rhs)), op(op), opRange(opRange),
        lhs(lhs), rhs(rhs) {}
  BinaryOp getOp() const { return op; }
  llvm::SMRange getOpRange() const { return opRange; }
  const Expr *getLHS() const { return lhs; }
  const Expr *getRHS() const { return rhs; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Binary; }

private:
  BinaryOp op;
  llvm::SMRange opRange;
  const Expr *lhs, *rhs;
};

enum class UnaryOp { Neg, Not };

class UnaryExpr : public Expr {
public:
  UnaryExpr(llvm::SMRange range, UnaryOp op, const Expr *operand)
      : Expr(Kind::Unary, range, depthOf(operand, nullptr)), op(op),
        operand(operand) {}
  UnaryOp getOp() const { return op; }
  const Expr *getOperand() const { return operand; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::Unary; }

private:
  UnaryOp op;
  const Expr *operand;
};

/// `[a, b, c]`, or the bare index list of a selector (`layers[0, 3]`).
class ListExpr : public Expr {
public:
  ListExpr(llvm::SMRange range, llvm::ArrayRef<const Expr *> elements,
           bool bracketed = true)
      : Expr(Kind::List, range, elementsDepth(elements)), elements(elements),
        bracketed(bracketed) {}
  llvm::ArrayRef<const Expr *> getElements() const { return elements; }
  /// False for a selector's index list, which is written without brackets.
  bool isBracketed() const { return bracketed; }
  static bool classof(const Expr *e) { return e->getKind() == Kind::List; }

private:
  static unsigned elementsDepth(llvm::ArrayRef<const Expr *> elements) {
    unsigned deepest = 0;
    for (const Expr *e : elements)
      deepest = std::max(deepest, depthOf(e));
    return deepest + 1;
  }

  llvm::ArrayRef<const Expr *> elements;
  bool bracketed;
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

class Stmt {
public:
  enum class Kind {
    Seed,
    Binding,
    Adapter,
    Freeze,
    Train,
    Loop,
    Log,
    Save,
    Def,
    Import,
    Append,
    ExprStmt,
  };
  Kind getKind() const { return kind; }
  llvm::SMRange getRange() const { return range; }
  llvm::SMLoc getLoc() const { return range.Start; }

protected:
  Stmt(Kind kind, llvm::SMRange range) : kind(kind), range(range) {}

private:
  Kind kind;
  llvm::SMRange range;
};

/// `seed 1234`
class SeedStmt : public Stmt {
public:
  SeedStmt(llvm::SMRange range, const Expr *value)
      : Stmt(Kind::Seed, range), value(value) {}
  const Expr *getValue() const { return value; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Seed; }

private:
  const Expr *value;
};

/// What a binding statement declares.
enum class BindingKind { Model, Tokenizer, Data, Objective, Eval, Let };
llvm::StringRef spelling(BindingKind kind);

/// `model base = llama(...)`, `data d = ...`, `let x = ...`, `eval acc = ...`
class BindingStmt : public Stmt {
public:
  BindingStmt(llvm::SMRange range, BindingKind bindingKind,
              llvm::StringRef name, llvm::SMRange nameRange, const Expr *value)
      : Stmt(Kind::Binding, range), bindingKind(bindingKind), name(name),
        nameRange(nameRange), value(value) {}
  BindingKind getBindingKind() const { return bindingKind; }
  llvm::StringRef getName() const { return name; }
  llvm::SMRange getNameRange() const { return nameRange; }
  const Expr *getValue() const { return value; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Binding; }

private:
  BindingKind bindingKind;
  llvm::StringRef name;
  llvm::SMRange nameRange;
  const Expr *value;
};

/// `adapter a = lora(rank: 8) on base.layers[*].attn.{q, v}, ...`
class AdapterStmt : public Stmt {
public:
  AdapterStmt(llvm::SMRange range, llvm::StringRef name,
              llvm::SMRange nameRange, const CallExpr *kind,
              llvm::ArrayRef<const Expr *> targets)
      : Stmt(Kind::Adapter, range), name(name), nameRange(nameRange),
        kind(kind), targets(targets) {}
  llvm::StringRef getName() const { return name; }
  llvm::SMRange getNameRange() const { return nameRange; }
  const CallExpr *getAdapterKind() const { return kind; }
  llvm::ArrayRef<const Expr *> getTargets() const { return targets; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Adapter; }

private:
  llvm::StringRef name;
  llvm::SMRange nameRange;
  const CallExpr *kind;
  llvm::ArrayRef<const Expr *> targets;
};

/// `freeze base except a, base.layers[-1]`, and `reinit base.layers[-1]`
/// (the selected parameters get their initial values from the seed again;
/// no exceptions).
class FreezeStmt : public Stmt {
public:
  FreezeStmt(llvm::SMRange range, llvm::ArrayRef<const Expr *> targets,
             llvm::ArrayRef<const Expr *> exceptions, bool reinit = false)
      : Stmt(Kind::Freeze, range), targets(targets), exceptions(exceptions),
        reinit(reinit) {}
  llvm::ArrayRef<const Expr *> getTargets() const { return targets; }
  llvm::ArrayRef<const Expr *> getExceptions() const { return exceptions; }
  bool isReinit() const { return reinit; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Freeze; }

private:
  llvm::ArrayRef<const Expr *> targets, exceptions;
  bool reinit;
};

/// One clause of a train statement: `using adamw(...)`, `steps 200`.
struct TrainClause {
  llvm::StringRef name;
  llvm::SMRange nameRange;
  const Expr *value;
};

/// `train base with obj using adamw(lr: 3e-4) schedule cosine() steps 200`
class TrainStmt : public Stmt {
public:
  TrainStmt(llvm::SMRange range, const Expr *model, const Expr *objective,
            llvm::ArrayRef<TrainClause> clauses)
      : Stmt(Kind::Train, range), model(model), objective(objective),
        clauses(clauses) {}
  const Expr *getModel() const { return model; }
  const Expr *getObjective() const { return objective; }
  llvm::ArrayRef<TrainClause> getClauses() const { return clauses; }
  const TrainClause *findClause(llvm::StringRef name) const {
    for (const TrainClause &clause : clauses)
      if (clause.name == name)
        return &clause;
    return nullptr;
  }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Train; }

private:
  const Expr *model, *objective;
  llvm::ArrayRef<TrainClause> clauses;
};

/// `loop round in 1..3 until acc >= 0.9 { ... }`
class LoopStmt : public Stmt {
public:
  LoopStmt(llvm::SMRange range, llvm::StringRef var, llvm::SMRange varRange,
           const Expr *iterRange, const Expr *until,
           llvm::ArrayRef<const Stmt *> body, llvm::SMLoc lbrace)
      : Stmt(Kind::Loop, range), var(var), varRange(varRange),
        iterRange(iterRange), until(until), body(body), lbrace(lbrace) {}
  llvm::StringRef getVar() const { return var; }
  llvm::SMRange getVarRange() const { return varRange; }
  const Expr *getIterRange() const { return iterRange; }
  const Expr *getUntil() const { return until; }
  llvm::ArrayRef<const Stmt *> getBody() const { return body; }
  /// The `{` that opens the body (the statement's range ends at its `}`).
  llvm::SMLoc getLBraceLoc() const { return lbrace; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Loop; }

private:
  llvm::StringRef var;
  llvm::SMRange varRange;
  const Expr *iterRange, *until;
  llvm::ArrayRef<const Stmt *> body;
  llvm::SMLoc lbrace;
};

/// `log round, acc`
class LogStmt : public Stmt {
public:
  LogStmt(llvm::SMRange range, llvm::ArrayRef<const Expr *> values)
      : Stmt(Kind::Log, range), values(values) {}
  llvm::ArrayRef<const Expr *> getValues() const { return values; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Log; }

private:
  llvm::ArrayRef<const Expr *> values;
};

/// `save a to "out/adapter"`
class SaveStmt : public Stmt {
public:
  SaveStmt(llvm::SMRange range, const Expr *value, const Expr *path)
      : Stmt(Kind::Save, range), value(value), path(path) {}
  const Expr *getValue() const { return value; }
  const Expr *getPath() const { return path; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Save; }

private:
  const Expr *value, *path;
};

struct Param {
  llvm::StringRef name;
  llvm::SMRange nameRange;
  llvm::StringRef typeName;
  llvm::SMRange typeRange;
};

/// `def rejection_sft(m: model, d: data, rounds: int) { ... }`
class DefStmt : public Stmt {
public:
  DefStmt(llvm::SMRange range, llvm::StringRef name, llvm::SMRange nameRange,
          llvm::ArrayRef<Param> params, llvm::ArrayRef<const Stmt *> body,
          llvm::SMLoc lbrace)
      : Stmt(Kind::Def, range), name(name), nameRange(nameRange),
        params(params), body(body), lbrace(lbrace) {}
  llvm::StringRef getName() const { return name; }
  llvm::SMRange getNameRange() const { return nameRange; }
  llvm::ArrayRef<Param> getParams() const { return params; }
  llvm::ArrayRef<const Stmt *> getBody() const { return body; }
  /// The `{` that opens the body (the statement's range ends at its `}`).
  llvm::SMLoc getLBraceLoc() const { return lbrace; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Def; }

private:
  llvm::StringRef name;
  llvm::SMRange nameRange;
  llvm::ArrayRef<Param> params;
  llvm::ArrayRef<const Stmt *> body;
  llvm::SMLoc lbrace;
};

/// `import std.recipes.{spin, faft}` or `import "lib/mine.ftl"`
class ImportStmt : public Stmt {
public:
  struct Name {
    llvm::StringRef name;
    llvm::SMRange range;
  };
  ImportStmt(llvm::SMRange range, llvm::StringRef module,
             llvm::SMRange moduleRange, bool isPath, llvm::ArrayRef<Name> names)
      : Stmt(Kind::Import, range), module(module), moduleRange(moduleRange),
        isPath(isPath), names(names) {}
  /// Dotted module name (`std.recipes`) or a file path.
  llvm::StringRef getModule() const { return module; }
  llvm::SMRange getModuleRange() const { return moduleRange; }
  bool isFilePath() const { return isPath; }
  /// Names imported; empty means all.
  llvm::ArrayRef<Name> getNames() const { return names; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Import; }

private:
  llvm::StringRef module;
  llvm::SMRange moduleRange;
  bool isPath;
  llvm::ArrayRef<Name> names;
};

/// `pairs += new_pairs`
class AppendStmt : public Stmt {
public:
  AppendStmt(llvm::SMRange range, llvm::StringRef name, llvm::SMRange nameRange,
             const Expr *value)
      : Stmt(Kind::Append, range), name(name), nameRange(nameRange),
        value(value) {}
  llvm::StringRef getName() const { return name; }
  llvm::SMRange getNameRange() const { return nameRange; }
  const Expr *getValue() const { return value; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Append; }

private:
  llvm::StringRef name;
  llvm::SMRange nameRange;
  const Expr *value;
};

/// A call used as a statement: `rejection_sft(base, tasks, 3)`.
class ExprStmt : public Stmt {
public:
  ExprStmt(llvm::SMRange range, const Expr *expr)
      : Stmt(Kind::ExprStmt, range), expr(expr) {}
  const Expr *getExpr() const { return expr; }
  static bool classof(const Stmt *s) { return s->getKind() == Kind::ExprStmt; }

private:
  const Expr *expr;
};

/// A parsed file.
struct Module {
  llvm::StringRef path;
  unsigned bufferId = 0;
  llvm::ArrayRef<const Stmt *> stmts;
};

/// Prints the AST as an indented tree (ftl compile --emit=ast).
void dumpAST(const Module &module, llvm::raw_ostream &os);

} // namespace ftl::lang

#endif // FTL_LANG_AST_H
