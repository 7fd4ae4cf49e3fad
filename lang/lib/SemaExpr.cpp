//===- SemaExpr.cpp - Semantic analysis: expressions ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <re2/re2.h>

using namespace ftl::lang;
using llvm::SMRange;
using llvm::StringRef;

static std::string sourceText(const Expr *expr) {
  SMRange range = expr->getRange();
  if (!range.Start.isValid() || !range.End.isValid())
    return "";
  return std::string(range.Start.getPointer(),
                     range.End.getPointer() - range.Start.getPointer());
}

bool SemaImpl::enterCheck(SMRange range) {
  if (checkDepth < maxCheckDepth) {
    ++checkDepth;
    return true;
  }
  diags.report(range, diag::NestingTooDeep,
               {"statements and expressions (across function calls)",
                std::to_string(maxCheckDepth),
                "call fewer functions inside each other"});
  return false;
}

const Type *SemaImpl::checkExpr(const Expr *expr, const ExprContext &ctx) {
  if (!enterCheck(expr->getRange())) {
    expr->setType(types.error());
    return types.error();
  }
  const Type *type = checkExprImpl(expr, ctx);
  --checkDepth;
  if (!type)
    type = types.error();
  expr->setType(type);
  return type;
}

const Type *SemaImpl::checkExprImpl(const Expr *expr, const ExprContext &ctx) {
  switch (expr->getKind()) {
  case Expr::Kind::Integer:
    return types.get(Type::Kind::Int);
  case Expr::Kind::Float:
    return types.get(Type::Kind::Number);
  case Expr::Kind::Percent: {
    double f = llvm::cast<PercentExpr>(expr)->getFraction();
    if (f < 0 || f > 1) {
      diags.report(expr->getRange(), diag::InvalidValue,
                   {"a percentage", "between 0% and 100%", sourceText(expr)});
      return types.error();
    }
    return types.get(Type::Kind::Percent);
  }
  case Expr::Kind::Duration:
    return types.get(Type::Kind::Duration);
  case Expr::Kind::String:
    return types.get(Type::Kind::String);
  case Expr::Kind::Regex:
    return checkRegex(llvm::cast<RegexExpr>(expr));
  case Expr::Kind::Bool:
    return types.get(Type::Kind::Bool);
  case Expr::Kind::Name:
    return checkName(llvm::cast<NameExpr>(expr));
  case Expr::Kind::Field: {
    const auto *field = llvm::cast<FieldExpr>(expr);
    if (!ctx.record) {
      diags.report(expr->getRange(), diag::FieldOutsideOperator,
                   {field->getName().str()});
      return types.error();
    }
    if (!ctx.record->open && !ctx.record->hasField(field->getName())) {
      std::string origin =
          ctx.record->origin.empty() ? "records" : ctx.record->origin;
      auto diag = diags.report(expr->getRange(), diag::MissingField,
                               {origin, field->getName().str()});
      std::string s = suggestName(field->getName(), ctx.record->fields);
      if (!s.empty())
        diag.attachNote(expr->getRange(), diag::NoteDidYouMean, {s});
      diag.attachNote(expr->getRange(), diag::NoteAvailableFields,
                      {ctx.record->describeFields()});
      return types.error();
    }
    return types.getRecord(types.get(Type::Kind::Any));
  }
  case Expr::Kind::Member:
    return checkMember(llvm::cast<MemberExpr>(expr), ctx);
  case Expr::Kind::Index: {
    const auto *index = llvm::cast<IndexExpr>(expr);
    const Type *base = checkExpr(index->getBase(), ctx);
    const Type *idx = checkExpr(index->getIndex(), ctx);
    if (base->isError() || idx->isError())
      return types.error();
    if (base->is(Type::Kind::List) && idx->is(Type::Kind::Int))
      return base->getElement() ? base->getElement()
                                : types.get(Type::Kind::Any);
    diags.report(expr->getRange(), diag::InvalidOperands,
                 {"[]", base->describe(), idx->describe()});
    return types.error();
  }
  case Expr::Kind::Range: {
    const auto *range = llvm::cast<RangeExpr>(expr);
    bool ok = true;
    for (const Expr *bound : {range->getLo(), range->getHi()}) {
      if (!bound)
        continue;
      const Type *t = checkExpr(bound, ctx);
      if (!t->isError() && !t->is(Type::Kind::Int)) {
        diags.report(bound->getRange(), diag::TypeMismatch,
                     {"a range bound", "an integer", t->describe()});
        ok = false;
      }
    }
    return ok ? types.get(Type::Kind::Range) : types.error();
  }
  case Expr::Kind::Call:
    return checkCall(llvm::cast<CallExpr>(expr), nullptr, ctx);
  case Expr::Kind::Pipe: {
    const auto *pipe = llvm::cast<PipeExpr>(expr);
    const Type *input = checkExpr(pipe->getInput(), ctx);
    if (!input->isError() && !input->is(Type::Kind::Data)) {
      diags.report(pipe->getInput()->getRange(), diag::TypeMismatch,
                   {"'|>'", "data on its left", input->describe()});
      return types.error();
    }
    return checkCall(pipe->getOp(), pipe->getInput(), ctx);
  }
  case Expr::Kind::Binary:
    return checkBinary(llvm::cast<BinaryExpr>(expr), ctx);
  case Expr::Kind::Unary: {
    const auto *unary = llvm::cast<UnaryExpr>(expr);
    const Type *operand = checkExpr(unary->getOperand(), ctx);
    if (operand->isError())
      return operand;
    bool isRecord = operand->is(Type::Kind::Record);
    const Type *inner = isRecord ? operand->getElement() : operand;
    if (unary->getOp() == UnaryOp::Neg &&
        (inner->isNumeric() || inner->is(Type::Kind::Any) ||
         inner->is(Type::Kind::Objective) || inner->is(Type::Kind::Metric)))
      return operand;
    if (unary->getOp() == UnaryOp::Not &&
        (inner->is(Type::Kind::Bool) || inner->is(Type::Kind::Any)))
      return isRecord ? types.getRecord(types.get(Type::Kind::Bool))
                      : types.get(Type::Kind::Bool);
    bool neg = unary->getOp() == UnaryOp::Neg;
    diags.report(expr->getRange(), diag::TypeMismatch,
                 {neg ? "'-'" : "'!'",
                  neg ? "a number, a metric or an objective" : "a boolean",
                  operand->describe()});
    return types.error();
  }
  case Expr::Kind::List: {
    const auto *list = llvm::cast<ListExpr>(expr);
    const Type *element = nullptr;
    for (const Expr *e : list->getElements()) {
      const Type *t = checkExpr(e, ctx);
      if (!element || element->isError())
        element = t;
    }
    return types.getList(element ? element : types.get(Type::Kind::Any));
  }
  case Expr::Kind::Wildcard:
    diags.report(expr->getRange(), diag::ExpectedExpression, {"'*'"});
    return types.error();
  }
  return types.error();
}

