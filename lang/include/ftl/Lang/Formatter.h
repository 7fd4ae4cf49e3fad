//===- ftl/Lang/Formatter.h - Canonical formatting of .ftl ------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `ftl fmt`: prints a parsed file in the canonical layout, keeping every
/// comment. Formatting is idempotent: fmt(fmt(x)) == fmt(x).
///
/// Layout rules: two-space indentation; one statement per line; at most one
/// blank line between statements (kept where the source had one; none at the
/// start of a block); a data
/// pipeline with two or more `|>` stages puts each stage on its own line; an
/// objective with three or more terms, or any statement longer than 100
/// columns, breaks at its terms or clauses; a statement with a comment inside
/// breaks so the comment stays next to its code; trailing comments on
/// consecutive lines are aligned. Parentheses are kept only where they
/// change the meaning, or where the output would otherwise read differently:
/// an open range (`2..`) ending a statement or clause, a clause value that
/// starts with a regex, a field after `..`.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_FORMATTER_H
#define FTL_LANG_FORMATTER_H

#include "ftl/Lang/AST.h"
#include "ftl/Lang/Token.h"

#include <string>
#include <vector>

namespace ftl::lang {

/// Formats `module` (parsed from `source`) with `comments` (from the parser).
std::string formatModule(const Module &module, llvm::StringRef source,
                         const std::vector<Token> &comments);

/// Prints an expression in canonical form (used by the formatter, the AST
/// dump and diagnostics).
std::string printExpr(const Expr *expr);

} // namespace ftl::lang

#endif // FTL_LANG_FORMATTER_H
