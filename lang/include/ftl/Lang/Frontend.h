//===- ftl/Lang/Frontend.h - Running the front end on a file ----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Shared by the `ftl` driver, tests and the embedding API: loads a file (or
/// a string) into a SourceMgr, installs the requested diagnostic handler
/// (text with carets, JSON for editors, or verification against
/// `// expected-error {{...}}` comments), optionally splits the input at
/// `// -----` lines, and runs an action on each piece.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_FRONTEND_H
#define FTL_LANG_FRONTEND_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/LogicalResult.h"

#include <memory>

namespace llvm {
class MemoryBuffer;
class SourceMgr;
class raw_ostream;
} // namespace llvm

namespace ftl::lang {

class DiagnosticEngine;

enum class DiagnosticsFormat { Text, JSON };

struct FrontendOptions {
  DiagnosticsFormat format = DiagnosticsFormat::Text;
  /// Check diagnostics against expected-* comments instead of printing.
  bool verifyDiagnostics = false;
  /// Process each `// -----` separated piece on its own.
  bool splitInputFile = false;
  bool warningsAsErrors = false;
  bool warnUnused = true;
};

/// The action run on one buffer (the whole file or one split piece).
using FrontendAction = llvm::function_ref<llvm::LogicalResult(
    llvm::SourceMgr &sourceMgr, unsigned bufferId, DiagnosticEngine &diags)>;

/// Runs `action` on `buffer` as the options say. Diagnostics go to `errs`
/// (JSON and verification output too). With verification, the result is the
/// verification's; otherwise the action's.
llvm::LogicalResult runFrontend(std::unique_ptr<llvm::MemoryBuffer> buffer,
                                const FrontendOptions &options,
                                FrontendAction action,
                                llvm::raw_ostream &errs);

} // namespace ftl::lang

#endif // FTL_LANG_FRONTEND_H
