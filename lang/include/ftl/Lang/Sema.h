//===- ftl/Lang/Sema.h - Semantic analysis of .ftl programs -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Sema checks a parsed program before anything runs: names (with "did you
/// mean"), types, calls against the built-in signature table, regexes, data
/// fields, selectors against the model's parameter tree, adapter placement,
/// files. It reports every independent error, assigns a type to every
/// expression and records how names and calls resolve (for MLIRGen).
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_SEMA_H
#define FTL_LANG_SEMA_H

#include "ftl/Lang/AST.h"
#include "ftl/Lang/ParamTree.h"
#include "ftl/Lang/Types.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/LogicalResult.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace ftl::lang {

class DiagnosticEngine;
struct Builtin;

struct SemaOptions {
  /// Where `import std.x` looks (each holds `std/x.ftl`).
  std::vector<std::string> stdlibPaths;
  /// Warn about definitions that are never used.
  bool warnUnused = true;
  /// Check that input files exist and peek into them (off for fuzzing).
  bool checkFiles = true;
};

/// An adapter placed on a model, resolved against its parameter tree.
struct AdapterPlacement {
  const AdapterStmt *stmt = nullptr;
  llvm::StringRef kind;  ///< lora, sparse, half, prompt, ...
  llvm::StringRef model; ///< the model binding it is placed on
  std::vector<std::string> tensors;
  /// True for adapters placed on the whole model (prompt, prefix).
  bool modelLevel = false;
};

/// What Sema learned, for MLIRGen and the runtime.
struct SemaInfo {
  /// A name use -> the statement that declares it (Binding, Adapter, Loop,
  /// Def), or nullptr for function parameters.
  llvm::DenseMap<const NameExpr *, const Stmt *> nameDecls;
  /// A call -> the user function it calls (nullptr entries are built-ins).
  llvm::DenseMap<const CallExpr *, const DefStmt *> userCalls;
  /// A selector expression -> the canonical tensors it matches.
  llvm::DenseMap<const Expr *, std::vector<std::string>> selectors;
  /// A selector expression -> the model binding it starts from.
  llvm::DenseMap<const Expr *, const Stmt *> selectorModels;
  /// Every adapter in program order.
  std::vector<AdapterPlacement> adapters;
  /// Paths resolved against the script's folder, by string literal.
  llvm::DenseMap<const StringExpr *, std::string> resolvedPaths;
  /// The seed (default 0 when the script sets none).
  int64_t seed = 0;
  bool hasSeed = false;
};

/// A checked program: the main module, the modules it imports, and what Sema
/// learned about them. The ASTs live in `context`.
struct Program {
  Module main;
  std::deque<Module> imports; ///< stable addresses
  SemaInfo info;
};

/// Parses and checks the file `path`, which must already be loaded into the
/// diagnostics' SourceMgr as `bufferId`; imports are loaded as needed.
/// Returns failure if any error was reported.
llvm::LogicalResult checkProgram(unsigned bufferId, ASTContext &context,
                                 TypeContext &types, DiagnosticEngine &diags,
                                 const SemaOptions &options, Program &out);

/// The default stdlib search path: $FTL_STDLIB, then the folder the build
/// recorded (the source tree's stdlib/).
std::vector<std::string> defaultStdlibPaths();

} // namespace ftl::lang

#endif // FTL_LANG_SEMA_H