const Type *SemaImpl::checkRegex(const RegexExpr *expr) {
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  for (char flag : expr->getFlags()) {
    switch (flag) {
    case 'i':
      opts.set_case_sensitive(false);
      break;
    case 'm':
      opts.set_one_line(false);
      opts.set_posix_syntax(true);
      break;
    case 's':
      opts.set_dot_nl(true);
      break;
    default:
      diags.report(expr->getRange(), diag::InvalidRegexFlag,
                   {std::string(1, flag)});
      return types.error();
    }
  }
  re2::RE2 re(re2::StringPiece(expr->getPattern().data(),
                               expr->getPattern().size()),
              opts);
  if (!re.ok()) {
    diags.report(expr->getRange(), diag::InvalidRegex, {re.error()});
    return types.error();
  }
  return types.get(Type::Kind::Regex);
}

const Type *SemaImpl::checkName(const NameExpr *expr) {
  Symbol *symbol = lookup(expr->getName());
  if (!symbol) {
    reportUnknownName(expr->getName(), expr->getRange(), false);
    return types.error();
  }
  symbol->used = true;
  info.nameDecls[expr] = symbol->decl;
  if (symbol->kind == Symbol::Kind::Function) {
    diags.report(expr->getRange(), diag::TypeMismatch,
                 {"'" + expr->getName().str() + "'",
                  "a value (call the function with '(...)')", "a function"});
    return types.error();
  }
  return symbol->type;
}

const Type *SemaImpl::checkMember(const MemberExpr *expr,
                                  const ExprContext &ctx) {
  const Type *base = checkExpr(expr->getBase(), ctx);
  if (base->isError())
    return base;
  StringRef name = expr->getName();
  std::string what = sourceText(expr->getBase());
  if (base->is(Type::Kind::Data)) {
    const DataSchema *schema = base->getSchema();
    if (schema && llvm::is_contained(schema->parts, name)) {
      DataSchema part = *schema;
      part.parts.clear();
      part.origin = what + "." + name.str();
      return types.getData(std::move(part));
    }
    if (!schema || schema->open || schema->hasField(name))
      return types.getColumn(types.get(Type::Kind::Any), name, schema);
    std::vector<std::string> candidates = schema->fields;
    candidates.insert(candidates.end(), schema->parts.begin(),
                      schema->parts.end());
    auto diag = diags.report(expr->getRange(), diag::UnknownMember,
                             {"data '" + what + "'", name.str()});
    std::string s = suggestName(name, candidates);
    if (!s.empty())
      diag.attachNote(expr->getRange(), diag::NoteDidYouMean, {s});
    std::string available = "fields " + schema->describeFields();
    if (!schema->parts.empty())
      available += "; parts " + llvm::join(schema->parts, ", ");
    diag.attachNote(expr->getRange(), diag::NoteAvailableFields, {available});
    return types.error();
  }
  diags.report(expr->getRange(), diag::UnknownMember,
               {base->describe() + " '" + what + "'", name.str()});
  return types.error();
}

