//===- ftl/Lang/Parser.h - Parser for .ftl files ----------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Recursive-descent parser: syntax only. It reports every syntax error it
/// can (recovering at the next statement) and builds the AST in an
/// ASTContext. Names, types and everything else are Sema's job.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_PARSER_H
#define FTL_LANG_PARSER_H

#include "ftl/Lang/AST.h"
#include "ftl/Lang/Token.h"

#include <vector>

namespace llvm {
class SourceMgr;
}

namespace ftl::lang {

class DiagnosticEngine;

/// How deeply expressions (the height of an expression tree, and the
/// parser's recursion through parentheses, calls, lists and unary operators)
/// and blocks may nest. Deeper input is reported as `nesting-too-deep`
/// instead of overflowing the stack here or in any later recursive walk.
constexpr unsigned maxNestingDepth = 256;

/// Parses buffer `bufferId` of the diagnostics' source manager. Returns the
/// module even when there were errors (with the statements that parsed).
/// `comments` receives every `//` comment (for the formatter).
Module parseModule(unsigned bufferId, ASTContext &context,
                   DiagnosticEngine &diags,
                   std::vector<Token> *comments = nullptr);

/// The clause names a `train` statement accepts, in canonical order.
llvm::ArrayRef<llvm::StringRef> getTrainClauseNames();

} // namespace ftl::lang

#endif // FTL_LANG_PARSER_H
