//===- Lexer.cpp - Lexer for .ftl files -----------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/Lexer.h"
#include "ftl/Lang/Diagnostic.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"

using namespace ftl::lang;
using llvm::StringRef;

StringRef ftl::lang::tokenKindName(TokenKind kind) {
  switch (kind) {
  case TokenKind::eof:
    return "end of file";
  case TokenKind::error:
    return "invalid token";
  case TokenKind::comment:
    return "comment";
  case TokenKind::identifier:
    return "identifier";
  case TokenKind::integer:
    return "integer";
  case TokenKind::floating:
    return "number";
  case TokenKind::percent:
    return "percentage";
  case TokenKind::duration:
    return "duration";
  case TokenKind::string:
    return "string";
  case TokenKind::regex:
    return "regular expression";
#define TOK_PUNCT(NAME, SPELLING)                                              \
  case TokenKind::NAME:                                                        \
    return "'" SPELLING "'";
#define TOK_KEYWORD(SPELLING)                                                  \
  case TokenKind::kw_##SPELLING:                                               \
    return "'" #SPELLING "'";
#include "ftl/Lang/TokenKinds.def"
  }
  return "token";
}

bool Token::isKeyword() const {
  switch (kind) {
#define TOK_KEYWORD(SPELLING) case TokenKind::kw_##SPELLING:
#include "ftl/Lang/TokenKinds.def"
    return true;
  default:
    return false;
  }
}

Lexer::Lexer(StringRef buffer, DiagnosticEngine &diags)
    : buffer(buffer), cur(buffer.begin()), diags(diags) {}

std::vector<Token> Lexer::lexAll(StringRef buffer, DiagnosticEngine &diags,
                                 std::vector<Token> *comments) {
  Lexer lexer(buffer, diags);
  std::vector<Token> tokens;
  tokens.reserve(buffer.size() / 4 + 1);
  while (true) {
    Token tok = lexer.lex();
    tokens.push_back(tok);
    if (tok.is(TokenKind::eof))
      break;
  }
  if (comments)
    *comments = lexer.getComments();
  return tokens;
}

Token Lexer::makeToken(TokenKind kind, const char *start) {
  Token tok(kind, StringRef(start, cur - start));
  tok.setStartsLine(sawNewline);
  sawNewline = false;
  if (kind != TokenKind::error)
    previous = kind;
  return tok;
}

void Lexer::skipWhitespaceAndComments() {
  const char *end = buffer.end();
  while (cur != end) {
    char c = *cur;
    if (c == '\n') {
      sawNewline = true;
      ++cur;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++cur;
    } else if (c == '/' && cur + 1 != end && cur[1] == '/') {
      const char *start = cur;
      while (cur != end && *cur != '\n')
        ++cur;
      Token comment(TokenKind::comment, StringRef(start, cur - start));
      comment.setStartsLine(sawNewline);
      comments.push_back(comment);
    } else {
      return;
    }
  }
}

/// A `/` begins a regex unless the previous token ends an operand.
bool Lexer::regexAllowed() const {
  switch (previous) {
  case TokenKind::identifier:
  case TokenKind::integer:
  case TokenKind::floating:
  case TokenKind::percent:
  case TokenKind::duration:
  case TokenKind::string:
  case TokenKind::regex:
  case TokenKind::r_paren:
  case TokenKind::r_square:
  case TokenKind::r_brace:
  case TokenKind::kw_true:
  case TokenKind::kw_false:
    return false;
  default:
    return true;
  }
}

