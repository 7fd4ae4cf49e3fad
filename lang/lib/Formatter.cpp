//===- Formatter.cpp - Canonical formatting of .ftl -----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The formatter prints statements as lists of "units" (a statement head, a
// pipeline stage, an objective term, a train clause). Each unit knows where
// its source ends, so comments can be attached to the unit they follow (a
// trailing comment) or precede (a leading comment). A statement is printed on
// one line unless a layout rule or a comment inside it asks for a break.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/Formatter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <cassert>

using namespace ftl::lang;
using llvm::SMLoc;
using llvm::StringRef;

static const size_t maxWidth = 100;

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

static std::string sourceOf(const Expr *expr) {
  llvm::SMRange r = expr->getRange();
  return std::string(r.Start.getPointer(),
                     r.End.getPointer() - r.Start.getPointer());
}

/// Binding strength, higher binds tighter.
static int precedence(const Expr *expr) {
  switch (expr->getKind()) {
  case Expr::Kind::Pipe:
    return 1;
  case Expr::Kind::Binary:
    switch (llvm::cast<BinaryExpr>(expr)->getOp()) {
    case BinaryOp::Or:
      return 2;
    case BinaryOp::And:
      return 3;
    case BinaryOp::Add:
    case BinaryOp::Sub:
      return 6;
    case BinaryOp::Mul:
    case BinaryOp::Div:
      return 7;
    default:
      return 4;
    }
  case Expr::Kind::Range:
    return 5;
  case Expr::Kind::Unary:
    return 8;
  default:
    return 9;
  }
}

static std::string printWithParens(const Expr *expr, int minPrecedence) {
  std::string text = printExpr(expr);
  if (precedence(expr) < minPrecedence)
    return "(" + text + ")";
  return text;
}

static std::string printArgs(llvm::ArrayRef<Argument> args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i)
      out += ", ";
    if (args[i].isKeyword())
      out += args[i].name.str() + ": ";
    out += printExpr(args[i].value);
  }
  return out;
}

/// An expression at the end of a statement or clause. An open range (`2..`)
/// there would take the next statement's first token as its upper bound, so
/// it is parenthesized.
static std::string printClosed(const Expr *expr) {
  std::string text = printExpr(expr);
  if (StringRef(text).ends_with(".."))
    return "(" + text + ")";
  return text;
}

/// A train clause value. It follows the clause name, after which `/` means
/// division, so a value that starts with a regex is parenthesized.
static std::string printClauseValue(const Expr *expr) {
  std::string text = printClosed(expr);
  if (StringRef(text).starts_with("/"))
    return "(" + text + ")";
  return text;
}

