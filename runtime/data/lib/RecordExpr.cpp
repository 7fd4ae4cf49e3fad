//===- RecordExpr.cpp - Expressions over records --------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Data/RecordExpr.h"
#include "ftl/Data/Record.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/Support/raw_ostream.h"

#include <re2/re2.h>

#include <cassert>
#include <cmath>

using namespace ftl::rt;
using Op = RecordExpr::Op;

struct RecordExpr::Node {
  Op op;
  std::string name; // Field
  Value literal;    // Literal
  std::shared_ptr<const Node> lhs, rhs;
  std::string pattern; // Match
  std::unique_ptr<re2::RE2> regex;
};

RecordExpr RecordExpr::field(llvm::StringRef name) {
  auto n = std::make_shared<Node>();
  n->op = Op::Field;
  name.consume_front(".");
  n->name = name.str();
  return RecordExpr(std::move(n));
}

RecordExpr RecordExpr::literal(Value value) {
  auto n = std::make_shared<Node>();
  n->op = Op::Literal;
  n->literal = std::move(value);
  return RecordExpr(std::move(n));
}

RecordExpr RecordExpr::unary(Op op, RecordExpr operand) {
  assert(op == Op::Not || op == Op::Neg || op == Op::Len || op == Op::NTokens);
  auto n = std::make_shared<Node>();
  n->op = op;
  n->lhs = std::move(operand.node);
  return RecordExpr(std::move(n));
}

RecordExpr RecordExpr::binary(Op op, RecordExpr lhs, RecordExpr rhs) {
  assert(op >= Op::And && op <= Op::Div);
  auto n = std::make_shared<Node>();
  n->op = op;
  n->lhs = std::move(lhs.node);
  n->rhs = std::move(rhs.node);
  return RecordExpr(std::move(n));
}

llvm::Expected<RecordExpr> RecordExpr::match(RecordExpr subject,
                                             llvm::StringRef pattern) {
  auto n = std::make_shared<Node>();
  n->op = Op::Match;
  n->lhs = std::move(subject.node);
  n->pattern = pattern.str();
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  n->regex = std::make_unique<re2::RE2>(
      re2::StringPiece(pattern.data(), pattern.size()), opts);
  if (!n->regex->ok())
    return llvm::createStringError(llvm::Twine("invalid regular expression /") +
                                   pattern + "/: " + n->regex->error() +
                                   " (re2 syntax expected)");
  return RecordExpr(std::move(n));
}

RecordExpr::Op RecordExpr::op() const { return node->op; }

static llvm::StringRef opText(Op op) {
  switch (op) {
  case Op::Not:
    return "!";
  case Op::Neg:
    return "-";
  case Op::And:
    return "&&";
  case Op::Or:
    return "||";
  case Op::Eq:
    return "==";
  case Op::Ne:
    return "!=";
  case Op::Lt:
    return "<";
  case Op::Le:
    return "<=";
  case Op::Gt:
    return ">";
  case Op::Ge:
    return ">=";
  case Op::Add:
    return "+";
  case Op::Sub:
    return "-";
  case Op::Mul:
    return "*";
  case Op::Div:
    return "/";
  case Op::Match:
    return "=~";
  case Op::Len:
    return "len";
  case Op::NTokens:
    return "ntokens";
  default:
    return "?";
  }
}

static void print(llvm::raw_ostream &os, const RecordExpr::Node &n) {
  switch (n.op) {
  case Op::Field:
    os << '.' << n.name;
    return;
  case Op::Literal:
    n.literal.writeJson(os);
    return;
  case Op::Not:
  case Op::Neg:
    os << opText(n.op) << '(';
    print(os, *n.lhs);
    os << ')';
    return;
  case Op::Len:
  case Op::NTokens:
    os << opText(n.op) << '(';
    print(os, *n.lhs);
    os << ')';
    return;
  case Op::Match:
    os << '(';
    print(os, *n.lhs);
    os << " =~ /";
    for (char c : n.pattern) {
      if (c == '/')
        os << '\\';
      os << c;
    }
    os << "/)";
    return;
  default:
    os << '(';
    print(os, *n.lhs);
    os << ' ' << opText(n.op) << ' ';
    print(os, *n.rhs);
    os << ')';
    return;
  }
}