Token Lexer::lex() {
  skipWhitespaceAndComments();
  const char *start = cur;
  if (cur == buffer.end())
    return makeToken(TokenKind::eof, start);

  char c = *cur++;
  auto next = [&](char expected) {
    if (cur != buffer.end() && *cur == expected) {
      ++cur;
      return true;
    }
    return false;
  };

  switch (c) {
  case '(':
    return makeToken(TokenKind::l_paren, start);
  case ')':
    return makeToken(TokenKind::r_paren, start);
  case '[':
    return makeToken(TokenKind::l_square, start);
  case ']':
    return makeToken(TokenKind::r_square, start);
  case '{':
    return makeToken(TokenKind::l_brace, start);
  case '}':
    return makeToken(TokenKind::r_brace, start);
  case ',':
    return makeToken(TokenKind::comma, start);
  case ':':
    return makeToken(TokenKind::colon, start);
  case '.':
    if (next('.'))
      return makeToken(TokenKind::dotdot, start);
    return makeToken(TokenKind::dot, start);
  case '=':
    if (next('='))
      return makeToken(TokenKind::equal_equal, start);
    if (next('~'))
      return makeToken(TokenKind::match, start);
    return makeToken(TokenKind::equal, start);
  case '!':
    if (next('='))
      return makeToken(TokenKind::bang_equal, start);
    if (next('~'))
      return makeToken(TokenKind::not_match, start);
    return makeToken(TokenKind::bang, start);
  case '<':
    if (next('='))
      return makeToken(TokenKind::less_equal, start);
    return makeToken(TokenKind::less, start);
  case '>':
    if (next('='))
      return makeToken(TokenKind::greater_equal, start);
    return makeToken(TokenKind::greater, start);
  case '+':
    if (next('='))
      return makeToken(TokenKind::plus_equal, start);
    return makeToken(TokenKind::plus, start);
  case '-':
    if (next('>'))
      return makeToken(TokenKind::arrow, start);
    return makeToken(TokenKind::minus, start);
  case '*':
    return makeToken(TokenKind::star, start);
  case '|':
    if (next('>'))
      return makeToken(TokenKind::pipe, start);
    if (next('|'))
      return makeToken(TokenKind::pipe_pipe, start);
    break;
  case '&':
    if (next('&'))
      return makeToken(TokenKind::amp_amp, start);
    break;
  case '/':
    if (regexAllowed())
      return lexRegex(start);
    return makeToken(TokenKind::slash, start);
  case '"':
    return lexString(start);
  default:
    if (llvm::isAlpha(c) || c == '_')
      return lexIdentifier(start);
    if (llvm::isDigit(c))
      return lexNumber(start);
    break;
  }

  // Invalid character: report one diagnostic for a whole UTF-8 sequence.
  if (static_cast<unsigned char>(c) >= 0x80)
    while (cur != buffer.end() && (static_cast<unsigned char>(*cur) & 0xC0) ==
                                      0x80)
      ++cur;
  StringRef spelling(start, cur - start);
  std::string shown = llvm::isPrint(c) ? spelling.str()
                                       : ("\\x" + llvm::utohexstr(
                                                      static_cast<unsigned char>(c),
                                                      /*LowerCase=*/true, 2));
  if (static_cast<unsigned char>(c) >= 0x80)
    shown = spelling.str();
  diags.report(llvm::SMRange(llvm::SMLoc::getFromPointer(start),
                             llvm::SMLoc::getFromPointer(cur)),
               diag::InvalidCharacter, {shown});
  return makeToken(TokenKind::error, start);
}

Token Lexer::lexIdentifier(const char *start) {
  while (cur != buffer.end() && (llvm::isAlnum(*cur) || *cur == '_'))
    ++cur;
  StringRef spelling(start, cur - start);
  TokenKind kind = llvm::StringSwitch<TokenKind>(spelling)
#define TOK_KEYWORD(SPELLING) .Case(#SPELLING, TokenKind::kw_##SPELLING)
#include "ftl/Lang/TokenKinds.def"
                       .Default(TokenKind::identifier);
  bool afterDot = previous == TokenKind::dot;
  Token tok = makeToken(kind, start);
  // After '.', a keyword is a member or field name (`d.eval`, `.data`): an
  // operand, so a following '/' divides.
  if (afterDot)
    previous = TokenKind::identifier;
  return tok;
}

Token Lexer::lexNumber(const char *start) {
  const char *end = buffer.end();
  bool isFloat = false;
  while (cur != end && (llvm::isDigit(*cur) || *cur == '_'))
    ++cur;
  // A '.' followed by a digit is a fraction; '..' is a range operator.
  if (cur != end && *cur == '.' && cur + 1 != end && llvm::isDigit(cur[1])) {
    isFloat = true;
    ++cur;
    while (cur != end && llvm::isDigit(*cur))
      ++cur;
  }
  if (cur != end && (*cur == 'e' || *cur == 'E')) {
    const char *save = cur;
    ++cur;
    if (cur != end && (*cur == '+' || *cur == '-'))
      ++cur;
    if (cur != end && llvm::isDigit(*cur)) {
      isFloat = true;
      while (cur != end && llvm::isDigit(*cur))
        ++cur;
    } else {
      cur = save;
    }
  }
  if (cur != end && *cur == '%') {
    ++cur;
    return makeToken(TokenKind::percent, start);
  }
  // Durations: 5s, 200ms, 10m, 2h.
  if (cur != end && llvm::isAlpha(*cur)) {
    const char *unitStart = cur;
    while (cur != end && (llvm::isAlnum(*cur) || *cur == '_'))
      ++cur;
    StringRef unit(unitStart, cur - unitStart);
    if (unit == "ms" || unit == "s" || unit == "m" || unit == "h")
      return makeToken(TokenKind::duration, start);
    diags.report(llvm::SMRange(llvm::SMLoc::getFromPointer(unitStart),
                               llvm::SMLoc::getFromPointer(cur)),
                 diag::InvalidDurationUnit, {unit.str()});
    return makeToken(TokenKind::error, start);
  }
  StringRef spelling(start, cur - start);
  if (spelling.ends_with("_") || spelling.contains("__")) {
    diags.report(llvm::SMRange(llvm::SMLoc::getFromPointer(start),
                               llvm::SMLoc::getFromPointer(cur)),
                 diag::InvalidNumber,
                 {spelling.str(), "expected single '_' between digits"});
    return makeToken(TokenKind::error, start);
  }
  return makeToken(isFloat ? TokenKind::floating : TokenKind::integer, start);
}