std::string ftl::lang::printExpr(const Expr *expr) {
  switch (expr->getKind()) {
  case Expr::Kind::Integer:
  case Expr::Kind::Float:
  case Expr::Kind::Percent:
  case Expr::Kind::Duration:
  case Expr::Kind::String:
  case Expr::Kind::Regex:
    // Literals keep their spelling (3e-4 stays 3e-4).
    return sourceOf(expr);
  case Expr::Kind::Bool:
    return llvm::cast<BoolExpr>(expr)->getValue() ? "true" : "false";
  case Expr::Kind::Name:
    return llvm::cast<NameExpr>(expr)->getName().str();
  case Expr::Kind::Field:
    return "." + llvm::cast<FieldExpr>(expr)->getName().str();
  case Expr::Kind::Wildcard:
    return "*";
  case Expr::Kind::Member: {
    const auto *member = llvm::cast<MemberExpr>(expr);
    std::string base = printWithParens(member->getBase(), 9);
    if (member->isMemberSet()) {
      std::vector<std::string> names;
      for (StringRef n : member->getNames())
        names.push_back(n.str());
      return base + ".{" + llvm::join(names, ", ") + "}";
    }
    return base + "." + member->getName().str();
  }
  case Expr::Kind::Index: {
    const auto *index = llvm::cast<IndexExpr>(expr);
    return printWithParens(index->getBase(), 9) + "[" +
           printExpr(index->getIndex()) + "]";
  }
  case Expr::Kind::Range: {
    const auto *range = llvm::cast<RangeExpr>(expr);
    std::string out;
    if (range->getLo())
      out += printWithParens(range->getLo(), 6);
    out += "..";
    if (range->getHi()) {
      // `lo..` followed by `.` ends the range, so a field needs parentheses.
      std::string hi = printWithParens(range->getHi(), 6);
      out += range->getLo() && StringRef(hi).starts_with(".") ? "(" + hi + ")"
                                                              : hi;
    }
    return out;
  }
  case Expr::Kind::Call: {
    const auto *call = llvm::cast<CallExpr>(expr);
    return call->getCallee().str() + "(" + printArgs(call->getArgs()) + ")";
  }
  case Expr::Kind::Pipe: {
    const auto *pipe = llvm::cast<PipeExpr>(expr);
    return printWithParens(pipe->getInput(), 1) + " |> " +
           printExpr(pipe->getOp());
  }
  case Expr::Kind::Binary: {
    const auto *binary = llvm::cast<BinaryExpr>(expr);
    int p = precedence(expr);
    // Left-associative: the right operand needs parens at equal precedence;
    // comparisons do not chain, so both sides need them.
    int leftMin = p == 4 ? p + 1 : p;
    return printWithParens(binary->getLHS(), leftMin) + " " +
           spelling(binary->getOp()).str() + " " +
           printWithParens(binary->getRHS(), p + 1);
  }
  case Expr::Kind::Unary: {
    const auto *unary = llvm::cast<UnaryExpr>(expr);
    return std::string(unary->getOp() == UnaryOp::Neg ? "-" : "!") +
           printWithParens(unary->getOperand(), 8);
  }
  case Expr::Kind::List: {
    const auto *list = llvm::cast<ListExpr>(expr);
    std::vector<std::string> parts;
    for (const Expr *e : list->getElements())
      parts.push_back(printExpr(e));
    // A selector's index list (`layers[0, 3]`) has no brackets of its own.
    if (!list->isBracketed())
      return llvm::join(parts, ", ");
    return "[" + llvm::join(parts, ", ") + "]";
  }
  }
  return "";
}

//===----------------------------------------------------------------------===//
// Statements as units
//===----------------------------------------------------------------------===//

namespace {

/// A piece of a statement that may go on its own line.
struct Unit {
  std::string text;
  const char *sourceEnd; ///< where the unit's source text ends
  /// How the unit joins the previous one on a single line (" ", " |> ", ...).
  std::string joiner = " ";
  /// How it starts when it begins a new line ("|> ", "+ ").
  std::string breakPrefix;
  /// Its indentation when it begins a new line (-1: the statement's).
  int continuation = -1;
};

/// One output line: code with an optional trailing comment, a comment on
/// its own line, or a blank line.
struct Line {
  std::string code;
  std::string comment; ///< trailing comment, if any
  bool blank = false;
  bool commentOnly = false; ///< `code` is a whole-line comment

  static Line codeLine(std::string code) {
    return {std::move(code), "", false, false};
  }
  static Line commentLine(unsigned indent, const Token &comment) {
    return {std::string(indent, ' ') + comment.getSpelling().rtrim().str(), "",
            false, true};
  }
  static Line blankLine() { return {"", "", true, false}; }
  /// Whether a trailing comment can be added.
  bool takesTrailing() const {
    return !blank && !commentOnly && comment.empty();
  }
};

class Formatter {
public:
  Formatter(StringRef source, const std::vector<Token> &comments)
      : source(source), comments(comments), printed(comments.size(), false) {
    lineStarts.push_back(0);
    for (size_t i = 0; i < source.size(); ++i)
      if (source[i] == '\n')
        lineStarts.push_back(i + 1);
  }

  std::string run(const Module &module) {
    printBlock(module.stmts, 0, source.begin(), source.end());
    // Comments after the last statement.
    emitLeadingComments(source.end(), 0);
    return render();
  }

private:
  //===--------------------------------------------------------------------===//
  // Source positions
  //===--------------------------------------------------------------------===//

  /// The 1-based line of a position in the source.
  unsigned lineOf(const char *p) const {
    assert(p >= source.begin() && p <= source.end() &&
           "position outside the formatted source");
    size_t offset = p - source.begin();
    return std::upper_bound(lineStarts.begin(), lineStarts.end(), offset) -
           lineStarts.begin();
  }

