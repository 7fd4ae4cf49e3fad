//===- TermScales.h - Normalisers of objective terms (private) --*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every loss term of a step function is multiplied by a run-time scale (its
/// normaliser). The scales make the loss a mean over the whole optimizer step
/// — so batch 8 and 4 x 2 accumulation give the same update — and implement
/// task balancing (`balance(..., by: ...)`). docs/objectives.md states the
/// formulas.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_TERMSCALES_H
#define FTL_ENGINE_LIB_TERMSCALES_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ftl::rt {

/// What the scale of one term depends on.
struct TermSpec {
  enum class Kind { Tokens, Pairs, Regulariser };
  Kind kind = Kind::Tokens;
  double weight = 1; ///< the constant weight written in the objective
  int group = -1;    ///< balance group, -1 for none
  /// static, loss_scale, token_scale, data_scale or coba (for group >= 0).
  std::string balance;
  /// coba: the task's current convergence-based weight.
  double dynamicWeight = 1;
  /// Token terms outside a group: tokens, samples or sum_weights (see
  /// ftl::PlannedTerm::norm).
  std::string norm = "tokens";
};

/// What one optimizer step fed a term.
struct TermTotals {
  /// Sum of the token weights of its supervised tokens (after per-sample
  /// reweighting for data_scale).
  double weight = 0;
  /// Supervised tokens (weight above 0).
  int64_t supervised = 0;
  /// Examples with at least one supervised token.
  int64_t samples = 0;
  /// Preference pairs.
  int64_t pairs = 0;
};

/// The scale of each term for one step of `accumulate` micro-batches.
/// A term that saw no supervised token (or pair) gets 0.
std::vector<float> computeTermScales(llvm::ArrayRef<TermSpec> terms,
                                     llvm::ArrayRef<TermTotals> totals,
                                     int64_t accumulate);

/// Whether a term's token weights are divided by its example's total weight
/// before summing (sample-level means: `by: data_scale`, `norm: samples`).
inline bool usesSampleMeans(const TermSpec &term) {
  if (term.kind != TermSpec::Kind::Tokens)
    return false;
  if (term.group >= 0)
    return term.balance == "data_scale";
  return term.norm == "samples";
}

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_TERMSCALES_H
