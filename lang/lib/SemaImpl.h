//===- SemaImpl.h - Private interface of Sema -------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_LIB_SEMAIMPL_H
#define FTL_LANG_LIB_SEMAIMPL_H

#include "ftl/Lang/Builtins.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Sema.h"

#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>
#include <set>

namespace llvm {
class SourceMgr;
}

namespace ftl::lang {

/// How deeply user function calls may nest (a recipe calling a recipe...).
constexpr unsigned maxCallDepth = 32;
/// How deeply the checker may recurse through statements and expressions in
/// all, across function calls. Each level is a few stack frames.
constexpr unsigned maxCheckDepth = 1024;

/// Reads the field names of the first record of a JSON-lines file.
bool peekJsonlFields(llvm::StringRef path, std::vector<std::string> &fields,
                     std::string &error);

/// Reads what Sema needs from a model folder's config.json, or recognises a
/// PEFT adapter folder.
bool readModelFolder(llvm::StringRef dir, ModelInfo &info, bool &isAdapter,
                     std::string &error);

/// Everything visible under a name.
struct Symbol {
  enum class Kind { Binding, Adapter, Function, LoopVar, Param };
  Kind kind;
  const Stmt *decl = nullptr; ///< nullptr for parameters
  llvm::SMRange nameRange;
  const Type *type = nullptr;
  const DefStmt *function = nullptr;
  bool used = false;
  std::string what; ///< "data", "model", "adapter", ... for messages
};

/// Per-call context for checking argument expressions.
struct ExprContext {
  /// Schema of the records a field reference (`.x`) refers to; null outside
  /// data operators.
  const DataSchema *record = nullptr;
  /// The folder relative paths resolve against.
  llvm::StringRef baseDir;
};

class SemaImpl {
public:
  SemaImpl(ASTContext &context, TypeContext &types, DiagnosticEngine &diags,
           const SemaOptions &options, Program &program);

  void checkMainModule(unsigned bufferId);

private:
  // --- modules and scopes ----------------------------------------------------
  struct Scope {
    llvm::StringMap<Symbol> symbols;
    std::vector<std::string> order;
  };
  /// The functions visible at the top level of one module (its own and the
  /// ones it imports). Function bodies see only these and their parameters.
  struct FunctionTable {
    llvm::StringMap<Symbol> functions;
  };
  const FunctionTable *loadModule(llvm::StringRef path,
                                  llvm::StringRef displayName,
                                  llvm::SMRange importRange);
  void checkModule(const Module &module, bool isMain, FunctionTable &table);
  void pushScope() { scopes.emplace_back(); }
  void popScope(bool warnUnused);
  Symbol *lookup(llvm::StringRef name);
  bool declare(llvm::StringRef name, Symbol symbol);
  std::vector<std::string> visibleNames() const;
  void reportUnknownName(llvm::StringRef name, llvm::SMRange range,
                         bool isCall);

  // --- statements ------------------------------------------------------------
  void checkStmts(llvm::ArrayRef<const Stmt *> stmts);
  void checkStmt(const Stmt *stmt);
  void checkStmtImpl(const Stmt *stmt);
  void checkSeed(const SeedStmt *stmt);
  /// `value` (a call to a function) gives nothing, but `user` needs a value.
  void reportNoValue(const Expr *value, const std::string &user);
  void checkBinding(const BindingStmt *stmt);
  void checkAdapter(const AdapterStmt *stmt);
  /// Kind-specific rules on the tensors an adapter's selector matched.
  bool checkAdapterTensors(llvm::StringRef kind, const CallExpr *kindCall,
                           const Expr *target,
                           const std::vector<std::string> &tensors,
                           llvm::StringRef model, const ModelInfo *info);
  void checkFreeze(const FreezeStmt *stmt);
  void checkTrain(const TrainStmt *stmt);
  void checkLoop(const LoopStmt *stmt);
  void checkSave(const SaveStmt *stmt);
  void checkImport(const ImportStmt *stmt);
  void checkAppend(const AppendStmt *stmt);
  void declareFunction(const DefStmt *stmt);
  void checkFunctionBody(const DefStmt *stmt,
                         llvm::ArrayRef<const Type *> argTypes);

  // --- selectors -------------------------------------------------------------
  /// Resolves a selector; returns false (after reporting) on error.
  bool resolveSelectorExpr(const Expr *selector,
                           std::vector<std::string> &tensors,
                           const Symbol **modelSymbol);
  bool lowerSelector(const Expr *expr, std::vector<SelectorSegment> &segments,
                     const NameExpr *&root);

