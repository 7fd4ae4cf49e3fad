//===- ftl/Run/Checkpoint.h - Crash-safe training checkpoints ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A checkpoint is a folder holding what a run needs to go on exactly where
/// it stopped:
///
///   model.safetensors      parameters, under their Hugging Face names
///   optimizer.safetensors  optimizer tensors, "<slot>/<parameter>"
///                          (e.g. "m/model.norm.weight", "v/model.norm.weight")
///   extra.safetensors      other tensors (loop snapshots, references)
///   state.json             counters, the RNG/data-cursor state, and the
///                          list of every tensor (name, dtype, shape) per file
///
/// (a safetensors file is left out when its list is empty). It is written
/// into a temporary sibling folder, every file fsync'ed, then renamed into
/// place, so a crash never leaves a partial checkpoint under the final name;
/// an existing checkpoint of the same name is swapped out atomically.
///
/// In a run folder the checkpoints live in `checkpoints/` as
/// `step-00000100/` ... and `final/`; `pruneCheckpoints` keeps the newest K.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_CHECKPOINT_H
#define FTL_RUN_CHECKPOINT_H

#include "ftl/Runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ftl::rt {

struct CheckpointState {
  using Tensors = std::vector<std::pair<std::string, Tensor>>;
  /// Parameters under their Hugging Face names.
  Tensors parameters;
  /// Optimizer tensors named "<slot>/<parameter>", each shaped like its
  /// parameter (Adam: slots "m" and "v").
  Tensors optimizer;
  /// When set, the optimizer tensors name parameters by the model's own
  /// (ftl) names, as the trainer holds them, instead of `parameters`' names:
  /// no conversion copy is made at save time. Only their form
  /// "<slot>/<name>" is checked then. Recorded as "optimizer_names":
  /// "model" in state.json.
  bool optimizerByModelNames = false;
  /// The optimizer's own step count (bias correction).
  int64_t optimizerStep = 0;
  /// Other tensors the run needs back (loop snapshots, reference models).
  Tensors extra;
  /// Round of a `loop` (0 outside loops).
  int64_t round = 0;
  /// Global step counter (never reset between rounds); names the folder.
  int64_t step = 0;
  /// RNG and data-cursor state: any small JSON object.
  llvm::json::Object cursor;
  /// Bytes of metrics.jsonl written when the checkpoint was taken
  /// (`MetricsLog::size()`), to cut the log back on resume.
  std::optional<uint64_t> metricsOffset;
};

/// Test hook: called after each file of the checkpoint is complete in the
/// temporary folder, with its name; an error aborts the write there.
using CheckpointFileHook = std::function<llvm::Error(llvm::StringRef)>;

/// Writes `state` as the checkpoint folder `dir` (its parent must exist).
/// Names must be unique and non-empty within each group, and every
/// optimizer tensor must name a parameter and have its shape; these checks
/// run before anything is written. While writing, a `CheckpointWriteScope`
/// is open (see Interrupt.h). On any failure the temporary folder is removed
/// and a checkpoint already at `dir` is left as it was.
llvm::Error writeCheckpoint(llvm::StringRef dir, const CheckpointState &state,
                            const CheckpointFileHook &afterFile = nullptr);

/// Reads and validates the checkpoint folder `dir`: state.json fields and
/// types, the files it lists present, and each file holding exactly the
/// tensors (names, dtypes, shapes) state.json lists. Tensors are read-only
/// views of the memory-mapped files (`clone()` to modify them).
llvm::Expected<CheckpointState> readCheckpoint(llvm::StringRef dir);

/// Checks that `state.parameters` holds exactly the parameters `expected`
/// names, with the same dtypes and shapes (resuming into a model built from
/// the script). Errors name the first difference.
llvm::Error
checkCheckpointMatches(const CheckpointState &state,
                       llvm::ArrayRef<std::pair<std::string, Tensor>> expected);

/// "step-00000100": the folder name of a periodic checkpoint.
std::string checkpointName(int64_t step);
/// "final": the folder name of the checkpoint taken at the end of a run.
inline constexpr const char *kFinalCheckpointName = "final";

/// The complete checkpoint in `checkpointsDir` with the highest step
/// ("final" counts with the step in its state.json and wins ties), or none.
/// Temporary folders and folders without state.json are ignored.
llvm::Expected<std::optional<std::string>>
latestCheckpoint(llvm::StringRef checkpointsDir);

/// Deletes all but the `keepLast` newest `step-*` checkpoints (never
/// "final"), and temporary folders left by interrupted writes.
llvm::Error pruneCheckpoints(llvm::StringRef checkpointsDir,
                             unsigned keepLast = 2);

/// Writes `state` as `<checkpointsDir>/step-N` (or `final` when `final`),
/// then prunes to `keepLast`. Returns the checkpoint's path.
llvm::Expected<std::string> saveCheckpoint(llvm::StringRef checkpointsDir,
                                           const CheckpointState &state,
                                           bool final = false,
                                           unsigned keepLast = 2);

} // namespace ftl::rt

#endif // FTL_RUN_CHECKPOINT_H
