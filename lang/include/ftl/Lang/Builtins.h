//===- ftl/Lang/Builtins.h - The built-in signature table -------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// One table describes every built-in function: its parameters (name, type,
/// default, doc), what it returns, and its category. Sema checks calls against
/// it, `ftl doc` generates docs/reference.md from it, and a test keeps the
/// committed reference in sync.
///
/// Parameter type specs:
///   int number fraction percent duration string path dir outpath regex bool
///   model tokenizer data adapter objective optimizer schedule metric judge
///   dedupkey mask tokweights selection percentile field pred recexpr column
///   any, `enum(a|b)`, `list<T>`, unions `A|B`, and `data{f1,f2|g}` for data
///   that must have fields f1 and f2, or g.
/// A parameter name starting with `*` takes the remaining positional
/// arguments; `**` takes any keyword arguments not named by other parameters.
/// A default of "" means required; "none" means optional without a value.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_BUILTINS_H
#define FTL_LANG_BUILTINS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace llvm {
class raw_ostream;
}

namespace ftl::lang {

struct BuiltinParam {
  llvm::StringRef name;
  llvm::StringRef type;
  llvm::StringRef defaultValue;
  llvm::StringRef doc;

  bool isRequired() const { return defaultValue.empty(); }
  bool isVariadicPositional() const {
    return name.starts_with("*") && !name.starts_with("**");
  }
  bool isVariadicKeyword() const { return name.starts_with("**"); }
  llvm::StringRef plainName() const { return name.ltrim('*'); }
};

struct Builtin {
  llvm::StringRef name;
  llvm::StringRef category;
  /// A type spec, or `@rule` for a result computed by Sema (e.g. `@same`:
  /// the type of the input data).
  llvm::StringRef result;
  llvm::StringRef doc;
  llvm::ArrayRef<BuiltinParam> params;

  /// Data operators take data as their first parameter and may follow `|>`.
  bool isDataOperator() const;
  /// "lora(rank: int = 8, alpha: number = 16, ...) -> adapter"
  std::string signature() const;
};

llvm::ArrayRef<Builtin> getBuiltins();
const Builtin *lookupBuiltin(llvm::StringRef name);

/// Writes docs/reference.md: every built-in, grouped by category.
void writeBuiltinReference(llvm::raw_ostream &os);

} // namespace ftl::lang

#endif // FTL_LANG_BUILTINS_H
