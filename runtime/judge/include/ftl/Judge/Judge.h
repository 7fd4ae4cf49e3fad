//===- ftl/Judge/Judge.h - Scoring generated samples ------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Judges score generated samples. A judge gets items (prompt, sample,
/// reference) and returns one `Verdict` per item, in input order. The
/// built-in judges compare text (`exactMatchJudge`, `normalizedMatchJudge`,
/// `numericMatchJudge`, `regexJudge`); `execJudge` runs an external program
/// that speaks a one-JSON-line-per-item protocol (docs/judges.md), and
/// `functionJudge` wraps a function of the host program.
///
/// A judge never fails as a whole because of one item: an item whose judge
/// program crashed, hung, answered nonsense or ran out of memory gets a
/// verdict with `failure` set. Only errors that stop every item (the program
/// cannot be started) are returned as `llvm::Error`.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_JUDGE_JUDGE_H
#define FTL_JUDGE_JUDGE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftl::rt {

/// One thing to judge.
struct JudgeItem {
  std::string prompt, sample, reference;
};

/// What a judge said about one item.
struct Verdict {
  double score = 0;
  bool pass = false;
  std::string feedback;
  /// "" when the judge ran normally; otherwise what went wrong for this item:
  /// "crash", "timeout", "garbage", "memory" (each also described in
  /// `feedback`). A failed item has `score == 0` and `pass == false`.
  std::string failure;
};

/// Counts over judged items. `Judge::judge` adds to these (it does not reset
/// them), so one object can total several calls.
struct JudgeStats {
  int64_t items = 0, passed = 0, crashed = 0, timedOut = 0, garbage = 0,
          memory = 0;
};

/// Adds `verdicts` to `stats`: `items` by their number, `passed` by those
/// with `pass` and no failure, and the failure counters by `failure`
/// ("crash", "timeout", "garbage", "memory"; other values count only as items).
void accumulateStats(llvm::ArrayRef<Verdict> verdicts, JudgeStats &stats);

class Judge {
public:
  virtual ~Judge();
  /// Judges every item; never fails as a whole because one item failed (that
  /// item gets a failure verdict). A whole-judge error (e.g. program not
  /// found) is an llvm::Error, and then `stats` is left unchanged. Verdicts
  /// are in the order of `items`.
  virtual llvm::Expected<std::vector<Verdict>>
  judge(llvm::ArrayRef<JudgeItem> items, JudgeStats &stats) = 0;
};

/// Passes when `sample == reference` byte for byte. Score 1 or 0.
std::unique_ptr<Judge> exactMatchJudge();

/// Passes when `normalizeAnswer(sample) == normalizeAnswer(reference)`.
/// Score 1 or 0.
std::unique_ptr<Judge> normalizedMatchJudge();

/// The normalization of `normalizedMatchJudge`, in this order:
/// 1. ASCII letters A-Z become a-z; every other byte is kept (no Unicode
///    case folding).
/// 2. Runs of ASCII whitespace (space, \t, \n, \v, \f, \r) become one space;
///    whitespace at the start and the end is removed.
/// 3. While the text ends with one of `. , ; : ! ?`, that character is
///    removed, and then any whitespace it leaves at the end.
/// Nothing else changes: inner punctuation, quotes and brackets are kept.
std::string normalizeAnswer(llvm::StringRef text);

/// Passes when the first number in the sample and the first number in the
/// reference (both found by `firstNumber`) differ by at most `tolerance`
/// (absolute; a negative or NaN tolerance counts as 0). Score 1 or 0. When
/// either text has no number the item fails, and the feedback says which.
std::unique_ptr<Judge> numericMatchJudge(double tolerance);

/// The first number in `text`: the leftmost match of
///   [+-]? ( D+ ( '.' d* )? | '.' d+ ) ( [eE] [+-]? d+ )?
/// where d is an ASCII digit and D+ is either plain digits or digits grouped
/// by commas in threes ("1,234,567"; the commas are dropped). A sign belongs
/// to the number only when it directly precedes it ("x = -3" gives -3). An
/// exponent counts only when digits follow the `e` ("2e" gives 2). No
/// hexadecimal, no "inf"/"nan", no locale. Returns nothing when there is no
/// number or it is outside the range of a double.
std::optional<double> firstNumber(llvm::StringRef text);

/// Passes when the RE2 `pattern` matches somewhere in the sample (use ^ and $
/// to anchor). Score 1 or 0. An invalid pattern is an error.
llvm::Expected<std::unique_ptr<Judge>> regexJudge(llvm::StringRef pattern);

/// How to run an external judge program (see docs/judges.md).
struct ExecOptions {
  /// Program + args, run directly (execv of the program found like execvp
  /// finds it), never through a shell.
  std::vector<std::string> argv;
  /// The program's working folder ("" = the host's). A program named by a
  /// relative path with a '/' is found relative to this folder.
  std::string workingDir;
  /// Per item, from the moment its request is written (a freshly started
  /// process spends its start-up time in its first item).
  double timeoutSeconds = 10;
  /// 0 = none; RLIMIT_AS in the child.
  int64_t memoryLimitBytes = 0;
  /// Parallel programs.
  int workers = 2;
};

/// A judge that runs `options.argv` in up to `workers` long-lived processes.
/// Checks the options and finds the program now; starts processes on first
/// use and keeps them between calls until the judge is destroyed (which
/// closes their stdin, waits up to 2 seconds, then kills their process
/// groups). Concurrent `judge` calls on one exec judge run one after another.
llvm::Expected<std::unique_ptr<Judge>> execJudge(ExecOptions options);

/// A host program's own judge (libftl registers these by name).
using JudgeFn = std::function<Verdict(const JudgeItem &)>;
/// Calls `fn` on each item in order, on the calling thread (concurrent
/// `judge` calls call `fn` concurrently).
std::unique_ptr<Judge> functionJudge(JudgeFn fn);

/// Splits "python3 check.py --x" into argv without a shell: words are
/// separated by unquoted ASCII whitespace; '...' keeps everything up to the
/// next ' literally; "..." keeps everything literally except that \" and \\
/// give " and \; outside quotes a backslash makes the next character literal.
/// Quoted and unquoted parts next to each other join into one word, and ''
/// or "" alone is an empty word. No $, `, ~, glob, ; or | handling. Errors:
/// an unterminated quote, a backslash at the very end.
llvm::Expected<std::vector<std::string>>
splitCommandLine(llvm::StringRef command);

} // namespace ftl::rt

#endif // FTL_JUDGE_JUDGE_H
