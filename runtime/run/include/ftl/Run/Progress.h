//===- ftl/Run/Progress.h - Progress bar for long work ----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A progress display for training steps, tokenization or generation. On a
/// terminal it redraws one line in place at most `ttyRefreshSeconds` apart:
///
///   train  45% [#########-----------] 450/1000 loss=2.346 1.23k tok/s
///   1:23<1:41
///
/// Elsewhere (CI logs, files) it prints a plain line every
/// `plainIntervalSeconds`:
///
///   train: 450/1000 (45.0%) loss=2.346 tok/s=1234 elapsed=1:23 eta=1:41
///
/// and `finish()` prints the final line ("... elapsed=3:05 done"). Rates
/// are smoothed with an exponential moving average over time (sampled when
/// the counts change, at most every 0.25 s). Every method is thread-safe.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_PROGRESS_H
#define FTL_RUN_PROGRESS_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace ftl::rt {

struct ProgressOptions {
  enum class Mode { Auto, Terminal, Plain };
  /// Where to draw; null means stderr.
  llvm::raw_ostream *stream = nullptr;
  /// Auto: Terminal when the stream is a terminal, else Plain.
  Mode mode = Mode::Auto;
  /// Terminal: least time between two redraws.
  double ttyRefreshSeconds = 0.1;
  /// Plain: time between two lines.
  double plainIntervalSeconds = 10;
  /// Terminal line width; 0 asks the terminal (falling back to $COLUMNS,
  /// then 80).
  unsigned width = 0;
  /// Time constant of the rate smoothing, in seconds.
  double smoothingSeconds = 5;
  /// Name of the counted items in rates when no tokens are counted
  /// ("it/s", "docs/s").
  std::string itemUnit = "it";
  /// Seconds on a monotonic clock; tests pass a fake one.
  std::function<double()> clock;
};

class Progress {
public:
  /// `total` 0 means unknown (no percentage, bar or ETA).
  Progress(llvm::StringRef description, uint64_t total,
           ProgressOptions options = {});
  /// Calls `finish()` if it was not called.
  ~Progress();
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  /// Sets the number of items done.
  void update(uint64_t current);
  /// Adds `n` items done and `tokens` tokens processed (count both in one
  /// call so rates see them together). Once any tokens are counted the rate
  /// is shown as tok/s.
  void advance(uint64_t n = 1, uint64_t tokens = 0);
  /// Adds `n` tokens processed.
  void addTokens(uint64_t n);
  /// Shows "name=value" (4 significant digits) after the counts; values
  /// appear in the order they were first set. Set them before the
  /// `advance` of the same step: only a change of the counts redraws.
  void setValue(llvm::StringRef name, double value);
  void setTotal(uint64_t total);
  /// Prints `line` on its own line without garbling the bar.
  void message(llvm::StringRef line);
  /// Prints the final line. Later updates are ignored.
  void finish();

  /// The current plain-format line (what a Plain display would print now).
  std::string plainLine();

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// "0:07", "12:34", "1:02:03".
std::string formatDuration(double seconds);

} // namespace ftl::rt

#endif // FTL_RUN_PROGRESS_H