  // --- expressions -----------------------------------------------------------
  const Type *checkExpr(const Expr *expr, const ExprContext &ctx);
  const Type *checkExprImpl(const Expr *expr, const ExprContext &ctx);
  const Type *checkName(const NameExpr *expr);
  const Type *checkMember(const MemberExpr *expr, const ExprContext &ctx);
  const Type *checkBinary(const BinaryExpr *expr, const ExprContext &ctx);
  const Type *checkRegex(const RegexExpr *expr);
  const Type *checkCall(const CallExpr *call, const Expr *pipedInput,
                        const ExprContext &ctx);
  /// balance(...): its CoBa settings belong to `by: coba`, which needs one
  /// validation set per term.
  bool checkBalance(const CallExpr *call, llvm::ArrayRef<const Expr *> bound,
                    llvm::ArrayRef<const Expr *> terms);
  const Type *checkBuiltinCall(const Builtin &builtin, const CallExpr *call,
                               const Expr *pipedInput, const ExprContext &ctx);
  const Type *checkUserCall(const DefStmt *def, const CallExpr *call,
                            const Expr *pipedInput, const ExprContext &ctx);

  /// Checks `arg` against a parameter type spec. Returns the argument's type
  /// (error type after reporting a mismatch).
  const Type *checkArgument(const Builtin &builtin, const BuiltinParam &param,
                            const Expr *arg, const ExprContext &ctx);
  bool acceptsType(llvm::StringRef spec, const Type *type);
  bool checkDataRequirement(const Builtin &builtin, llvm::StringRef spec,
                            const Expr *arg, const Type *type);
  const Type *typeFromName(llvm::StringRef name);
  std::optional<std::string> resolvePath(const StringExpr *expr,
                                         llvm::StringRef baseDir);
  std::string baseDirOf(llvm::SMLoc loc);
  static std::string sourceTextOf(const Expr *expr);

  /// Result types computed from arguments (`@rule` in the table).
  const Type *computeResult(
      const Builtin &builtin, const CallExpr *call,
      llvm::ArrayRef<const Expr *> boundArgs,
      llvm::ArrayRef<const Type *> boundTypes,
      const std::vector<std::pair<Argument, const Type *>> &extraKeywords,
      const ExprContext &ctx);
  const Type *modelFromArgs(const Builtin &builtin, const CallExpr *call,
                            llvm::ArrayRef<const Expr *> args);

  ASTContext &context;
  TypeContext &types;
  DiagnosticEngine &diags;
  const SemaOptions &options;
  Program &program;
  SemaInfo &info;

  /// A deque: scopes hold big maps, which a vector would copy as it grows.
  std::deque<Scope> scopes;
  /// Inside a function body: the functions of its module.
  const FunctionTable *bodyFunctions = nullptr;
  llvm::StringMap<const FunctionTable *> loadedModules;
  std::deque<FunctionTable> functionTables;
  FunctionTable *currentTable = nullptr;
  llvm::DenseMap<const DefStmt *, const FunctionTable *> defTables;
  std::vector<std::string> moduleStack;
  std::vector<const DefStmt *> instantiating;
  /// Function bodies already checked with these argument types: checking
  /// one again would report nothing new, and recipes that call recipes
  /// several times would otherwise take exponential time.
  std::set<std::pair<const DefStmt *, std::vector<const Type *>>>
      checkedInstances;
  /// How deeply checkExpr/checkStmt are nested (bounded, so that recipes
  /// calling recipes cannot overflow the stack).
  unsigned checkDepth = 0;
  bool enterCheck(llvm::SMRange range);
  const SeedStmt *seedStmt = nullptr;
  bool inImportedModule = false;
  unsigned loopDepth = 0;
  unsigned functionDepth = 0;

  /// Indexes into info.adapters: by statement, and by model name.
  llvm::DenseMap<const AdapterStmt *, size_t> adapterIndex;
  llvm::StringMap<std::vector<size_t>> adaptersByModel;

  /// Frozen tensors per model binding, and trainable exceptions.
  std::map<const Stmt *, std::set<std::string>> frozen;
  std::map<const Stmt *, std::set<std::string>> unfrozen;
  std::map<const Stmt *, bool> explicitlyFrozen;
};

} // namespace ftl::lang

#endif // FTL_LANG_LIB_SEMAIMPL_H