  /// True if the text between `a` and `b` has at least one blank line.
  bool hasBlankLineBetween(const char *a, const char *b) const {
    if (!a || a >= b)
      return false;
    StringRef between(a, b - a);
    // A blank line = two newlines with only spaces in between.
    size_t pos = between.find('\n');
    while (pos != StringRef::npos) {
      size_t next = between.find('\n', pos + 1);
      if (next == StringRef::npos)
        break;
      if (between.slice(pos + 1, next).trim().empty())
        return true;
      pos = next;
    }
    return false;
  }

  //===--------------------------------------------------------------------===//
  // Comments
  //===--------------------------------------------------------------------===//

  /// Emits comments that start before `limit` and have not been printed, as
  /// full lines at `indent`.
  void emitLeadingComments(const char *limit, unsigned indent) {
    while (nextComment < comments.size() &&
           comments[nextComment].getLoc().getPointer() < limit) {
      const Token &comment = comments[nextComment];
      const char *start = comment.getLoc().getPointer();
      if (hasBlankLineBetween(lastEnd, start))
        blankLine();
      lines.push_back(Line::commentLine(indent, comment));
      lastEnd = comment.getEndLoc().getPointer();
      markPrinted(nextComment);
    }
  }

  /// Comments inside [begin, end) or trailing on the line where `end` is.
  std::vector<const Token *> commentsWithin(const char *begin,
                                            const char *end) {
    std::vector<const Token *> out;
    const char *lineEnd = end;
    while (lineEnd < source.end() && *lineEnd != '\n')
      ++lineEnd;
    for (size_t i = nextComment; i < comments.size(); ++i) {
      const char *p = comments[i].getLoc().getPointer();
      if (p < begin || printed[i])
        continue;
      if (p >= lineEnd)
        break;
      out.push_back(&comments[i]);
    }
    return out;
  }

  //===--------------------------------------------------------------------===//
  // Blocks and statements
  //===--------------------------------------------------------------------===//

  void printBlock(llvm::ArrayRef<const Stmt *> stmts, unsigned indent,
                  const char *blockStart, const char *blockEnd) {
    (void)blockStart;
    (void)blockEnd;
    for (const Stmt *stmt : stmts) {
      const char *start = stmt->getRange().Start.getPointer();
      // A blank line before the first leading comment (or before the
      // statement, if it has none) is kept.
      const char *firstThing =
          (nextComment < comments.size() &&
           comments[nextComment].getLoc().getPointer() < start)
              ? comments[nextComment].getLoc().getPointer()
              : start;
      if (hasBlankLineBetween(lastEnd, firstThing))
        blankLine();
      emitLeadingComments(start, indent);
      if (hasBlankLineBetween(lastEnd, start))
        blankLine();
      printStmt(stmt, indent);
    }
  }

  void printStmt(const Stmt *stmt, unsigned indent) {
    std::string pad(indent, ' ');
    switch (stmt->getKind()) {
    case Stmt::Kind::Loop: {
      const auto *loop = llvm::cast<LoopStmt>(stmt);
      std::string head = "loop " + loop->getVar().str() + " in " +
                         printExpr(loop->getIterRange());
      if (loop->getUntil())
        head += " until " + printExpr(loop->getUntil());
      printBlockStmt(stmt, head, loop->getBody(), loop->getLBraceLoc(), indent);
      return;
    }
    case Stmt::Kind::Def: {
      const auto *def = llvm::cast<DefStmt>(stmt);
      std::string head = "def " + def->getName().str() + "(";
      for (size_t i = 0; i < def->getParams().size(); ++i) {
        const Param &p = def->getParams()[i];
        head += (i ? ", " : "") + p.name.str() + ": " + p.typeName.str();
      }
      head += ")";
      printBlockStmt(stmt, head, def->getBody(), def->getLBraceLoc(), indent);
      return;
    }
    default:
      break;
    }
    std::vector<Unit> units;
    unsigned continuation = indent + 2;
    bool forceBreak = buildUnits(stmt, units, indent, continuation);
    emitUnits(stmt, units, indent, continuation, forceBreak);
  }