std::string RecordExpr::str() const {
  std::string out;
  llvm::raw_string_ostream os(out);
  print(os, *node);
  return out;
}

static void collect(const RecordExpr::Node &n, std::vector<std::string> &out) {
  if (n.op == Op::Field) {
    out.push_back(llvm::StringRef(n.name).split('.').first.str());
    return;
  }
  if (n.lhs)
    collect(*n.lhs, out);
  if (n.rhs)
    collect(*n.rhs, out);
}

void RecordExpr::collectFields(std::vector<std::string> &out) const {
  collect(*node, out);
}

namespace {

// A value that is either borrowed from the record or computed.
struct Val {
  const Value *ptr = nullptr;
  Value owned;
  Val(const Value *p) : ptr(p) {}
  Val(Value v) : owned(std::move(v)) {}
  const Value &get() const { return ptr ? *ptr : owned; }
  const Value *operator->() const { return &get(); }
  const Value &operator*() const { return get(); }
};

struct Evaluator {
  const Record &record;
  const Tokenizer *tokenizer;
  const RecordExpr::Node &root;

  llvm::Error typeError(const RecordExpr::Node &at, const llvm::Twine &msg) {
    std::string text;
    llvm::raw_string_ostream os(text);
    print(os, at);
    return recordError(record, msg + " (in " + text + ")");
  }

  llvm::Expected<bool> boolOperand(const RecordExpr::Node &at,
                                   const RecordExpr::Node &operand) {
    auto ve = eval(operand);
    if (!ve)
      return ve.takeError();
    const Value *v = &ve->get();
    if (!v->isBool())
      return typeError(at, "'" + opText(at.op) + "' expects a bool, found a " +
                               v->kindName());
    return v->getBool();
  }

