//===- PairBuilders.h - Pairs and texts from judged samples (private) -*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The data operators that turn judged samples into training data:
/// `best_worst` (preference pairs by score), `gold_pairs` (SPIN: the gold
/// answer against the model's sample) and `with_feedback` (training text
/// with the judge's feedback in it, for LeTI, Chain of Hindsight, FAFT).
/// Semantics: docs/feedback.md.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_PAIRBUILDERS_H
#define FTL_ENGINE_LIB_PAIRBUILDERS_H

#include "ftl/Data/Record.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace ftl::rt {

/// For each prompt with at least two samples of different `scoreField`
/// values: {prompt, chosen: the best sample, rejected: the worst,
/// chosen_score, rejected_score}. Ties keep the earlier sample. Prompts in
/// order of first appearance.
llvm::Expected<std::vector<Record>>
bestWorstPairs(const std::vector<Record> &judged, const std::string &scoreField);

/// For each sample: {prompt, chosen: the gold response of its prompt,
/// rejected: the sample}. Samples equal to the gold answer are skipped (the
/// pair would carry no preference). A sample whose prompt has no gold
/// answer is an error naming the prompt.
llvm::Expected<std::vector<Record>>
goldPairs(const std::vector<Record> &gold, const std::vector<Record> &samples);

/// {text: format with {prompt}, {sample} (or {response}), {reference},
/// {feedback}, {score}
/// and {pass} replaced from each judged record}; `{{` and `}}` are literal
/// braces. An unknown placeholder is an error.
llvm::Expected<std::vector<Record>>
withFeedback(const std::vector<Record> &judged, const std::string &format);

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_PAIRBUILDERS_H
