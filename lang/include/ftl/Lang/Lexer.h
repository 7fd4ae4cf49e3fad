//===- ftl/Lang/Lexer.h - Lexer for .ftl files ------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Turns one source buffer into tokens. Newlines are not tokens, but each
/// token records whether it starts a line. `//` comments are kept aside (for
/// the formatter). A `/` starts a regular expression literal where an operand
/// is expected (after an operator, `(`, `,`, `:` ...), and means division
/// after an operand.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_LEXER_H
#define FTL_LANG_LEXER_H

#include "ftl/Lang/Token.h"

#include <vector>

namespace ftl::lang {

class DiagnosticEngine;

class Lexer {
public:
  Lexer(llvm::StringRef buffer, DiagnosticEngine &diags);

  /// The next token; after the end, always eof.
  Token lex();

  /// Every `//` comment seen so far, in source order.
  const std::vector<Token> &getComments() const { return comments; }

  /// Lexes a whole buffer (tokens end with eof).
  static std::vector<Token> lexAll(llvm::StringRef buffer,
                                   DiagnosticEngine &diags,
                                   std::vector<Token> *comments = nullptr);

private:
  Token makeToken(TokenKind kind, const char *start);
  Token lexIdentifier(const char *start);
  Token lexNumber(const char *start);
  Token lexString(const char *start);
  Token lexRegex(const char *start);
  void skipWhitespaceAndComments();
  bool regexAllowed() const;

  llvm::StringRef buffer;
  const char *cur;
  DiagnosticEngine &diags;
  std::vector<Token> comments;
  TokenKind previous = TokenKind::eof;
  bool sawNewline = true;
};

/// Decodes the escapes of a string literal's spelling (with quotes).
std::string decodeStringLiteral(llvm::StringRef spelling);

} // namespace ftl::lang

#endif // FTL_LANG_LEXER_H