  llvm::Expected<Val> eval(const RecordExpr::Node &n) {
    switch (n.op) {
    case Op::Field: {
      auto v = record.require(n.name);
      if (!v)
        return v.takeError();
      return Val(*v);
    }
    case Op::Literal:
      return Val(&n.literal);
    case Op::Not: {
      auto b = boolOperand(n, *n.lhs);
      if (!b)
        return b.takeError();
      return Value(!*b);
    }
    case Op::And:
    case Op::Or: {
      auto a = boolOperand(n, *n.lhs);
      if (!a)
        return a.takeError();
      if (n.op == Op::And ? !*a : *a)
        return Value(*a);
      auto b = boolOperand(n, *n.rhs);
      if (!b)
        return b.takeError();
      return Value(*b);
    }
    case Op::Neg: {
      auto ve = eval(*n.lhs);
      if (!ve)
        return ve.takeError();
      const Value *v = &ve->get();
      if (v->isInt() && v->getInt() != INT64_MIN)
        return Value(-v->getInt());
      if (v->isNumber())
        return Value(-v->getNumber());
      return typeError(n, "'-' expects a number, found a " +
                              llvm::Twine(v->kindName()));
    }
    case Op::Len: {
      auto ve = eval(*n.lhs);
      if (!ve)
        return ve.takeError();
      const Value *v = &ve->get();
      if (v->isString())
        return Value(static_cast<int64_t>(countCodePoints(v->getString())));
      if (v->isList())
        return Value(static_cast<int64_t>(v->getList().size()));
      if (v->isObject())
        return Value(static_cast<int64_t>(v->getObject().size()));
      return typeError(n, "len() expects a string, list or object, found a " +
                              llvm::Twine(v->kindName()));
    }
    case Op::NTokens: {
      auto ve = eval(*n.lhs);
      if (!ve)
        return ve.takeError();
      const Value *v = &ve->get();
      if (!v->isString())
        return typeError(n, "ntokens() expects a string, found a " +
                                llvm::Twine(v->kindName()));
      if (!tokenizer)
        return typeError(n, "ntokens() needs the pipeline's tokenizer, but "
                            "none was given");
      return Value(static_cast<int64_t>(
          tokenizer->encode(v->getString(), /*addSpecial=*/false).size()));
    }
    case Op::Match: {
      auto ve = eval(*n.lhs);
      if (!ve)
        return ve.takeError();
      const Value *v = &ve->get();
      if (!v->isString())
        return typeError(n, "'=~' expects a string, found a " +
                                llvm::Twine(v->kindName()));
      llvm::StringRef s = v->getString();
      return Value(re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()),
                                          *n.regex));
    }
    default:
      break;
    }
    // Binary operators with both operands evaluated.
    auto ae = eval(*n.lhs);
    if (!ae)
      return ae.takeError();
    auto be = eval(*n.rhs);
    if (!be)
      return be.takeError();
    const Value *a = &ae->get(), *b = &be->get();
    auto mismatch = [&]() {
      return typeError(n, "cannot apply '" + opText(n.op) + "' to a " +
                              a->kindName() + " and a " + b->kindName());
    };
    switch (n.op) {
    case Op::Eq:
    case Op::Ne: {
      bool comparable = a->isNull() || b->isNull() ||
                        (a->isNumber() && b->isNumber()) ||
                        a->kind() == b->kind();
      if (!comparable)
        return mismatch();
      bool eq = *a == *b;
      return Value(n.op == Op::Eq ? eq : !eq);
    }
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge: {
      int cmp;
      if (a->isNumber() && b->isNumber()) {
        if (a->isInt() && b->isInt())
          cmp = a->getInt() < b->getInt() ? -1 : a->getInt() > b->getInt();
        else {
          double x = a->getNumber(), y = b->getNumber();
          if (std::isnan(x) || std::isnan(y))
            return Value(false);
          cmp = x < y ? -1 : x > y;
        }
      } else if (a->isString() && b->isString()) {
        cmp = a->getString().compare(b->getString());
      } else {
        return mismatch();
      }
      bool r = n.op == Op::Lt   ? cmp < 0
               : n.op == Op::Le ? cmp <= 0
               : n.op == Op::Gt ? cmp > 0
                                : cmp >= 0;
      return Value(r);
    }
    case Op::Add:
      if (a->isString() && b->isString())
        return Value((a->getString() + b->getString()).str());
      [[fallthrough]];
    case Op::Sub:
    case Op::Mul: {
      if (!a->isNumber() || !b->isNumber())
        return mismatch();
      if (a->isInt() && b->isInt()) {
        int64_t r;
        bool overflow =
            n.op == Op::Add
                ? __builtin_add_overflow(a->getInt(), b->getInt(), &r)
            : n.op == Op::Sub
                ? __builtin_sub_overflow(a->getInt(), b->getInt(), &r)
                : __builtin_mul_overflow(a->getInt(), b->getInt(), &r);
        if (!overflow)
          return Value(r);
      }
      double x = a->getNumber(), y = b->getNumber();
      return Value(n.op == Op::Add ? x + y : n.op == Op::Sub ? x - y : x * y);
    }
    case Op::Div: {
      if (!a->isNumber() || !b->isNumber())
        return mismatch();
      if (b->getNumber() == 0)
        return typeError(n, "division by zero");
      return Value(a->getNumber() / b->getNumber());
    }
    default:
      return typeError(n, "unknown operator");
    }
  }
};

} // namespace

llvm::Expected<Value> RecordExpr::evaluate(const Record &record,
                                           const Tokenizer *tokenizer) const {
  Evaluator ev{record, tokenizer, *node};
  auto v = ev.eval(*node);
  if (!v)
    return v.takeError();
  return v->get();
}

llvm::Expected<bool> RecordExpr::test(const Record &record,
                                      const Tokenizer *tokenizer) const {
  auto v = evaluate(record, tokenizer);
  if (!v)
    return v.takeError();
  if (!v->isBool())
    return recordError(record, "the condition " + str() + " gave a " +
                                   v->kindName() + ", expected a bool");
  return v->getBool();
}
