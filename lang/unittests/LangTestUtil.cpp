//===- LangTestUtil.cpp - Helpers shared by the front-end tests -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "LangTestUtil.h"

#include "llvm/ADT/StringExtras.h"

using namespace ftl::lang;

static std::string binaryOp(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::Less:
    return "<";
  case BinaryOp::LessEqual:
    return "<=";
  case BinaryOp::Greater:
    return ">";
  case BinaryOp::GreaterEqual:
    return ">=";
  case BinaryOp::Equal:
    return "==";
  case BinaryOp::NotEqual:
    return "!=";
  case BinaryOp::Match:
    return "=~";
  case BinaryOp::NotMatch:
    return "!~";
  case BinaryOp::And:
    return "&&";
  case BinaryOp::Or:
    return "||";
  }
  return "?";
}

static std::string number(double value) {
  std::string s = std::to_string(value);
  // Trim trailing zeros: 0.150000 -> 0.15, 5.000000 -> 5.
  while (!s.empty() && s.back() == '0')
    s.pop_back();
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  return s;
}

std::string ftl::lang::test::sexpr(const Expr *expr) {
  if (!expr)
    return "<>";
  switch (expr->getKind()) {
  case Expr::Kind::Integer:
    return std::to_string(llvm::cast<IntegerExpr>(expr)->getValue());
  case Expr::Kind::Float:
    return "f" + number(llvm::cast<FloatExpr>(expr)->getValue());
  case Expr::Kind::Percent:
    return "pct" + number(llvm::cast<PercentExpr>(expr)->getFraction());
  case Expr::Kind::Duration:
    return "sec" + number(llvm::cast<DurationExpr>(expr)->getSeconds());
  case Expr::Kind::String:
    return "\"" + llvm::cast<StringExpr>(expr)->getValue().str() + "\"";
  case Expr::Kind::Regex: {
    const auto *r = llvm::cast<RegexExpr>(expr);
    return "re/" + r->getPattern().str() + "/" + r->getFlags().str();
  }
  case Expr::Kind::Bool:
    return llvm::cast<BoolExpr>(expr)->getValue() ? "#t" : "#f";
  case Expr::Kind::Name:
    return llvm::cast<NameExpr>(expr)->getName().str();
  case Expr::Kind::Field:
    return "." + llvm::cast<FieldExpr>(expr)->getName().str();
  case Expr::Kind::Wildcard:
    return "*";
  case Expr::Kind::Member: {
    const auto *m = llvm::cast<MemberExpr>(expr);
    std::vector<std::string> names;
    for (llvm::StringRef n : m->getNames())
      names.push_back(n.str());
    std::string member =
        m->isMemberSet() ? "{" + llvm::join(names, ",") + "}" : names.front();
    return "(. " + sexpr(m->getBase()) + " " + member + ")";
  }
  case Expr::Kind::Index: {
    const auto *i = llvm::cast<IndexExpr>(expr);
    return "(idx " + sexpr(i->getBase()) + " " + sexpr(i->getIndex()) + ")";
  }
  case Expr::Kind::Range: {
    const auto *r = llvm::cast<RangeExpr>(expr);
    return "(.. " + sexpr(r->getLo()) + " " + sexpr(r->getHi()) + ")";
  }
  case Expr::Kind::Call: {
    const auto *c = llvm::cast<CallExpr>(expr);
    std::string out = "(call " + c->getCallee().str();
    for (const Argument &a : c->getArgs())
      out += " " + (a.isKeyword() ? a.name.str() + "=" : "") + sexpr(a.value);
    return out + ")";
  }
  case Expr::Kind::Pipe: {
    const auto *p = llvm::cast<PipeExpr>(expr);
    return "(|> " + sexpr(p->getInput()) + " " + sexpr(p->getOp()) + ")";
  }
  case Expr::Kind::Binary: {
    const auto *b = llvm::cast<BinaryExpr>(expr);
    return "(" + binaryOp(b->getOp()) + " " + sexpr(b->getLHS()) + " " +
           sexpr(b->getRHS()) + ")";
  }
  case Expr::Kind::Unary: {
    const auto *u = llvm::cast<UnaryExpr>(expr);
    return std::string("(") + (u->getOp() == UnaryOp::Neg ? "neg" : "not") +
           " " + sexpr(u->getOperand()) + ")";
  }
  case Expr::Kind::List: {
    std::string out = "[";
    for (const Expr *e : llvm::cast<ListExpr>(expr)->getElements())
      out += (out.size() > 1 ? " " : "") + sexpr(e);
    return out + "]";
  }
  }
  return "?";
}