  void printBlockStmt(const Stmt *stmt, const std::string &head,
                      llvm::ArrayRef<const Stmt *> body, SMLoc lbrace,
                      unsigned indent) {
    std::string pad(indent, ' ');
    const char *open = lbrace.getPointer();
    const char *bodyStart = body.empty()
                                ? stmt->getRange().End.getPointer() - 1
                                : body.front()->getRange().Start.getPointer();
    // Comments inside the header (it may span lines) and the one after the
    // `{` on its line go with the header: the first as its trailing comment,
    // the others on their own lines at the top of the body.
    Line line = Line::codeLine(pad + head + " {");
    lastEnd = open + 1;
    std::vector<const Token *> header =
        commentsWithin(stmt->getRange().Start.getPointer(), open + 1);
    for (const Token *c : header) {
      const char *p = c->getLoc().getPointer();
      if (p >= open && lineOf(p) != lineOf(open))
        break;
      if (line.comment.empty()) {
        line.comment = c->getSpelling().rtrim().str();
        lines.push_back(line);
      } else {
        lines.push_back(Line::commentLine(indent + 2, *c));
      }
      markPrinted(size_t(c - comments.data()));
      lastEnd = std::max(lastEnd, c->getEndLoc().getPointer());
    }
    if (line.comment.empty())
      lines.push_back(line);
    blockHeaderEnd = lines.size();
    printBlock(body, indent + 2, bodyStart, stmt->getRange().End.getPointer());
    const char *close = stmt->getRange().End.getPointer() - 1;
    emitLeadingComments(close, indent + 2);
    lines.push_back(Line::codeLine(pad + "}"));
    lastEnd = close + 1;
    attachTrailing(close + 1);
  }

  /// Keeps one blank line, except at the start of the file or a block.
  void blankLine() {
    if (lines.empty() || lines.back().blank || lines.size() == blockHeaderEnd)
      return;
    lines.push_back(Line::blankLine());
  }

  /// Records that comment `index` is printed; `nextComment` stays the first
  /// comment not yet printed.
  void markPrinted(size_t index) {
    printed[index] = true;
    while (nextComment < comments.size() && printed[nextComment])
      ++nextComment;
  }

  /// A comment right after `end` on the same line becomes the last line's
  /// trailing comment.
  void attachTrailing(const char *end) {
    if (nextComment >= comments.size())
      return;
    const Token &c = comments[nextComment];
    const char *p = c.getLoc().getPointer();
    if (p < end || lineOf(p) != lineOf(end - 1))
      return;
    addTrailing(c, leadingSpaces(lines.back().code));
    lastEnd = c.getEndLoc().getPointer();
    markPrinted(nextComment);
  }

  /// `c` as the last line's trailing comment, or on its own line at
  /// `indent` when that line cannot take one.
  void addTrailing(const Token &c, unsigned indent) {
    if (!lines.empty() && lines.back().takesTrailing())
      lines.back().comment = c.getSpelling().rtrim().str();
    else
      lines.push_back(Line::commentLine(indent, c));
  }

  static unsigned leadingSpaces(const std::string &s) {
    unsigned n = 0;
    while (n < s.size() && s[n] == ' ')
      ++n;
    return n;
  }

  /// Splits a pipeline into its head and stages.
  static void flattenPipe(const Expr *expr, const Expr *&head,
                          std::vector<const CallExpr *> &stages) {
    if (const auto *pipe = llvm::dyn_cast<PipeExpr>(expr)) {
      flattenPipe(pipe->getInput(), head, stages);
      stages.push_back(pipe->getOp());
      return;
    }
    head = expr;
  }

  /// Splits a sum into its terms with their signs.
  static void
  flattenSum(const Expr *expr,
             std::vector<std::pair<std::string, const Expr *>> &terms,
             std::string sign = "+") {
    if (const auto *binary = llvm::dyn_cast<BinaryExpr>(expr))
      if (binary->getOp() == BinaryOp::Add ||
          binary->getOp() == BinaryOp::Sub) {
        flattenSum(binary->getLHS(), terms, sign);
        terms.push_back(
            {binary->getOp() == BinaryOp::Add ? "+" : "-", binary->getRHS()});
        return;
      }
    terms.push_back({sign, expr});
  }

