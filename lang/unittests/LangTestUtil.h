//===- LangTestUtil.h - Helpers shared by the front-end tests ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A source buffer with a diagnostic engine that records what it reports,
/// and a compact S-expression printer for ASTs that is independent of the
/// formatter (so parser tests do not trust the code they test).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_UNITTESTS_LANGTESTUTIL_H
#define FTL_LANG_UNITTESTS_LANGTESTUTIL_H

#include "ftl/Lang/AST.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Parser.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <string>
#include <vector>

namespace ftl::lang::test {

/// One source buffer plus a diagnostic engine that keeps every diagnostic.
class Source {
public:
  explicit Source(llvm::StringRef text, llvm::StringRef name = "test.ftl")
      : diags(sourceMgr) {
    bufferId = sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, name), llvm::SMLoc());
    diags.setHandler([this](const Diagnostic &d) { reported.push_back(d); });
  }

  llvm::StringRef text() const {
    return sourceMgr.getMemoryBuffer(bufferId)->getBuffer();
  }

  /// Parses the buffer (comments go to `comments`).
  Module parse() { return parseModule(bufferId, context, diags, &comments); }

  /// The stable names of the reported diagnostics, in order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Diagnostic &d : reported)
      out.push_back(d.getName().str());
    return out;
  }

  /// 1-based line and column of a location in this buffer.
  std::pair<unsigned, unsigned> lineCol(llvm::SMLoc loc) const {
    return sourceMgr.getLineAndColumn(loc, bufferId);
  }

  /// The source text a range covers.
  static std::string textOf(llvm::SMRange range) {
    return std::string(range.Start.getPointer(),
                       range.End.getPointer() - range.Start.getPointer());
  }

  llvm::SourceMgr sourceMgr;
  DiagnosticEngine diags;
  unsigned bufferId = 0;
  ASTContext context;
  std::vector<Token> comments;
  std::vector<Diagnostic> reported;
};

/// Writes an expression as an S-expression: `(+ 1 (* 2 3))`, `(call f 1
/// k=2)`, `(. (. base layers) {q,v})`, `(idx x *)`, `(.. 1 <>)`.
std::string sexpr(const Expr *expr);

/// A statement as an S-expression of its kind and parts.
std::string sexpr(const Stmt *stmt);

} // namespace ftl::lang::test

#endif // FTL_LANG_UNITTESTS_LANGTESTUTIL_H