static std::string joinExprs(llvm::ArrayRef<const Expr *> exprs) {
  std::vector<std::string> parts;
  for (const Expr *e : exprs)
    parts.push_back(ftl::lang::test::sexpr(e));
  return llvm::join(parts, " ");
}

static std::string joinStmts(llvm::ArrayRef<const Stmt *> stmts) {
  std::string out;
  for (const Stmt *s : stmts)
    out += " " + ftl::lang::test::sexpr(s);
  return out;
}

std::string ftl::lang::test::sexpr(const Stmt *stmt) {
  switch (stmt->getKind()) {
  case Stmt::Kind::Seed:
    return "(seed " + sexpr(llvm::cast<SeedStmt>(stmt)->getValue()) + ")";
  case Stmt::Kind::Binding: {
    const auto *b = llvm::cast<BindingStmt>(stmt);
    static const char *kinds[] = {"model",     "tokenizer", "data",
                                  "objective", "eval",      "let"};
    return std::string("(") + kinds[unsigned(b->getBindingKind())] + " " +
           b->getName().str() + " " + sexpr(b->getValue()) + ")";
  }
  case Stmt::Kind::Adapter: {
    const auto *a = llvm::cast<AdapterStmt>(stmt);
    return "(adapter " + a->getName().str() + " " + sexpr(a->getAdapterKind()) +
           " on " + joinExprs(a->getTargets()) + ")";
  }
  case Stmt::Kind::Freeze: {
    const auto *f = llvm::cast<FreezeStmt>(stmt);
    std::string out = "(freeze " + joinExprs(f->getTargets());
    if (!f->getExceptions().empty())
      out += " except " + joinExprs(f->getExceptions());
    return out + ")";
  }
  case Stmt::Kind::Train: {
    const auto *t = llvm::cast<TrainStmt>(stmt);
    std::string out =
        "(train " + sexpr(t->getModel()) + " " + sexpr(t->getObjective());
    for (const TrainClause &c : t->getClauses())
      out += " " + c.name.str() + "=" + sexpr(c.value);
    return out + ")";
  }
  case Stmt::Kind::Loop: {
    const auto *l = llvm::cast<LoopStmt>(stmt);
    std::string out =
        "(loop " + l->getVar().str() + " " + sexpr(l->getIterRange());
    if (l->getUntil())
      out += " until " + sexpr(l->getUntil());
    return out + " {" + joinStmts(l->getBody()) + " })";
  }
  case Stmt::Kind::Log:
    return "(log " + joinExprs(llvm::cast<LogStmt>(stmt)->getValues()) + ")";
  case Stmt::Kind::Save: {
    const auto *s = llvm::cast<SaveStmt>(stmt);
    return "(save " + sexpr(s->getValue()) + " " + sexpr(s->getPath()) + ")";
  }
  case Stmt::Kind::Def: {
    const auto *d = llvm::cast<DefStmt>(stmt);
    std::string out = "(def " + d->getName().str() + " (";
    for (size_t i = 0; i < d->getParams().size(); ++i)
      out += (i ? " " : "") + d->getParams()[i].name.str() + ":" +
             d->getParams()[i].typeName.str();
    return out + ") {" + joinStmts(d->getBody()) + " })";
  }
  case Stmt::Kind::Import: {
    const auto *i = llvm::cast<ImportStmt>(stmt);
    std::string out = std::string("(import ") +
                      (i->isFilePath() ? "file " : "module ") +
                      i->getModule().str();
    for (const auto &n : i->getNames())
      out += " " + n.name.str();
    return out + ")";
  }
  case Stmt::Kind::Append: {
    const auto *a = llvm::cast<AppendStmt>(stmt);
    return "(+= " + a->getName().str() + " " + sexpr(a->getValue()) + ")";
  }
  case Stmt::Kind::ExprStmt:
    return "(do " + sexpr(llvm::cast<ExprStmt>(stmt)->getExpr()) + ")";
  }
  return "?";
}
