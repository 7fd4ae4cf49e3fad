//===- ftl/Run/MetricsLog.h - metrics.jsonl writer and reader ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The metrics log of a run: one JSON object per line ("JSON Lines"), e.g.
///
///   {"step":10,"loss":2.31,"lr":0.0003,"tokens_per_s":5120,"time":12.5}
///   {"round":2,"acc":0.4}
///
/// Each record goes to the file with a single append write(2) as soon as it
/// is logged, so a crash loses at most the record being written; a reader
/// skips a final line without its newline, and reopening the log for
/// appending cuts such a partial line off first. Doubles are written in
/// their shortest exact form; NaN and infinities are written as `null`.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_METRICSLOG_H
#define FTL_RUN_METRICSLOG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftl::rt {

/// The standard record of one training step.
struct StepMetrics {
  int64_t step = 0;
  double loss = 0;
  /// Learning rate used for the step.
  double lr = 0;
  /// Smoothed training throughput.
  double tokensPerSecond = 0;
  /// Seconds since the run started.
  double time = 0;
};

class MetricsLog {
public:
  using Listener = std::function<void(const llvm::json::Object &)>;

  /// Opens `path` for appending, creating it when missing. A partial last
  /// line (left by a crash) is cut off. With `truncateTo` (the `size()`
  /// recorded in the checkpoint a run resumes from), everything after that
  /// many bytes is dropped first, so the steps redone after the checkpoint
  /// are not logged twice; it must lie on a line boundary.
  static llvm::Expected<MetricsLog>
  open(llvm::StringRef path, std::optional<uint64_t> truncateTo = std::nullopt);

  MetricsLog(MetricsLog &&other);
  MetricsLog &operator=(MetricsLog &&other);
  /// Closes the file after an fsync.
  ~MetricsLog();

  /// Appends `record` as one line. Key order in the line: "step", "round",
  /// "loss", "lr", "tokens_per_s", "time" when present, then the others
  /// sorted. Then calls the listener, if any. Thread-safe; records from
  /// several threads never interleave.
  llvm::Error log(const llvm::json::Object &record);
  /// Appends {"step", "loss", "lr", "tokens_per_s", "time"} plus the
  /// members of `extra`.
  llvm::Error logStep(const StepMetrics &metrics,
                      const llvm::json::Object &extra = {});

  /// Calls `listener` with every record after it is written, in order, on
  /// the thread that logged it (embedders stream metrics to their host
  /// program with it). The listener must not log to this log. Pass an empty
  /// function to remove it.
  void setListener(Listener listener);

  /// Bytes in the file so far: store it in a checkpoint to resume the log.
  uint64_t size() const;
  /// fsync: makes the records written so far durable across a power loss
  /// (call it when writing a checkpoint).
  llvm::Error sync();
  const std::string &path() const;

private:
  struct Impl;
  explicit MetricsLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// Follows a metrics file that another thread or process is writing: each
/// `poll()` returns the records completed since the previous call and leaves
/// a partial last line for later.
class MetricsReader {
public:
  explicit MetricsReader(std::string path);

  /// New complete records. A missing file gives none (the run may not have
  /// created it yet). A line that is not a JSON object is an error naming
  /// the file and line; nothing is consumed then.
  llvm::Expected<std::vector<llvm::json::Object>> poll();
  /// Bytes consumed so far (the end of the last complete line read).
  uint64_t offset() const { return consumed; }

private:
  std::string filePath;
  uint64_t consumed = 0;
  uint64_t linesRead = 0;
};

/// Every complete record of the file at `path` (a final partial line is
/// ignored). A missing file is an error.
llvm::Expected<std::vector<llvm::json::Object>>
readMetrics(llvm::StringRef path);

} // namespace ftl::rt

#endif // FTL_RUN_METRICSLOG_H
