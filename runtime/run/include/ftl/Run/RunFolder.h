//===- ftl/Run/RunFolder.h - The folder and manifest of a run ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every `ftl run` gets a folder `<runs>/<script-stem>-<YYYYmmdd-HHMMSS>[-N]/`
/// (local time; "-2", "-3", ... when that name is taken, also by a run that
/// started the same second in another process):
///
///   manifest.json   what ran, on what, from which inputs (with SHA-256),
///                   how it ended; rewritten atomically on every change
///   metrics.jsonl   see MetricsLog.h
///   checkpoints/    see Checkpoint.h
///   samples/        generated text and other outputs
///
/// docs/runs.md lists every manifest field.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_RUNFOLDER_H
#define FTL_RUN_RUNFOLDER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftl::rt {

/// A file or folder the run reads. A folder stands for every regular file
/// under it (recursively, sorted, hidden entries such as ".git" skipped).
struct RunInput {
  /// What it is: "data", "model", "tokenizer", ...
  std::string role;
  std::string path;
};

/// What the caller knows about the run when it starts.
struct RunInfo {
  /// argv of the command, for the manifest.
  std::vector<std::string> commandLine;
  uint64_t seed = 0;
  /// Worker threads the run uses.
  unsigned threads = 0;
  /// "cpu", "cuda:0", ...
  std::string device = "cpu";
  /// Every input file; each is hashed (SHA-256) with its size.
  std::vector<RunInput> inputs;
  /// The resolved pipeline (`ftl compile --emit=ftl`); may also be set later
  /// with `RunFolder::setResolvedIR`.
  std::string resolvedIR;
  /// Reuse hashes of unchanged files (same size, modification time and
  /// inode) from `<runs>/.ftl-hash-cache.json`.
  bool useHashCache = true;
  /// Threads that hash inputs; 0: one per core, at most 8.
  unsigned hashThreads = 0;
  /// The start time to record and to name the folder with; unset: now.
  std::optional<std::chrono::system_clock::time_point> startTime;
};

/// How a run ended (or that it has not).
enum class RunStatus { Running, Completed, Interrupted, Failed };

/// "running", "completed", "interrupted", "failed".
llvm::StringRef runStatusName(RunStatus status);

class RunFolder {
public:
  /// Creates a new run folder for `scriptPath` under `runsRoot` (created if
  /// missing) and writes its manifest. Fails, leaving no folder behind, when
  /// the script or an input cannot be read.
  static llvm::Expected<RunFolder> create(llvm::StringRef runsRoot,
                                          llvm::StringRef scriptPath,
                                          const RunInfo &info);

  /// Opens an existing run folder (reads its manifest).
  static llvm::Expected<RunFolder> open(llvm::StringRef dir);

  /// The newest run folder under `runsRoot` for this script that can be
  /// resumed: its manifest says "interrupted" (or "running", but the
  /// process it names on this host has died) and its script SHA-256 equals
  /// the script's now. Errors say why no run qualifies.
  static llvm::Expected<std::string> findResumable(llvm::StringRef runsRoot,
                                                   llvm::StringRef scriptPath);

  /// Reopens `findResumable`'s folder to go on: checks that every input
  /// still has the SHA-256 the manifest recorded, sets the status back to
  /// "running" and appends {time, command_line, pid} to "resumes".
  static llvm::Expected<RunFolder> resume(llvm::StringRef runsRoot,
                                          llvm::StringRef scriptPath,
                                          const RunInfo &info);

  RunFolder(RunFolder &&other);
  RunFolder &operator=(RunFolder &&other);
  ~RunFolder();

  const std::string &path() const;
  std::string manifestPath() const;
  std::string metricsPath() const;
  std::string checkpointsDir() const;
  std::string samplesDir() const;

  /// A copy of the manifest as it is now.
  llvm::json::Object manifest() const;

  /// Stores the resolved pipeline text in the manifest ("ir").
  llvm::Error setResolvedIR(llvm::StringRef ir);
  /// Records the seed a named consumer derived ("seeds": {purpose: seed}).
  llvm::Error recordSeed(llvm::StringRef purpose, uint64_t seed);
  /// Sets any top-level manifest field (not one this class maintains:
  /// "status", "end_time", ... are refused).
  llvm::Error setField(llvm::StringRef key, llvm::json::Value value);
  /// Records how the run ended: status, message (for failures), end time
  /// and the final metrics summary.
  llvm::Error finish(RunStatus status, llvm::StringRef message = "",
                     const llvm::json::Object &finalMetrics = {});

private:
  struct Impl;
  explicit RunFolder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// Information about this machine for the manifest: {"hostname",
/// "cpu_model", "logical_cores", "physical_cores", "memory_bytes", "os"}.
llvm::json::Object describeHost();

/// {"ftl": version, "cxx_compiler": ..., "llvm": ...}: what built this ftl.
llvm::json::Object describeBuild();

/// Hashes every input (folders expanded) into manifest entries
/// {"role", "path" (absolute), "bytes", "sha256"}, using up to `threads`
/// threads and, when `cachePath` is not empty, a cache of earlier hashes.
llvm::Expected<llvm::json::Array>
hashInputs(const std::vector<RunInput> &inputs, unsigned threads,
           llvm::StringRef cachePath);

} // namespace ftl::rt

#endif // FTL_RUN_RUNFOLDER_H