const Type *SemaImpl::checkBinary(const BinaryExpr *expr,
                                  const ExprContext &ctx) {
  const Type *lhs = checkExpr(expr->getLHS(), ctx);
  const Type *rhs = checkExpr(expr->getRHS(), ctx);
  if (lhs->isError() || rhs->isError())
    return types.error();
  bool recordLevel =
      lhs->is(Type::Kind::Record) || rhs->is(Type::Kind::Record);
  const Type *l = lhs->is(Type::Kind::Record) ? lhs->getElement() : lhs;
  const Type *r = rhs->is(Type::Kind::Record) ? rhs->getElement() : rhs;
  auto isNum = [](const Type *t) {
    return t->isNumeric() || t->is(Type::Kind::Metric) ||
           t->is(Type::Kind::Any);
  };
  auto wrap = [&](const Type *t) {
    return recordLevel ? types.getRecord(t) : t;
  };
  auto invalid = [&]() {
    diags.report(expr->getOpRange(), diag::InvalidOperands,
                 {spelling(expr->getOp()).str(), lhs->describe(),
                  rhs->describe()});
    return types.error();
  };
  switch (expr->getOp()) {
  case BinaryOp::Add:
  case BinaryOp::Sub:
    if (l->is(Type::Kind::Objective) && r->is(Type::Kind::Objective))
      return l;
    if (isNum(l) && isNum(r))
      return wrap(l->is(Type::Kind::Int) && r->is(Type::Kind::Int)
                      ? l
                      : types.get(Type::Kind::Number));
    if (expr->getOp() == BinaryOp::Add && l->is(Type::Kind::String) &&
        r->is(Type::Kind::String))
      return wrap(l);
    return invalid();
  case BinaryOp::Mul:
    if ((l->is(Type::Kind::Objective) && isNum(r) && !recordLevel) ||
        (r->is(Type::Kind::Objective) && isNum(l) && !recordLevel))
      return types.get(Type::Kind::Objective);
    if (isNum(l) && isNum(r))
      return wrap(l->is(Type::Kind::Int) && r->is(Type::Kind::Int)
                      ? l
                      : types.get(Type::Kind::Number));
    return invalid();
  case BinaryOp::Div:
    if (l->is(Type::Kind::Objective) && isNum(r) && !recordLevel)
      return l;
    if (isNum(l) && isNum(r))
      return wrap(types.get(Type::Kind::Number));
    return invalid();
  case BinaryOp::Less:
  case BinaryOp::LessEqual:
  case BinaryOp::Greater:
  case BinaryOp::GreaterEqual:
    if ((isNum(l) || l->is(Type::Kind::Percentile)) &&
        (isNum(r) || r->is(Type::Kind::Percentile)))
      return wrap(types.get(Type::Kind::Bool));
    if (l->is(Type::Kind::String) && r->is(Type::Kind::String))
      return wrap(types.get(Type::Kind::Bool));
    return invalid();
  case BinaryOp::Equal:
  case BinaryOp::NotEqual: {
    bool comparable =
        (isNum(l) && isNum(r)) || l->is(Type::Kind::Any) ||
        r->is(Type::Kind::Any) || l->getKind() == r->getKind();
    if (comparable)
      return wrap(types.get(Type::Kind::Bool));
    return invalid();
  }
  case BinaryOp::Match:
  case BinaryOp::NotMatch:
    if ((l->is(Type::Kind::String) || l->is(Type::Kind::Any)) &&
        r->is(Type::Kind::Regex))
      return wrap(types.get(Type::Kind::Bool));
    return invalid();
  case BinaryOp::And:
  case BinaryOp::Or: {
    auto isBool = [](const Type *t) {
      return t->is(Type::Kind::Bool) || t->is(Type::Kind::Any);
    };
    if (isBool(l) && isBool(r))
      return wrap(types.get(Type::Kind::Bool));
    return invalid();
  }
  }
  return invalid();
}
