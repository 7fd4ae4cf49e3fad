//===- ftl/Lang/Token.h - .ftl tokens ---------------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A token is a kind plus the exact spelling, a StringRef into the source
/// buffer held by the llvm::SourceMgr, so locations are free.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_TOKEN_H
#define FTL_LANG_TOKEN_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

namespace ftl::lang {

enum class TokenKind : unsigned char {
#define TOK_MARKER(NAME) NAME,
#define TOK_LITERAL(NAME) NAME,
#define TOK_PUNCT(NAME, SPELLING) NAME,
#define TOK_KEYWORD(SPELLING) kw_##SPELLING,
#include "ftl/Lang/TokenKinds.def"
};

/// A printable name for diagnostics: "identifier", "'('", "'train'".
llvm::StringRef tokenKindName(TokenKind kind);

class Token {
public:
  Token() = default;
  Token(TokenKind kind, llvm::StringRef spelling)
      : kind(kind), spelling(spelling) {}

  TokenKind getKind() const { return kind; }
  llvm::StringRef getSpelling() const { return spelling; }
  bool is(TokenKind k) const { return kind == k; }
  bool isNot(TokenKind k) const { return kind != k; }
  bool isKeyword() const;

  llvm::SMLoc getLoc() const {
    return llvm::SMLoc::getFromPointer(spelling.data());
  }
  llvm::SMLoc getEndLoc() const {
    return llvm::SMLoc::getFromPointer(spelling.data() + spelling.size());
  }
  llvm::SMRange getRange() const { return {getLoc(), getEndLoc()}; }

  /// True if a newline separates this token from the previous one.
  bool startsLine() const { return atLineStart; }
  void setStartsLine(bool value) { atLineStart = value; }

private:
  TokenKind kind = TokenKind::eof;
  llvm::StringRef spelling;
  bool atLineStart = false;
};

} // namespace ftl::lang

#endif // FTL_LANG_TOKEN_H
