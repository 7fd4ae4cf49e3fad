//===- ftl/Data/RecordExpr.h - Expressions over records ---------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The small expression language of `filter(...)` and `map(...)`: field
/// references, literals, comparison, boolean and arithmetic operators, regex
/// match `=~` (re2, partial match like RE2::PartialMatch: anchor with ^ and $
/// for a full match), `len(x)` (code points of a string, elements of a list,
/// members of an object) and `ntokens(x)` (tokens of a string with the
/// pipeline's tokenizer). Type errors are reported at evaluation, naming the
/// record. Exact rules: docs/data.md.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_RECORDEXPR_H
#define FTL_DATA_RECORDEXPR_H

#include "ftl/Data/Value.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace ftl::rt {

class Record;
class Tokenizer;

class RecordExpr {
public:
  enum class Op {
    Field,
    Literal,
    Not,
    Neg,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Match,
    Len,
    NTokens,
  };

  /// `.name` or `.a.b` (the leading dot is optional).
  static RecordExpr field(llvm::StringRef name);
  static RecordExpr literal(Value value);
  /// Not, Neg, Len, NTokens.
  static RecordExpr unary(Op op, RecordExpr operand);
  /// And, Or, Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div.
  static RecordExpr binary(Op op, RecordExpr lhs, RecordExpr rhs);
  /// `subject =~ /pattern/`; an invalid pattern is an error here.
  static llvm::Expected<RecordExpr> match(RecordExpr subject,
                                          llvm::StringRef pattern);

  Op op() const;

  /// The value for `record`. `tokenizer` is needed only by ntokens().
  llvm::Expected<Value> evaluate(const Record &record,
                                 const Tokenizer *tokenizer = nullptr) const;
  /// evaluate() that must give a bool.
  llvm::Expected<bool> test(const Record &record,
                            const Tokenizer *tokenizer = nullptr) const;

  /// Canonical text, fully parenthesised: `((len(.question) < 200) && ...)`.
  std::string str() const;

  /// The field names referenced (first path component).
  void collectFields(std::vector<std::string> &out) const;

  struct Node;

private:
  explicit RecordExpr(std::shared_ptr<const Node> node)
      : node(std::move(node)) {}
  std::shared_ptr<const Node> node;
};

/// Shorthands for building expressions in C++.
inline RecordExpr operator&&(RecordExpr a, RecordExpr b) {
  return RecordExpr::binary(RecordExpr::Op::And, std::move(a), std::move(b));
}
inline RecordExpr operator||(RecordExpr a, RecordExpr b) {
  return RecordExpr::binary(RecordExpr::Op::Or, std::move(a), std::move(b));
}
inline RecordExpr operator!(RecordExpr a) {
  return RecordExpr::unary(RecordExpr::Op::Not, std::move(a));
}

} // namespace ftl::rt

#endif // FTL_DATA_RECORDEXPR_H