  static bool isObjectiveSum(const Expr *expr) {
    std::vector<std::pair<std::string, const Expr *>> terms;
    flattenSum(expr, terms);
    if (terms.size() < 2)
      return false;
    // A sum of loss terms: some term mentions a call (numbers alone are not
    // worth breaking).
    return llvm::any_of(terms, [](const auto &t) {
      return llvm::isa<CallExpr>(t.second) ||
             (llvm::isa<BinaryExpr>(t.second) &&
              (llvm::isa<CallExpr>(
                   llvm::cast<BinaryExpr>(t.second)->getLHS()) ||
               llvm::isa<CallExpr>(
                   llvm::cast<BinaryExpr>(t.second)->getRHS())));
    });
  }

  /// Units of an expression that may break: pipeline stages or sum terms.
  /// Returns the number of break points that the layout rules force.
  bool exprUnits(const Expr *expr, std::string prefix, std::vector<Unit> &units,
                 unsigned &continuation, unsigned indent) {
    if (llvm::isa<PipeExpr>(expr)) {
      const Expr *head;
      std::vector<const CallExpr *> stages;
      flattenPipe(expr, head, stages);
      units.push_back({prefix + printExpr(head),
                       head->getRange().End.getPointer(), " ", ""});
      for (const CallExpr *stage : stages)
        units.push_back({printExpr(stage), stage->getRange().End.getPointer(),
                         " |> ", "|> "});
      continuation = indent + 2;
      return stages.size() >= 2;
    }
    if (isObjectiveSum(expr)) {
      std::vector<std::pair<std::string, const Expr *>> terms;
      flattenSum(expr, terms);
      units.push_back({prefix + printWithParens(terms[0].second, 7),
                       terms[0].second->getRange().End.getPointer(), " ", ""});
      // Continuation lines align the operator under the first term.
      continuation = indent + prefix.size() - 2;
      for (size_t i = 1; i < terms.size(); ++i)
        units.push_back({printWithParens(terms[i].second, 7),
                         terms[i].second->getRange().End.getPointer(),
                         " " + terms[i].first + " ", terms[i].first + " ",
                         int(continuation)});
      return terms.size() >= 3;
    }
    units.push_back({prefix + printClosed(expr),
                     expr->getRange().End.getPointer(), " ", ""});
    return false;
  }

