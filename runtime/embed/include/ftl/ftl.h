//===- ftl/ftl.h - libftl: embedding ftl in a C++ program -------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The embedding API (libftl, CMake target `FTLEmbed`). A host program loads
/// a script from a file or a string, checks it, compiles it to one of the IR
/// levels, runs it while metrics stream into a callback, and registers its
/// own judges. This is the only header a host includes: it uses the C++17
/// standard library and nothing else (no LLVM or MLIR types).
///
/// Errors are values. No function here throws, aborts, exits or prints on a
/// problem with a script, a file or an option: it returns a `Status` (or a
/// `Result<T>` holding one) with a message and structured diagnostics.
/// docs/embedding.md describes lifetime, threading and error kinds.
///
/// \code
///   auto pipeline = ftl::Pipeline::fromFile("train.ftl");
///   if (!pipeline.ok()) { report(pipeline.status()); return 1; }
///   ftl::RunOptions options;
///   auto folder = pipeline->run(options, [](const ftl::Metric &m) {
///     std::printf("step %lld loss %g\n", m.step, m.loss);
///   });
/// \endcode
///
//===----------------------------------------------------------------------===//

#ifndef FTL_FTL_H
#define FTL_FTL_H

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ftl {

/// One diagnostic: a problem in a script (from the checker or the compiler)
/// or in how it was loaded or run.
struct Diagnostic {
  /// The script ("" when the problem has no place, e.g. a bad option). For a
  /// pipeline made from a string this is the name it was given.
  std::string file;
  /// 1-based; 0 when unknown.
  int line = 0, column = 0;
  /// "error", "warning" or "note". A note belongs to the diagnostic before it.
  std::string severity;
  /// A stable kebab-case name: the front end's kinds (`ftl doc diagnostics`,
  /// e.g. "unknown-function", "expected-token") and libftl's own
  /// ("io-error", "invalid-argument", "compiler-error", "run-failed",
  /// "interrupted", "run-folder"); docs/embedding.md lists them.
  std::string kind;
  /// Starts lowercase; quotes names; says what was expected and found.
  std::string message;

  /// "file:line:column: severity: message [kind]" (parts left out when
  /// unknown), the first line `ftl check` prints.
  std::string str() const;
};

/// Success, or an error with a message and its diagnostics. A successful
/// status may still carry warnings.
class Status {
public:
  /// Success with no diagnostics.
  Status() = default;
  /// Success with `diagnostics` (warnings and notes only).
  static Status success(std::vector<Diagnostic> diagnostics);
  /// An error. `message` is the summary; when empty, it is made from the
  /// first error among `diagnostics`.
  static Status error(std::string message,
                      std::vector<Diagnostic> diagnostics = {});

  bool ok() const { return !failed; }
  explicit operator bool() const { return ok(); }
  /// "" on success; otherwise one line saying what went wrong, e.g.
  /// "broken.ftl:3:10: error: no built-in or user function named 'jsonl2'
  /// [unknown-function] (and 1 more error)".
  const std::string &message() const { return text; }
  /// Every diagnostic in the order reported (notes after their diagnostic).
  const std::vector<Diagnostic> &diagnostics() const { return diags; }
  /// Every diagnostic's `str()`, one per line.
  std::string str() const;

private:
  bool failed = false;
  std::string text;
  std::vector<Diagnostic> diags;
};

namespace detail {
/// Reports a `Result::value()` call on an error and aborts: a bug in the
/// host program, not a problem with a script.
[[noreturn]] void badResultAccess(const Status &status);
} // namespace detail

/// A value or an error status. A successful result may carry warnings in
/// `status().diagnostics()`.
template <class T>
class Result {
public:
  /// Success.
  Result(T value, Status status = Status())
      : stored(std::move(value)), st(std::move(status)) {}
  /// An error; `status` must not be ok (an ok status here is turned into
  /// an error, as there is no value).
  Result(Status status) : st(std::move(status)) {
    if (st.ok())
      st = Status::error("internal error: a result without a value");
  }

  bool ok() const { return stored.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status &status() const { return st; }

  /// The value; calling these on an error is a bug in the caller and
  /// aborts with the error's message.
  const T &value() const & {
    if (!stored)
      detail::badResultAccess(st);
    return *stored;
  }
  T &value() & {
    if (!stored)
      detail::badResultAccess(st);
    return *stored;
  }
  T &&value() && {
    if (!stored)
      detail::badResultAccess(st);
    return std::move(*stored);
  }
  const T *operator->() const { return &value(); }
  T *operator->() { return &value(); }
  const T &operator*() const & { return value(); }
  T &operator*() & { return value(); }

private:
  std::optional<T> stored;
  Status st;
};

/// What `Pipeline::compile` prints, as `ftl compile --emit=...` does.
enum class EmitLevel {
  Ast,   ///< the checked syntax tree
  Ftl,   ///< the whole pipeline in the `ftl` dialect
  Step,  ///< each train's loss function
  Grad,  ///< LM head fused with the loss, differentiated
  Fused, ///< gradients accumulated in place, elementwise chains fused
};

/// "ast", "ftl", "step", "grad", "fused" (what `--emit=` takes).
const char *emitLevelName(EmitLevel level);

struct RunOptions {
  /// Worker threads; 0 = FTL_NUM_THREADS or all cores.
  int threads = 0;
  /// The folder that holds run folders (created when missing).
  std::string runsRoot = "runs";
  /// Stop every train after this many optimizer steps; -1: as the script
  /// says.
  long long maxSteps = -1;
  /// No progress bars and no log lines on stderr (metrics still reach the
  /// callback and metrics.jsonl).
  bool quiet = true;
};

/// One metrics record, as written to the run's metrics.jsonl.
struct Metric {
  /// The record, exactly the line in metrics.jsonl (without the newline).
  std::string json;
  /// "step" of a training record; -1 for other records (evals, logs).
  long long step = -1;
  /// "loss" when the record has a number there; NaN otherwise.
  double loss = std::numeric_limits<double>::quiet_NaN();
  /// Every member that is a number or a boolean (1 or 0), "step" and "loss"
  /// included; a member written as null (NaN, infinity) is NaN here.
  std::map<std::string, double> values;
};

/// A loaded script. A Pipeline holds only its text and where it came from:
/// it is cheap to copy, and every call checks and compiles afresh (with its
/// own compiler context), so the const functions may be called on one
/// Pipeline from several threads at once.
class Pipeline {
public:
  /// Reads `path`. Relative paths in the script (data, models, imports)
  /// resolve against the file's folder. Errors: "io-error".
  static Result<Pipeline> fromFile(const std::string &path);
  /// A script held in memory. `name` is a plain file name ("sft.ftl", no
  /// '/'); it names the script in diagnostics and names the run folders.
  /// Relative paths in the script resolve against `baseDir`, which must be
  /// an existing folder. Errors: "invalid-argument".
  static Result<Pipeline> fromString(const std::string &text,
                                     const std::string &name,
                                     const std::string &baseDir = ".");

  /// The name diagnostics use: the path given to fromFile or the name given
  /// to fromString.
  const std::string &name() const { return displayName; }
  const std::string &text() const { return source; }
  /// The folder relative paths in the script resolve against.
  const std::string &baseDir() const { return base; }

  /// Checks the script and reports every error and warning, before any
  /// work. Reads the headers of the data and model files it names.
  Status check() const;

  /// Checks the script and returns the IR text at `level` (for Step and
  /// beyond: every step function, as `ftl compile` prints them).
  Result<std::string> compile(EmitLevel level) const;

  /// Checks, compiles and runs the pipeline in a new run folder under
  /// `options.runsRoot`, and returns that folder's path. `onMetric` gets
  /// every metrics record right after it is written, in order, on the
  /// thread that runs the pipeline (calls never overlap); it must not call
  /// back into this run. When the run fails after its folder was made, the
  /// error's diagnostics end with a "run-folder" note naming it. Ctrl-C
  /// (SIGINT) and SIGTERM stop a training run at the end of a step with a
  /// checkpoint, as `ftl run` does: the error's kind is then "interrupted".
  Result<std::string>
  run(const RunOptions &options,
      std::function<void(const Metric &)> onMetric = {}) const;

private:
  Pipeline() = default;
  std::string source;
  std::string displayName;
  /// The name the script has inside the compiler (base folder + name for
  /// strings) and, for files, the file to run.
  std::string bufferName;
  std::string base;
  bool fromDisk = false;
};

/// What a host judge gets: one generated sample to score.
struct JudgeInput {
  std::string prompt, sample, reference;
};

/// What a host judge says about one sample.
struct JudgeOutput {
  double score = 0;
  bool pass = false;
  /// Shown to the model or the user (e.g. why the sample failed).
  std::string feedback;
};

using JudgeFunction = std::function<JudgeOutput(const JudgeInput &)>;

/// Registers `fn` as the judge scripts name with `host("name")` (e.g.
/// `judge(samples, by: host("unit-tests"))`, once the language and the
/// engine support that judge), replacing an earlier judge of that name.
/// Process-wide and thread-safe; `fn` may be called from any thread, and
/// concurrently when several runs judge at once. A score that is not a
/// finite number makes the item a judge failure ("garbage"). Errors
/// ("invalid-argument"): an empty name, an empty function.
Status registerJudge(const std::string &name, JudgeFunction fn);
/// Removes the judge `name`; false when there was none. Runs that already
/// looked it up keep their copy.
bool unregisterJudge(const std::string &name);
/// The names of the registered judges, sorted.
std::vector<std::string> registeredJudges();

} // namespace ftl

#endif // FTL_FTL_H
