//===- AST.cpp - Printing the AST -----------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/AST.h"
#include "ftl/Lang/Formatter.h"
#include "ftl/Lang/Types.h"

#include "llvm/Support/raw_ostream.h"

using namespace ftl::lang;
using llvm::raw_ostream;

namespace {
class Dumper {
public:
  explicit Dumper(raw_ostream &os) : os(os) {}

  void stmt(const Stmt *s, unsigned depth) {
    indent(depth);
    switch (s->getKind()) {
    case Stmt::Kind::Seed:
      os << "Seed\n";
      expr(llvm::cast<SeedStmt>(s)->getValue(), depth + 1);
      return;
    case Stmt::Kind::Binding: {
      const auto *b = llvm::cast<BindingStmt>(s);
      os << "Binding " << spelling(b->getBindingKind()) << " '" << b->getName()
         << "'\n";
      expr(b->getValue(), depth + 1);
      return;
    }
    case Stmt::Kind::Adapter: {
      const auto *a = llvm::cast<AdapterStmt>(s);
      os << "Adapter '" << a->getName() << "'\n";
      expr(a->getAdapterKind(), depth + 1);
      for (const Expr *t : a->getTargets()) {
        indent(depth + 1);
        os << "On\n";
        expr(t, depth + 2);
      }
      return;
    }
    case Stmt::Kind::Freeze: {
      const auto *f = llvm::cast<FreezeStmt>(s);
      os << (f->isReinit() ? "Reinit\n" : "Freeze\n");
      for (const Expr *t : f->getTargets())
        expr(t, depth + 1);
      for (const Expr *e : f->getExceptions()) {
        indent(depth + 1);
        os << "Except\n";
        expr(e, depth + 2);
      }
      return;
    }
    case Stmt::Kind::Train: {
      const auto *t = llvm::cast<TrainStmt>(s);
      os << "Train\n";
      expr(t->getModel(), depth + 1);
      indent(depth + 1);
      os << "With\n";
      expr(t->getObjective(), depth + 2);
      for (const TrainClause &c : t->getClauses()) {
        indent(depth + 1);
        os << "Clause '" << c.name << "'\n";
        expr(c.value, depth + 2);
      }
      return;
    }
    case Stmt::Kind::Loop: {
      const auto *l = llvm::cast<LoopStmt>(s);
      os << "Loop '" << l->getVar() << "'\n";
      expr(l->getIterRange(), depth + 1);
      if (l->getUntil()) {
        indent(depth + 1);
        os << "Until\n";
        expr(l->getUntil(), depth + 2);
      }
      for (const Stmt *b : l->getBody())
        stmt(b, depth + 1);
      return;
    }
    case Stmt::Kind::Log:
      os << "Log\n";
      for (const Expr *v : llvm::cast<LogStmt>(s)->getValues())
        expr(v, depth + 1);
      return;
    case Stmt::Kind::Save: {
      const auto *v = llvm::cast<SaveStmt>(s);
      os << "Save\n";
      expr(v->getValue(), depth + 1);
      expr(v->getPath(), depth + 1);
      return;
    }
    case Stmt::Kind::Def: {
      const auto *d = llvm::cast<DefStmt>(s);
      os << "Def '" << d->getName() << "'";
      for (const Param &p : d->getParams())
        os << " " << p.name << ":" << p.typeName;
      os << "\n";
      for (const Stmt *b : d->getBody())
        stmt(b, depth + 1);
      return;
    }
    case Stmt::Kind::Import: {
      const auto *i = llvm::cast<ImportStmt>(s);
      os << "Import " << (i->isFilePath() ? "file " : "module ") << "'"
         << i->getModule() << "'";
      for (const auto &n : i->getNames())
        os << " " << n.name;
      os << "\n";
      return;
    }
    case Stmt::Kind::Append: {
      const auto *a = llvm::cast<AppendStmt>(s);
      os << "Append '" << a->getName() << "'\n";
      expr(a->getValue(), depth + 1);
      return;
    }
    case Stmt::Kind::ExprStmt:
      os << "ExprStmt\n";
      expr(llvm::cast<ExprStmt>(s)->getExpr(), depth + 1);
      return;
    }
  }