  bool buildUnits(const Stmt *stmt, std::vector<Unit> &units, unsigned indent,
                  unsigned &continuation) {
    const char *end = stmt->getRange().End.getPointer();
    switch (stmt->getKind()) {
    case Stmt::Kind::Seed:
      units.push_back(
          {"seed " + printClosed(llvm::cast<SeedStmt>(stmt)->getValue()), end});
      return false;
    case Stmt::Kind::Binding: {
      const auto *b = llvm::cast<BindingStmt>(stmt);
      std::string prefix = spelling(b->getBindingKind()).str() + " " +
                           b->getName().str() + " = ";
      return exprUnits(b->getValue(), prefix, units, continuation, indent);
    }
    case Stmt::Kind::Adapter: {
      const auto *a = llvm::cast<AdapterStmt>(stmt);
      std::vector<std::string> targets;
      for (const Expr *t : a->getTargets())
        targets.push_back(printExpr(t));
      units.push_back({"adapter " + a->getName().str() + " = " +
                           printExpr(a->getAdapterKind()),
                       a->getAdapterKind()->getRange().End.getPointer()});
      units.push_back({"on " + llvm::join(targets, ", "), end});
      return false;
    }
    case Stmt::Kind::Freeze: {
      const auto *f = llvm::cast<FreezeStmt>(stmt);
      std::vector<std::string> targets, exceptions;
      for (const Expr *t : f->getTargets())
        targets.push_back(printExpr(t));
      for (const Expr *e : f->getExceptions())
        exceptions.push_back(printExpr(e));
      std::string text =
          (f->isReinit() ? "reinit " : "freeze ") + llvm::join(targets, ", ");
      if (!exceptions.empty())
        text += " except " + llvm::join(exceptions, ", ");
      units.push_back({text, end});
      return false;
    }
    case Stmt::Kind::Train: {
      const auto *t = llvm::cast<TrainStmt>(stmt);
      // An objective written inline breaks only when the line is too long.
      exprUnits(t->getObjective(),
                "train " + printExpr(t->getModel()) + " with ", units,
                continuation, indent);
      for (const TrainClause &clause : t->getClauses())
        units.push_back(
            {clause.name.str() + " " + printClauseValue(clause.value),
             clause.value->getRange().End.getPointer()});
      continuation = indent + 2;
      return false;
    }
    case Stmt::Kind::Log: {
      std::vector<std::string> values;
      for (const Expr *v : llvm::cast<LogStmt>(stmt)->getValues())
        values.push_back(printClosed(v));
      units.push_back({"log " + llvm::join(values, ", "), end});
      return false;
    }
    case Stmt::Kind::Save: {
      const auto *s = llvm::cast<SaveStmt>(stmt);
      units.push_back({"save " + printExpr(s->getValue()) + " to " +
                           printClosed(s->getPath()),
                       end});
      return false;
    }
    case Stmt::Kind::Import: {
      const auto *i = llvm::cast<ImportStmt>(stmt);
      std::string text = "import ";
      if (i->isFilePath())
        text += std::string(i->getModuleRange().Start.getPointer(),
                            i->getModuleRange().End.getPointer());
      else
        text += i->getModule().str();
      if (!i->getNames().empty()) {
        std::vector<std::string> names;
        for (const auto &n : i->getNames())
          names.push_back(n.name.str());
        text += ".{" + llvm::join(names, ", ") + "}";
      }
      units.push_back({text, end});
      return false;
    }
    case Stmt::Kind::Append: {
      const auto *a = llvm::cast<AppendStmt>(stmt);
      return exprUnits(a->getValue(), a->getName().str() + " += ", units,
                       continuation, indent);
    }
    case Stmt::Kind::ExprStmt:
      return exprUnits(llvm::cast<ExprStmt>(stmt)->getExpr(), "", units,
                       continuation, indent);
    case Stmt::Kind::Loop:
    case Stmt::Kind::Def:
      break;
    }
    return false;
  }

