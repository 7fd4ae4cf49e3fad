//===- Parser.cpp - Parser for .ftl files ---------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/Parser.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Lexer.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <cstdlib>

using namespace ftl::lang;
using llvm::SMLoc;
using llvm::SMRange;
using llvm::StringRef;

static const StringRef trainClauseNames[] = {
    "using",     "schedule",   "steps",     "epochs",     "batch",
    "seq",       "accumulate", "clip",      "eval_every", "eval_on",
    "log_every", "save_every", "recompute", "device",     "precision",
};

llvm::ArrayRef<StringRef> ftl::lang::getTrainClauseNames() {
  return trainClauseNames;
}

StringRef ftl::lang::spelling(BinaryOp op) {
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

StringRef ftl::lang::spelling(BindingKind kind) {
  switch (kind) {
  case BindingKind::Model:
    return "model";
  case BindingKind::Tokenizer:
    return "tokenizer";
  case BindingKind::Data:
    return "data";
  case BindingKind::Objective:
    return "objective";
  case BindingKind::Eval:
    return "eval";
  case BindingKind::Let:
    return "let";
  }
  return "?";
}

namespace {

class Parser {
public:
  Parser(StringRef buffer, ASTContext &context, DiagnosticEngine &diags,
         std::vector<Token> *comments)
      : context(context), diags(diags) {
    tokens = Lexer::lexAll(buffer, diags, comments);
  }

  llvm::ArrayRef<const Stmt *> parseFile() {
    llvm::SmallVector<const Stmt *, 32> stmts;
    while (!cur().is(TokenKind::eof)) {
      if (cur().is(TokenKind::r_brace)) {
        diags.report(cur().getRange(), diag::ExpectedStatement,
                     {describe(cur())});
        advance();
        continue;
      }
      stmtStartPos = pos;
      if (const Stmt *stmt = parseStmt(/*topLevel=*/true))
        stmts.push_back(stmt);
      else
        recover();
    }
    return context.copy(llvm::ArrayRef<const Stmt *>(stmts));
  }

private:
  //===--------------------------------------------------------------------===//
  // Token helpers
  //===--------------------------------------------------------------------===//

  const Token &cur() const { return tokens[pos]; }
  const Token &peek(unsigned n = 1) const {
    return tokens[std::min<size_t>(pos + n, tokens.size() - 1)];
  }
  const Token &prev() const { return tokens[pos ? pos - 1 : 0]; }
  void advance() {
    if (!cur().is(TokenKind::eof))
      ++pos;
  }
  bool consumeIf(TokenKind kind) {
    if (!cur().is(kind))
      return false;
    advance();
    return true;
  }
  SMRange rangeFrom(SMLoc start) const {
    return SMRange(start, prev().getEndLoc());
  }

  static std::string describe(const Token &tok) {
    switch (tok.getKind()) {
    case TokenKind::eof:
      return "end of file";
    case TokenKind::identifier:
      return "identifier '" + tok.getSpelling().str() + "'";
    case TokenKind::error:
      return "an invalid token";
    default:
      if (tok.isKeyword())
        return "keyword '" + tok.getSpelling().str() + "'";
      return "'" + tok.getSpelling().str() + "'";
    }
  }

  /// Where to report that something is missing: at the found token, or
  /// just after the previous one when the found token is on a later line.
  SMRange missingRange() const {
    if (pos > 0 && (cur().startsLine() || cur().is(TokenKind::eof)))
      return SMRange(prev().getEndLoc(), prev().getEndLoc());
    return cur().getRange();
  }

  bool expect(TokenKind kind, StringRef what = {}) {
    if (consumeIf(kind))
      return true;
    // Errors from the lexer were already reported.
    if (!cur().is(TokenKind::error))
      diags.report(missingRange(), diag::ExpectedToken,
                   {what.empty() ? tokenKindName(kind).str() : what.str(),
                    describe(cur())});
    return false;
  }

  //===--------------------------------------------------------------------===//
  // Nesting limits
  //===--------------------------------------------------------------------===//

  /// One level of recursion through expressions or blocks.
  class NestingScope {
  public:
    explicit NestingScope(unsigned &level) : level(level) { ++level; }
    ~NestingScope() { --level; }

  private:
    unsigned &level;
  };

  void reportTooDeep(SMRange range, bool blocks) {
    diags.report(range, diag::NestingTooDeep,
                 {blocks ? "blocks" : "expressions",
                  std::to_string(maxNestingDepth),
                  blocks ? "move inner blocks into a 'def'"
                         : "split them with 'let' bindings"});
  }

  /// False (after reporting) when the recursion went too deep.
  bool checkNesting(unsigned level, bool blocks) {
    if (level <= maxNestingDepth)
      return true;
    reportTooDeep(cur().getRange(), blocks);
    return false;
  }

  /// `expr`, or null (after reporting) when its tree is too deep.
  template <typename T>
  const T *bounded(const T *expr) {
    if (!expr || expr->getDepth() <= maxNestingDepth)
      return expr;
    reportTooDeep(prev().getRange(), /*blocks=*/false);
    return nullptr;
  }

  /// An identifier; keywords are accepted where `allowKeyword` (member names
  /// and keyword-argument names such as `eval:` or `on:`).
  bool parseName(StringRef &name, SMRange &range, StringRef what,
                 bool allowKeyword = false) {
    if (cur().is(TokenKind::identifier) ||
        (allowKeyword && cur().isKeyword())) {
      name = cur().getSpelling();
      range = cur().getRange();
      advance();
      return true;
    }
    if (!cur().is(TokenKind::error))
      diags.report(cur().getRange(), diag::ExpectedToken,
                   {what.str(), describe(cur())});
    return false;
  }

  static bool isStatementKeyword(TokenKind kind) {
    switch (kind) {
    case TokenKind::kw_seed:
    case TokenKind::kw_model:
    case TokenKind::kw_tokenizer:
    case TokenKind::kw_data:
    case TokenKind::kw_adapter:
    case TokenKind::kw_freeze:
    case TokenKind::kw_reinit:
    case TokenKind::kw_objective:
    case TokenKind::kw_train:
    case TokenKind::kw_eval:
    case TokenKind::kw_loop:
    case TokenKind::kw_let:
    case TokenKind::kw_log:
    case TokenKind::kw_save:
    case TokenKind::kw_def:
    case TokenKind::kw_import:
      return true;
    default:
      return false;
    }
  }

  /// Skips to a plausible statement start: a statement keyword or an
  /// identifier at the start of a line, a closing brace, or the end.
  void recover() {
    // Stop at once if the failed statement already consumed tokens and we
    // are at the start of the next one.
    if (pos == stmtStartPos && !cur().is(TokenKind::eof))
      advance();
    unsigned depth = 0;
    while (!cur().is(TokenKind::eof)) {
      if (cur().is(TokenKind::l_brace))
        ++depth;
      if (cur().is(TokenKind::r_brace)) {
        if (depth == 0)
          return;
        --depth;
        advance();
        continue;
      }
      if (depth == 0 && cur().startsLine() &&
          (isStatementKeyword(cur().getKind()) ||
           cur().is(TokenKind::identifier)))
        return;
      advance();
    }
  }

  //===--------------------------------------------------------------------===//
  // Statements
  //===--------------------------------------------------------------------===//

  const Stmt *parseStmt(bool topLevel) {
    SMLoc start = cur().getLoc();
    switch (cur().getKind()) {
    case TokenKind::kw_seed: {
      advance();
      const Expr *value = parseExpr();
      if (!value)
        return nullptr;
      return context.create<SeedStmt>(rangeFrom(start), value);
    }
    case TokenKind::kw_model:
      return parseBinding(BindingKind::Model);
    case TokenKind::kw_tokenizer:
      return parseBinding(BindingKind::Tokenizer);
    case TokenKind::kw_data:
      return parseBinding(BindingKind::Data);
    case TokenKind::kw_objective:
      return parseBinding(BindingKind::Objective);
    case TokenKind::kw_eval:
      return parseBinding(BindingKind::Eval);
    case TokenKind::kw_let:
      return parseBinding(BindingKind::Let);
    case TokenKind::kw_adapter:
      return parseAdapter();
    case TokenKind::kw_freeze:
    case TokenKind::kw_reinit:
      return parseFreeze();
    case TokenKind::kw_train:
      return parseTrain();
    case TokenKind::kw_loop:
      return parseLoop();
    case TokenKind::kw_log: {
      advance();
      llvm::SmallVector<const Expr *, 4> values;
      do {
        const Expr *value = parseExpr();
        if (!value)
          return nullptr;
        values.push_back(value);
      } while (consumeIf(TokenKind::comma));
      return context.create<LogStmt>(rangeFrom(start),
                                     context.copy(llvm::ArrayRef(values)));
    }
    case TokenKind::kw_save: {
      advance();
      const Expr *value = parseExpr();
      if (!value || !expect(TokenKind::kw_to))
        return nullptr;
      const Expr *path = parseExpr();
      if (!path)
        return nullptr;
      return context.create<SaveStmt>(rangeFrom(start), value, path);
    }
    case TokenKind::kw_def:
    case TokenKind::kw_import:
      if (!topLevel) {
        diags.report(cur().getRange(), diag::NestedDefinition);
        return nullptr;
      }
      return cur().is(TokenKind::kw_def) ? parseDef() : parseImport();
    case TokenKind::identifier:
      if (peek().is(TokenKind::plus_equal)) {
        StringRef name = cur().getSpelling();
        SMRange nameRange = cur().getRange();
        advance();
        advance();
        const Expr *value = parseExpr();
        if (!value)
          return nullptr;
        return context.create<AppendStmt>(rangeFrom(start), name, nameRange,
                                          value);
      }
      [[fallthrough]];
    default: {
      if (!startsExpression(cur())) {
        if (!cur().is(TokenKind::error))
          diags.report(cur().getRange(), diag::ExpectedStatement,
                       {describe(cur())});
        return nullptr;
      }
      const Expr *expr = parseExpr();
      if (!expr)
        return nullptr;
      if (!llvm::isa<CallExpr>(expr)) {
        diags.report(expr->getRange(), diag::ExpectedStatement,
                     {"an expression whose value is not used"});
        return nullptr;
      }
      return context.create<ExprStmt>(rangeFrom(start), expr);
    }
    }
  }

  const Stmt *parseBinding(BindingKind kind) {
    SMLoc start = cur().getLoc();
    advance();
    StringRef name;
    SMRange nameRange;
    if (!parseName(name, nameRange, "a name"))
      return nullptr;
    if (!expect(TokenKind::equal))
      return nullptr;
    const Expr *value = parseExpr();
    if (!value)
      return nullptr;
    return context.create<BindingStmt>(rangeFrom(start), kind, name, nameRange,
                                       value);
  }

  const Stmt *parseAdapter() {
    SMLoc start = cur().getLoc();
    advance();
    StringRef name;
    SMRange nameRange;
    if (!parseName(name, nameRange, "an adapter name"))
      return nullptr;
    if (!expect(TokenKind::equal))
      return nullptr;
    const Expr *kind = parsePostfix();
    if (!kind)
      return nullptr;
    const auto *call = llvm::dyn_cast<CallExpr>(kind);
    if (!call) {
      diags.report(
          kind->getRange(), diag::ExpectedToken,
          {"an adapter kind such as 'lora(rank: 8)'", "an expression"});
      return nullptr;
    }
    if (!expect(TokenKind::kw_on,
                "'on' and the parameters the adapter goes on"))
      return nullptr;
    llvm::SmallVector<const Expr *, 4> targets;
    if (!parseSelectorList(targets))
      return nullptr;
    return context.create<AdapterStmt>(rangeFrom(start), name, nameRange, call,
                                       context.copy(llvm::ArrayRef(targets)));
  }

  /// `freeze sel, ... [except sel, ...]` and `reinit sel, ...`.
  const Stmt *parseFreeze() {
    SMLoc start = cur().getLoc();
    bool reinit = cur().getKind() == TokenKind::kw_reinit;
    advance();
    llvm::SmallVector<const Expr *, 4> targets, exceptions;
    if (!parseSelectorList(targets))
      return nullptr;
    if (!reinit && consumeIf(TokenKind::kw_except))
      if (!parseSelectorList(exceptions))
        return nullptr;
    return context.create<FreezeStmt>(
        rangeFrom(start), context.copy(llvm::ArrayRef(targets)),
        context.copy(llvm::ArrayRef(exceptions)), reinit);
  }

  const Stmt *parseTrain() {
    SMLoc start = cur().getLoc();
    advance();
    const Expr *model = parseExpr();
    if (!model || !expect(TokenKind::kw_with, "'with' and an objective"))
      return nullptr;
    const Expr *objective = parseExpr();
    if (!objective)
      return nullptr;
    llvm::SmallVector<TrainClause, 8> clauses;
    while (cur().is(TokenKind::identifier)) {
      StringRef name = cur().getSpelling();
      bool known = llvm::is_contained(trainClauseNames, name);
      // A line that starts with something other than a clause name begins the
      // next statement (a call, `pairs += ...`).
      if (!known && cur().startsLine())
        break;
      if (known &&
          (peek().is(TokenKind::l_paren) || peek().is(TokenKind::plus_equal)) &&
          cur().startsLine())
        break;
      if (!known) {
        std::string expected;
        for (StringRef clause : trainClauseNames)
          expected += (expected.empty() ? "" : ", ") + clause.str();
        auto diag = diags.report(cur().getRange(), diag::UnknownTrainClause,
                                 {name.str(), expected});
        std::vector<std::string> candidates;
        for (StringRef clause : trainClauseNames)
          candidates.push_back(clause.str());
        std::string suggestion = suggestName(name, candidates);
        if (!suggestion.empty())
          diag.attachNote(cur().getRange(), diag::NoteDidYouMean, {suggestion});
        return nullptr;
      }
      SMRange nameRange = cur().getRange();
      advance();
      for (const TrainClause &clause : clauses)
        if (clause.name == name) {
          diags.report(nameRange, diag::DuplicateClause, {name.str()});
          return nullptr;
        }
      const Expr *value = parseExpr();
      if (!value)
        return nullptr;
      clauses.push_back({name, nameRange, value});
    }
    return context.create<TrainStmt>(rangeFrom(start), model, objective,
                                     context.copy(llvm::ArrayRef(clauses)));
  }

  bool parseBlock(llvm::SmallVectorImpl<const Stmt *> &body, SMLoc &lbrace) {
    NestingScope scope(blockNesting);
    if (!checkNesting(blockNesting, /*blocks=*/true))
      return false;
    lbrace = cur().getLoc();
    if (!expect(TokenKind::l_brace))
      return false;
    while (!cur().is(TokenKind::r_brace) && !cur().is(TokenKind::eof)) {
      stmtStartPos = pos;
      if (const Stmt *stmt = parseStmt(/*topLevel=*/false))
        body.push_back(stmt);
      else
        recover();
    }
    return expect(TokenKind::r_brace, "'}' to close the block");
  }

  const Stmt *parseLoop() {
    SMLoc start = cur().getLoc();
    advance();
    StringRef var;
    SMRange varRange;
    if (!parseName(var, varRange, "a loop variable") ||
        !expect(TokenKind::kw_in))
      return nullptr;
    const Expr *range = parseExpr();
    if (!range)
      return nullptr;
    const Expr *until = nullptr;
    if (consumeIf(TokenKind::kw_until)) {
      until = parseExpr();
      if (!until)
        return nullptr;
    }
    llvm::SmallVector<const Stmt *, 8> body;
    SMLoc lbrace;
    if (!parseBlock(body, lbrace))
      return nullptr;
    return context.create<LoopStmt>(rangeFrom(start), var, varRange, range,
                                    until, context.copy(llvm::ArrayRef(body)),
                                    lbrace);
  }

  const Stmt *parseDef() {
    SMLoc start = cur().getLoc();
    advance();
    StringRef name;
    SMRange nameRange;
    if (!parseName(name, nameRange, "a function name") ||
        !expect(TokenKind::l_paren))
      return nullptr;
    llvm::SmallVector<Param, 4> params;
    if (!cur().is(TokenKind::r_paren)) {
      do {
        Param param;
        if (!parseName(param.name, param.nameRange, "a parameter name") ||
            !expect(TokenKind::colon, "':' and the parameter's type") ||
            !parseName(param.typeName, param.typeRange, "a type name",
                       /*allowKeyword=*/true))
          return nullptr;
        params.push_back(param);
      } while (consumeIf(TokenKind::comma));
    }
    if (!expect(TokenKind::r_paren))
      return nullptr;
    llvm::SmallVector<const Stmt *, 8> body;
    SMLoc lbrace;
    if (!parseBlock(body, lbrace))
      return nullptr;
    return context.create<DefStmt>(rangeFrom(start), name, nameRange,
                                   context.copy(llvm::ArrayRef(params)),
                                   context.copy(llvm::ArrayRef(body)), lbrace);
  }

  const Stmt *parseImport() {
    SMLoc start = cur().getLoc();
    advance();
    if (cur().is(TokenKind::string)) {
      StringRef path = context.copy(decodeStringLiteral(cur().getSpelling()));
      SMRange range = cur().getRange();
      advance();
      llvm::SmallVector<ImportStmt::Name, 4> names;
      if (cur().is(TokenKind::dot) && peek().is(TokenKind::l_brace)) {
        advance();
        advance();
        if (!parseImportNames(names))
          return nullptr;
      }
      return context.create<ImportStmt>(rangeFrom(start), path, range,
                                        /*isPath=*/true,
                                        context.copy(llvm::ArrayRef(names)));
    }
    StringRef first;
    SMRange firstRange;
    if (!parseName(first, firstRange, "a module name or a file path"))
      return nullptr;
    SMLoc moduleStart = firstRange.Start;
    SMLoc moduleEnd = firstRange.End;
    // The dotted name without any spaces or comments between its parts.
    std::string dotted = first.str();
    llvm::SmallVector<ImportStmt::Name, 4> names;
    while (consumeIf(TokenKind::dot)) {
      if (consumeIf(TokenKind::l_brace)) {
        if (!parseImportNames(names))
          return nullptr;
        break;
      }
      StringRef part;
      SMRange partRange;
      if (!parseName(part, partRange, "a module name", /*allowKeyword=*/true))
        return nullptr;
      dotted += "." + part.str();
      moduleEnd = partRange.End;
    }
    StringRef module = context.copy(StringRef(dotted));
    return context.create<ImportStmt>(
        rangeFrom(start), module, SMRange(moduleStart, moduleEnd),
        /*isPath=*/false, context.copy(llvm::ArrayRef(names)));
  }

  bool parseImportNames(llvm::SmallVectorImpl<ImportStmt::Name> &names) {
    do {
      ImportStmt::Name n;
      if (!parseName(n.name, n.range, "a name to import"))
        return false;
      names.push_back(n);
    } while (consumeIf(TokenKind::comma));
    return expect(TokenKind::r_brace);
  }

  //===--------------------------------------------------------------------===//
  // Selectors
  //===--------------------------------------------------------------------===//

  bool parseSelectorList(llvm::SmallVectorImpl<const Expr *> &out) {
    do {
      const Expr *selector = parseSelector();
      if (!selector)
        return false;
      out.push_back(selector);
    } while (consumeIf(TokenKind::comma));
    return true;
  }

  /// NAME ('.' segment | '[' index ']')*
  const Expr *parseSelector() {
    if (!cur().is(TokenKind::identifier)) {
      if (!cur().is(TokenKind::error))
        diags.report(cur().getRange(), diag::ExpectedSelector,
                     {describe(cur())});
      return nullptr;
    }
    SMLoc start = cur().getLoc();
    const Expr *expr =
        context.create<NameExpr>(cur().getRange(), cur().getSpelling());
    advance();
    while (true) {
      if (consumeIf(TokenKind::dot)) {
        if (consumeIf(TokenKind::l_brace)) {
          llvm::SmallVector<StringRef, 4> names;
          do {
            StringRef name;
            SMRange range;
            if (!parseName(name, range, "a member name"))
              return nullptr;
            names.push_back(name);
          } while (consumeIf(TokenKind::comma));
          if (!expect(TokenKind::r_brace))
            return nullptr;
          expr = bounded(context.create<MemberExpr>(
              rangeFrom(start), expr, context.copy(llvm::ArrayRef(names)),
              /*isSet=*/true));
          if (!expr)
            return nullptr;
          continue;
        }
        StringRef name;
        if (cur().is(TokenKind::star)) {
          name = cur().getSpelling();
          advance();
        } else if (cur().is(TokenKind::identifier) || cur().isKeyword()) {
          name = cur().getSpelling();
          advance();
          // `norm*`: a glob when the star touches the name.
          if (cur().is(TokenKind::star) &&
              cur().getLoc().getPointer() == name.end()) {
            name = StringRef(name.data(), name.size() + 1);
            advance();
          }
        } else {
          if (!cur().is(TokenKind::error))
            diags.report(cur().getRange(), diag::ExpectedSelector,
                         {describe(cur())});
          return nullptr;
        }
        StringRef names[] = {name};
        expr = bounded(context.create<MemberExpr>(
            rangeFrom(start), expr, context.copy(llvm::ArrayRef(names)),
            /*isSet=*/false));
        if (!expr)
          return nullptr;
        continue;
      }
      if (cur().is(TokenKind::l_square)) {
        advance();
        const Expr *index = nullptr;
        if (cur().is(TokenKind::star) && peek().is(TokenKind::r_square)) {
          index = context.create<WildcardExpr>(cur().getRange());
          advance();
        } else {
          SMLoc indexStart = cur().getLoc();
          llvm::SmallVector<const Expr *, 4> indices;
          do {
            const Expr *e = parseExpr();
            if (!e)
              return nullptr;
            indices.push_back(e);
          } while (consumeIf(TokenKind::comma));
          index = indices.size() == 1
                      ? indices.front()
                      : bounded(context.create<ListExpr>(
                            rangeFrom(indexStart),
                            context.copy(llvm::ArrayRef(indices)),
                            /*bracketed=*/false));
          if (!index)
            return nullptr;
        }
        if (!expect(TokenKind::r_square))
          return nullptr;
        expr =
            bounded(context.create<IndexExpr>(rangeFrom(start), expr, index));
        if (!expr)
          return nullptr;
        continue;
      }
      return expr;
    }
  }

  //===--------------------------------------------------------------------===//
  // Expressions
  //===--------------------------------------------------------------------===//

  static bool startsExpression(const Token &tok) {
    switch (tok.getKind()) {
    case TokenKind::identifier:
    case TokenKind::integer:
    case TokenKind::floating:
    case TokenKind::percent:
    case TokenKind::duration:
    case TokenKind::string:
    case TokenKind::regex:
    case TokenKind::kw_true:
    case TokenKind::kw_false:
    case TokenKind::l_paren:
    case TokenKind::l_square:
    case TokenKind::dot:
    case TokenKind::dotdot:
    case TokenKind::minus:
    case TokenKind::bang:
      return true;
    default:
      return false;
    }
  }

  const Expr *parseExpr() {
    NestingScope scope(exprNesting);
    if (!checkNesting(exprNesting, /*blocks=*/false))
      return nullptr;
    return parsePipe();
  }

  const Expr *parsePipe() {
    SMLoc start = cur().getLoc();
    const Expr *lhs = parseOr();
    if (!lhs)
      return nullptr;
    while (cur().is(TokenKind::pipe)) {
      advance();
      SMLoc opStart = cur().getLoc();
      const Expr *rhs = parsePostfix();
      if (!rhs)
        return nullptr;
      const auto *call = llvm::dyn_cast<CallExpr>(rhs);
      if (!call) {
        diags.report(SMRange(opStart, prev().getEndLoc()),
                     diag::ExpectedPipeTarget,
                     {"an expression that is not a call"});
        return nullptr;
      }
      lhs = bounded(context.create<PipeExpr>(rangeFrom(start), lhs, call));
      if (!lhs)
        return nullptr;
    }
    return lhs;
  }

  const Expr *parseOr() {
    SMLoc start = cur().getLoc();
    const Expr *lhs = parseAnd();
    while (lhs && cur().is(TokenKind::pipe_pipe)) {
      SMRange opRange = cur().getRange();
      advance();
      const Expr *rhs = parseAnd();
      if (!rhs)
        return nullptr;
      lhs = bounded(context.create<BinaryExpr>(rangeFrom(start), BinaryOp::Or,
                                               opRange, lhs, rhs));
    }
    return lhs;
  }

  const Expr *parseAnd() {
    SMLoc start = cur().getLoc();
    const Expr *lhs = parseComparison();
    while (lhs && cur().is(TokenKind::amp_amp)) {
      SMRange opRange = cur().getRange();
      advance();
      const Expr *rhs = parseComparison();
      if (!rhs)
        return nullptr;
      lhs = bounded(context.create<BinaryExpr>(rangeFrom(start), BinaryOp::And,
                                               opRange, lhs, rhs));
    }
    return lhs;
  }

  const Expr *parseComparison() {
    SMLoc start = cur().getLoc();
    const Expr *lhs = parseRange();
    if (!lhs)
      return nullptr;
    BinaryOp op;
    switch (cur().getKind()) {
    case TokenKind::less:
      op = BinaryOp::Less;
      break;
    case TokenKind::less_equal:
      op = BinaryOp::LessEqual;
      break;
    case TokenKind::greater:
      op = BinaryOp::Greater;
      break;
    case TokenKind::greater_equal:
      op = BinaryOp::GreaterEqual;
      break;
    case TokenKind::equal_equal:
      op = BinaryOp::Equal;
      break;
    case TokenKind::bang_equal:
      op = BinaryOp::NotEqual;
      break;
    case TokenKind::match:
      op = BinaryOp::Match;
      break;
    case TokenKind::not_match:
      op = BinaryOp::NotMatch;
      break;
    default:
      return lhs;
    }
    SMRange opRange = cur().getRange();
    advance();
    const Expr *rhs = parseRange();
    if (!rhs)
      return nullptr;
    return bounded(
        context.create<BinaryExpr>(rangeFrom(start), op, opRange, lhs, rhs));
  }

  const Expr *parseRange() {
    SMLoc start = cur().getLoc();
    if (cur().is(TokenKind::dotdot)) {
      advance();
      const Expr *hi = parseAdditive();
      if (!hi)
        return nullptr;
      return bounded(context.create<RangeExpr>(rangeFrom(start), nullptr, hi));
    }
    const Expr *lo = parseAdditive();
    if (!lo || !cur().is(TokenKind::dotdot))
      return lo;
    advance();
    const Expr *hi = nullptr;
    if (startsExpression(cur()) && !cur().is(TokenKind::dot)) {
      hi = parseAdditive();
      if (!hi)
        return nullptr;
    }
    return bounded(context.create<RangeExpr>(rangeFrom(start), lo, hi));
  }

  const Expr *parseAdditive() {
    SMLoc start = cur().getLoc();
    const Expr *lhs = parseMultiplicative();
    while (lhs && (cur().is(TokenKind::plus) || cur().is(TokenKind::minus))) {
      BinaryOp op = cur().is(TokenKind::plus) ? BinaryOp::Add : BinaryOp::Sub;
      SMRange opRange = cur().getRange();
      advance();
      const Expr *rhs = parseMultiplicative();
      if (!rhs)
        return nullptr;
      lhs = bounded(
          context.create<BinaryExpr>(rangeFrom(start), op, opRange, lhs, rhs));
    }
    return lhs;
  }

  const Expr *parseMultiplicative() {
    SMLoc start = cur().getLoc();
    const Expr *lhs = parseUnary();
    while (lhs && (cur().is(TokenKind::star) || cur().is(TokenKind::slash))) {
      BinaryOp op = cur().is(TokenKind::star) ? BinaryOp::Mul : BinaryOp::Div;
      SMRange opRange = cur().getRange();
      advance();
      const Expr *rhs = parseUnary();
      if (!rhs)
        return nullptr;
      lhs = bounded(
          context.create<BinaryExpr>(rangeFrom(start), op, opRange, lhs, rhs));
    }
    return lhs;
  }

  const Expr *parseUnary() {
    SMLoc start = cur().getLoc();
    if (cur().is(TokenKind::minus) || cur().is(TokenKind::bang)) {
      UnaryOp op = cur().is(TokenKind::minus) ? UnaryOp::Neg : UnaryOp::Not;
      advance();
      NestingScope scope(exprNesting);
      if (!checkNesting(exprNesting, /*blocks=*/false))
        return nullptr;
      const Expr *operand = parseUnary();
      if (!operand)
        return nullptr;
      return bounded(context.create<UnaryExpr>(rangeFrom(start), op, operand));
    }
    return parsePostfix();
  }

  const Expr *parsePostfix() {
    SMLoc start = cur().getLoc();
    const Expr *expr = parsePrimary();
    while (expr) {
      if (cur().is(TokenKind::dot)) {
        advance();
        StringRef name;
        SMRange range;
        if (!parseName(name, range, "a member name", /*allowKeyword=*/true))
          return nullptr;
        StringRef names[] = {name};
        expr = bounded(context.create<MemberExpr>(
            rangeFrom(start), expr, context.copy(llvm::ArrayRef(names)),
            /*isSet=*/false));
        continue;
      }
      if (cur().is(TokenKind::l_square)) {
        advance();
        const Expr *index = parseExpr();
        if (!index || !expect(TokenKind::r_square))
          return nullptr;
        expr =
            bounded(context.create<IndexExpr>(rangeFrom(start), expr, index));
        continue;
      }
      break;
    }
    return expr;
  }

  const Expr *parseCall(StringRef callee, SMRange calleeRange) {
    SMLoc start = calleeRange.Start;
    advance(); // (
    llvm::SmallVector<Argument, 4> args;
    bool sawKeyword = false;
    if (!cur().is(TokenKind::r_paren)) {
      do {
        if (cur().is(TokenKind::r_paren))
          break; // trailing comma
        Argument arg;
        if ((cur().is(TokenKind::identifier) || cur().isKeyword()) &&
            peek().is(TokenKind::colon)) {
          arg.name = cur().getSpelling();
          arg.nameRange = cur().getRange();
          advance();
          advance();
          sawKeyword = true;
        } else if (sawKeyword) {
          diags.report(cur().getRange(), diag::PositionalAfterKeyword);
          return nullptr;
        }
        arg.value = parseExpr();
        if (!arg.value)
          return nullptr;
        args.push_back(arg);
      } while (consumeIf(TokenKind::comma));
    }
    if (!expect(TokenKind::r_paren, "')' to close the argument list"))
      return nullptr;
    return bounded(
        context.create<CallExpr>(rangeFrom(start), callee, calleeRange,
                                 context.copy(llvm::ArrayRef(args))));
  }

  bool parseNumber(StringRef text, bool isFloat, double &out, int64_t &iout) {
    std::string clean;
    for (char c : text)
      if (c != '_')
        clean += c;
    if (!isFloat) {
      if (StringRef(clean).getAsInteger(10, iout))
        return false;
      out = double(iout);
      return true;
    }
    char *end = nullptr;
    out = std::strtod(clean.c_str(), &end);
    return end == clean.c_str() + clean.size() && std::isfinite(out);
  }

  const Expr *parsePrimary() {
    static const char *tooLarge = "expected a number of at most 1.8e308";
    const Token tok = cur();
    SMRange range = tok.getRange();
    switch (tok.getKind()) {
    case TokenKind::integer: {
      advance();
      int64_t value = 0;
      double d;
      if (!parseNumber(tok.getSpelling(), false, d, value)) {
        diags.report(range, diag::InvalidNumber,
                     {tok.getSpelling().str(),
                      "expected an integer of at most 9223372036854775807"});
        return nullptr;
      }
      return context.create<IntegerExpr>(range, value);
    }
    case TokenKind::floating: {
      advance();
      double value;
      int64_t i;
      if (!parseNumber(tok.getSpelling(), true, value, i)) {
        diags.report(range, diag::InvalidNumber,
                     {tok.getSpelling().str(), tooLarge});
        return nullptr;
      }
      return context.create<FloatExpr>(range, value);
    }
    case TokenKind::percent: {
      advance();
      double value;
      int64_t i;
      StringRef number = tok.getSpelling().drop_back();
      if (!parseNumber(number, /*isFloat=*/true, value, i)) {
        diags.report(range, diag::InvalidNumber,
                     {tok.getSpelling().str(), tooLarge});
        return nullptr;
      }
      return context.create<PercentExpr>(range, value / 100.0);
    }
    case TokenKind::duration: {
      advance();
      StringRef spelling = tok.getSpelling();
      size_t unitPos = spelling.find_first_of("smh");
      StringRef number = spelling.take_front(unitPos);
      StringRef unit = spelling.drop_front(unitPos);
      double value;
      int64_t i;
      if (!parseNumber(number, /*isFloat=*/true, value, i)) {
        diags.report(range, diag::InvalidNumber, {spelling.str(), tooLarge});
        return nullptr;
      }
      double scale = unit == "ms"  ? 1e-3
                     : unit == "s" ? 1
                     : unit == "m" ? 60
                                   : 3600;
      return context.create<DurationExpr>(range, value * scale);
    }
    case TokenKind::string:
      advance();
      return context.create<StringExpr>(
          range, context.copy(decodeStringLiteral(tok.getSpelling())));
    case TokenKind::regex: {
      advance();
      StringRef spelling = tok.getSpelling();
      size_t close = spelling.rfind('/');
      StringRef pattern = spelling.slice(1, close);
      StringRef flags = spelling.drop_front(close + 1);
      return context.create<RegexExpr>(range, pattern, flags);
    }
    case TokenKind::kw_true:
    case TokenKind::kw_false:
      advance();
      return context.create<BoolExpr>(range, tok.is(TokenKind::kw_true));
    case TokenKind::identifier:
      advance();
      if (cur().is(TokenKind::l_paren))
        return parseCall(tok.getSpelling(), range);
      return context.create<NameExpr>(range, tok.getSpelling());
    case TokenKind::dot: {
      advance();
      StringRef name;
      SMRange nameRange;
      if (!parseName(name, nameRange, "a field name after '.'",
                     /*allowKeyword=*/true))
        return nullptr;
      return context.create<FieldExpr>(SMRange(range.Start, nameRange.End),
                                       name);
    }
    case TokenKind::l_paren: {
      advance();
      const Expr *inner = parseExpr();
      if (!inner || !expect(TokenKind::r_paren))
        return nullptr;
      return inner;
    }
    case TokenKind::l_square: {
      SMLoc start = tok.getLoc();
      advance();
      llvm::SmallVector<const Expr *, 4> elements;
      if (!cur().is(TokenKind::r_square)) {
        do {
          if (cur().is(TokenKind::r_square))
            break;
          const Expr *e = parseExpr();
          if (!e)
            return nullptr;
          elements.push_back(e);
        } while (consumeIf(TokenKind::comma));
      }
      if (!expect(TokenKind::r_square, "']' to close the list"))
        return nullptr;
      return bounded(context.create<ListExpr>(
          rangeFrom(start), context.copy(llvm::ArrayRef(elements))));
    }
    case TokenKind::error:
      advance();
      return nullptr;
    default:
      diags.report(missingRange(), diag::ExpectedExpression, {describe(tok)});
      return nullptr;
    }
  }

  ASTContext &context;
  DiagnosticEngine &diags;
  std::vector<Token> tokens;
  size_t pos = 0;
  size_t stmtStartPos = 0;
  unsigned exprNesting = 0;
  unsigned blockNesting = 0;
};

} // namespace

Module ftl::lang::parseModule(unsigned bufferId, ASTContext &context,
                              DiagnosticEngine &diags,
                              std::vector<Token> *comments) {
  const llvm::MemoryBuffer *buffer =
      diags.getSourceMgr().getMemoryBuffer(bufferId);
  Parser parser(buffer->getBuffer(), context, diags, comments);
  Module module;
  module.path = buffer->getBufferIdentifier();
  module.bufferId = bufferId;
  module.stmts = parser.parseFile();
  return module;
}