  void expr(const Expr *e, unsigned depth) {
    indent(depth);
    switch (e->getKind()) {
    case Expr::Kind::Integer:
      os << "Integer " << llvm::cast<IntegerExpr>(e)->getValue();
      break;
    case Expr::Kind::Float:
      os << "Float " << llvm::cast<FloatExpr>(e)->getValue();
      break;
    case Expr::Kind::Percent:
      os << "Percent " << llvm::cast<PercentExpr>(e)->getFraction();
      break;
    case Expr::Kind::Duration:
      os << "Duration " << llvm::cast<DurationExpr>(e)->getSeconds() << "s";
      break;
    case Expr::Kind::String:
      os << "String \"";
      os.write_escaped(llvm::cast<StringExpr>(e)->getValue());
      os << "\"";
      break;
    case Expr::Kind::Regex: {
      const auto *r = llvm::cast<RegexExpr>(e);
      os << "Regex /" << r->getPattern() << "/" << r->getFlags();
      break;
    }
    case Expr::Kind::Bool:
      os << "Bool " << (llvm::cast<BoolExpr>(e)->getValue() ? "true" : "false");
      break;
    case Expr::Kind::Name:
      os << "Name '" << llvm::cast<NameExpr>(e)->getName() << "'";
      break;
    case Expr::Kind::Field:
      os << "Field '" << llvm::cast<FieldExpr>(e)->getName() << "'";
      break;
    case Expr::Kind::Wildcard:
      os << "Wildcard";
      break;
    case Expr::Kind::Member: {
      const auto *m = llvm::cast<MemberExpr>(e);
      os << (m->isMemberSet() ? "MemberSet" : "Member");
      for (llvm::StringRef n : m->getNames())
        os << " '" << n << "'";
      typeSuffix(e);
      os << "\n";
      expr(m->getBase(), depth + 1);
      return;
    }
    case Expr::Kind::Index: {
      const auto *i = llvm::cast<IndexExpr>(e);
      os << "Index";
      typeSuffix(e);
      os << "\n";
      expr(i->getBase(), depth + 1);
      expr(i->getIndex(), depth + 1);
      return;
    }
    case Expr::Kind::Range: {
      const auto *r = llvm::cast<RangeExpr>(e);
      os << "Range";
      typeSuffix(e);
      os << "\n";
      if (r->getLo())
        expr(r->getLo(), depth + 1);
      else {
        indent(depth + 1);
        os << "<open>\n";
      }
      if (r->getHi())
        expr(r->getHi(), depth + 1);
      else {
        indent(depth + 1);
        os << "<open>\n";
      }
      return;
    }
    case Expr::Kind::Call: {
      const auto *c = llvm::cast<CallExpr>(e);
      os << "Call '" << c->getCallee() << "'";
      typeSuffix(e);
      os << "\n";
      for (const Argument &a : c->getArgs()) {
        if (a.isKeyword()) {
          indent(depth + 1);
          os << "Keyword '" << a.name << "'\n";
          expr(a.value, depth + 2);
        } else {
          expr(a.value, depth + 1);
        }
      }
      return;
    }
    case Expr::Kind::Pipe: {
      const auto *p = llvm::cast<PipeExpr>(e);
      os << "Pipe";
      typeSuffix(e);
      os << "\n";
      expr(p->getInput(), depth + 1);
      expr(p->getOp(), depth + 1);
      return;
    }
    case Expr::Kind::Binary: {
      const auto *b = llvm::cast<BinaryExpr>(e);
      os << "Binary '" << spelling(b->getOp()) << "'";
      typeSuffix(e);
      os << "\n";
      expr(b->getLHS(), depth + 1);
      expr(b->getRHS(), depth + 1);
      return;
    }
    case Expr::Kind::Unary: {
      const auto *u = llvm::cast<UnaryExpr>(e);
      os << "Unary '" << (u->getOp() == UnaryOp::Neg ? "-" : "!") << "'";
      typeSuffix(e);
      os << "\n";
      expr(u->getOperand(), depth + 1);
      return;
    }
    case Expr::Kind::List: {
      os << "List";
      typeSuffix(e);
      os << "\n";
      for (const Expr *x : llvm::cast<ListExpr>(e)->getElements())
        expr(x, depth + 1);
      return;
    }
    }
    typeSuffix(e);
    os << "\n";
  }

private:
  void indent(unsigned depth) { os.indent(depth * 2); }
  void typeSuffix(const Expr *e) {
    if (e->getType())
      os << " : " << e->getType()->str();
  }
  raw_ostream &os;
};
} // namespace

void ftl::lang::dumpAST(const Module &module, raw_ostream &os) {
  os << "Module '" << module.path << "'\n";
  Dumper dumper(os);
  for (const Stmt *s : module.stmts)
    dumper.stmt(s, 1);
}