Token Lexer::lexString(const char *start) {
  const char *end = buffer.end();
  bool badEscape = false;
  while (cur != end && *cur != '"' && *cur != '\n') {
    if (*cur == '\\') {
      ++cur;
      if (cur == end || *cur == '\n')
        break;
      char e = *cur;
      if (!StringRef("nrt\\\"0u").contains(e)) {
        badEscape = true;
        diags.report(llvm::SMRange(llvm::SMLoc::getFromPointer(cur - 1),
                                   llvm::SMLoc::getFromPointer(cur + 1)),
                     diag::InvalidEscape, {std::string(1, e)});
      } else if (e == 'u') {
        // \u{XXXX}
        const char *escStart = cur - 1;
        ++cur;
        bool ok = cur != end && *cur == '{';
        if (ok) {
          ++cur;
          const char *digitsStart = cur;
          while (cur != end && llvm::isHexDigit(*cur))
            ++cur;
          size_t digits = cur - digitsStart;
          ok = digits >= 1 && digits <= 6 && cur != end && *cur == '}';
          // A Unicode scalar value: at most U+10FFFF, and not a surrogate.
          unsigned code = 0;
          if (ok && !StringRef(digitsStart, digits).getAsInteger(16, code))
            ok = code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
          if (cur != end && *cur == '}')
            ++cur; // show the closing brace in the message
        }
        if (!ok) {
          diags.report(llvm::SMRange(llvm::SMLoc::getFromPointer(escStart),
                                     llvm::SMLoc::getFromPointer(cur)),
                       diag::InvalidEscape,
                       {StringRef(escStart + 1, cur - escStart - 1).str()});
          badEscape = true;
          continue;
        }
        continue; // cur is past the '}'
      }
    }
    ++cur;
  }
  if (cur == end || *cur != '"') {
    diags.report(llvm::SMRange(llvm::SMLoc::getFromPointer(start),
                               llvm::SMLoc::getFromPointer(cur)),
                 diag::UnterminatedString);
    return makeToken(TokenKind::error, start);
  }
  ++cur;
  // A string with a bad escape was reported; do not let it flow on as a
  // (wrong) value.
  return makeToken(badEscape ? TokenKind::error : TokenKind::string, start);
}

Token Lexer::lexRegex(const char *start) {
  const char *end = buffer.end();
  bool inClass = false;
  while (cur != end && *cur != '\n') {
    char c = *cur;
    if (c == '\\') {
      cur += (cur + 1 != end && cur[1] != '\n') ? 2 : 1;
      continue;
    }
    if (c == '[')
      inClass = true;
    else if (c == ']')
      inClass = false;
    else if (c == '/' && !inClass)
      break;
    ++cur;
  }
  if (cur == end || *cur != '/') {
    diags.report(llvm::SMRange(llvm::SMLoc::getFromPointer(start),
                               llvm::SMLoc::getFromPointer(cur)),
                 diag::UnterminatedRegex);
    return makeToken(TokenKind::error, start);
  }
  ++cur;
  // Flags.
  while (cur != end && llvm::isAlpha(*cur))
    ++cur;
  return makeToken(TokenKind::regex, start);
}

std::string ftl::lang::decodeStringLiteral(StringRef spelling) {
  StringRef body = spelling;
  body.consume_front("\"");
  body.consume_back("\"");
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    switch (e) {
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case '0':
      out += '\0';
      break;
    case 'u': {
      size_t close = body.find('}', i);
      unsigned code = 0;
      if (i + 1 < body.size() && body[i + 1] == '{' &&
          close != StringRef::npos &&
          !body.slice(i + 2, close).getAsInteger(16, code)) {
        // Encode as UTF-8.
        if (code < 0x80) {
          out += char(code);
        } else if (code < 0x800) {
          out += char(0xC0 | (code >> 6));
          out += char(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
          out += char(0xE0 | (code >> 12));
          out += char(0x80 | ((code >> 6) & 0x3F));
          out += char(0x80 | (code & 0x3F));
        } else {
          out += char(0xF0 | (code >> 18));
          out += char(0x80 | ((code >> 12) & 0x3F));
          out += char(0x80 | ((code >> 6) & 0x3F));
          out += char(0x80 | (code & 0x3F));
        }
        i = close;
      }
      break;
    }
    default:
      out += e;
      break;
    }
  }
  return out;
}