  void emitUnits(const Stmt *stmt, std::vector<Unit> &units, unsigned indent,
                 unsigned continuation, bool forceBreak) {
    std::string pad(indent, ' ');
    const char *start = stmt->getRange().Start.getPointer();
    const char *end = stmt->getRange().End.getPointer();
    auto inner = commentsWithin(start, end);
    // Comments inside the units' text force a break. (A comment after the
    // last unit, before closing parentheses, follows the statement.)
    const char *unitsEnd = units.back().sourceEnd;
    bool innerComment = llvm::any_of(inner, [&](const Token *c) {
      return c->getLoc().getPointer() < unitsEnd;
    });
    std::string single = pad;
    for (size_t i = 0; i < units.size(); ++i)
      single += (i ? units[i].joiner : "") + units[i].text;
    bool isTrain = llvm::isa<TrainStmt>(stmt);
    bool fits = single.size() <= maxWidth;
    if (!forceBreak && !innerComment && fits) {
      lines.push_back(Line::codeLine(single));
      lastEnd = end;
      attachTrailing(end);
      return;
    }

    // Break: one unit per line, except train clauses, which fill lines.
    std::vector<std::pair<std::string, const char *>> out; // code, source end
    std::string current = pad + units[0].text;
    const char *currentEnd = units[0].sourceEnd;
    bool onClauseLine = false;
    for (size_t i = 1; i < units.size(); ++i) {
      const Unit &u = units[i];
      bool commentHere = llvm::any_of(inner, [&](const Token *c) {
        const char *p = c->getLoc().getPointer();
        return p >= currentEnd && p < u.sourceEnd;
      });
      bool isClause = isTrain && u.breakPrefix.empty();
      // Train layout: the optimizer and schedule stay on the line of the
      // objective when they fit; the other clauses share continuation lines.
      bool headClause =
          isClause && (StringRef(u.text).starts_with("using ") ||
                       StringRef(u.text).starts_with("schedule "));
      bool sameGroup = headClause ? !onClauseLine : onClauseLine;
      // A clause whose value starts with '(' never begins a line: the parser
      // reads `clip (x)` at the start of a line as a call statement.
      bool mustJoin =
          isClause && StringRef(u.text).split(' ').second.starts_with("(");
      if (mustJoin || (isClause && !commentHere && sameGroup &&
                       current.size() + 1 + u.text.size() <= maxWidth)) {
        current += " " + u.text;
        currentEnd = u.sourceEnd;
        continue;
      }
      if (isClause)
        onClauseLine = !headClause;
      if (!u.breakPrefix.empty() || isClause || commentHere || !fits) {
        out.push_back({current, currentEnd});
        unsigned at =
            u.continuation >= 0 ? unsigned(u.continuation) : continuation;
        current = std::string(at, ' ') + u.breakPrefix + u.text;
      } else {
        current += u.joiner + u.text;
      }
      currentEnd = u.sourceEnd;
    }
    out.push_back({current, currentEnd});

    // Place comments: each one follows the last line whose source ends before
    // it (trailing if on that line's source line, else its own line).
    for (size_t i = 0; i < out.size(); ++i) {
      const char *lineEndSrc = out[i].second;
      const char *nextEndSrc = i + 1 < out.size() ? out[i + 1].second : nullptr;
      lines.push_back(Line::codeLine(out[i].first));
      lastEnd = lineEndSrc;
      // Comments inside the line's own source text move after it (where a
      // second formatting would leave them: after the last line they are
      // the next statement's leading comments).
      while (nextComment < comments.size() &&
             comments[nextComment].getLoc().getPointer() < lineEndSrc) {
        const Token &c = comments[nextComment];
        addTrailing(c, nextEndSrc ? continuation : indent);
        lastEnd = std::max(lastEnd, c.getEndLoc().getPointer());
        markPrinted(nextComment);
      }
      // Comments between this line's source and the next one's.
      while (nextComment < comments.size()) {
        const Token &c = comments[nextComment];
        const char *p = c.getLoc().getPointer();
        if (nextEndSrc && p >= nextEndSrc)
          break;
        if (!nextEndSrc && lineOf(p) != lineOf(end - 1) && p >= end)
          break;
        if (lines.back().takesTrailing() && lineOf(p) == lineOf(lineEndSrc - 1))
          lines.back().comment = c.getSpelling().rtrim().str();
        else
          lines.push_back(
              Line::commentLine(nextEndSrc ? continuation : indent, c));
        lastEnd = c.getEndLoc().getPointer();
        markPrinted(nextComment);
      }
    }
    lastEnd = std::max(lastEnd, end);
  }

  //===--------------------------------------------------------------------===//
  // Output
  //===--------------------------------------------------------------------===//

  std::string render() {
    // Drop trailing blank lines.
    while (!lines.empty() && lines.back().blank)
      lines.pop_back();
    // Align trailing comments within runs of consecutive commented lines.
    for (size_t i = 0; i < lines.size();) {
      if (lines[i].comment.empty()) {
        ++i;
        continue;
      }
      size_t j = i;
      size_t width = 0;
      while (j < lines.size() && !lines[j].comment.empty() && !lines[j].blank) {
        width = std::max(width, lines[j].code.size());
        ++j;
      }
      for (size_t k = i; k < j; ++k)
        lines[k].code.append(width + 2 - lines[k].code.size(), ' ');
      i = j;
    }
    std::string out;
    for (const Line &line : lines) {
      if (line.blank) {
        out += "\n";
        continue;
      }
      std::string text = line.code + line.comment;
      while (!text.empty() && text.back() == ' ')
        text.pop_back();
      out += text + "\n";
    }
    return out;
  }

  StringRef source;
  const std::vector<Token> &comments;
  std::vector<bool> printed;
  std::vector<size_t> lineStarts; ///< offset of each line's first character
  size_t nextComment = 0;
  /// The line count just after the latest block header (and its comments).
  size_t blockHeaderEnd = 0;
  std::vector<Line> lines;
  const char *lastEnd = nullptr;
};

} // namespace

std::string ftl::lang::formatModule(const Module &module, StringRef source,
                                    const std::vector<Token> &comments) {
  Formatter formatter(source, comments);
  return formatter.run(module);
}
