//===- ftl/Engine/Run.h - Running a compiled pipeline -----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `runModule` interprets a checked `ftl` module: it builds models,
/// tokenizers and data pipelines, trains through compiled step functions,
/// evaluates, logs and saves, in program order, inside a run folder.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_RUN_H
#define FTL_ENGINE_RUN_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <functional>
#include <string>

namespace mlir {
class ModuleOp;
namespace ftl {}
} // namespace mlir

namespace ftl::rt {

struct RunOptions {
  /// Worker threads; 0 = FTL_NUM_THREADS or all cores.
  int threads = 0;
  /// The folder that holds run folders.
  std::string runsRoot = "runs";
  /// The script (its path names the run folder; its text is hashed).
  std::string scriptPath;
  std::string scriptText;
  /// Relative input paths in the module are relative to this folder.
  std::string sourceDir = ".";
  /// The module as text (`--emit=ftl`), recorded in the manifest.
  std::string irText;
  /// The command line, for the manifest.
  std::string commandLine;
  /// No progress bars (metrics still go to metrics.jsonl).
  bool quiet = false;
  /// Go on with the newest interrupted run of this script (its folder under
  /// runsRoot) from its last finished loop round; see docs/feedback.md.
  bool resume = false;
  /// Testing aid: stop every train after this many optimizer steps (< 0:
  /// as the script says).
  int64_t maxSteps = -1;
  /// Called with every metrics record as it is logged.
  std::function<void(const llvm::json::Object &)> metricsListener;
  /// Where the run folder went (filled by runModule).
  std::string *runFolderOut = nullptr;
};

/// The constructs the runtime executes, registered with the compiler so
/// `ftl run` refuses the others before any work.
void registerRuntimeCapabilities();

/// Reads the config.json of every `ftl.model.load` and records the shape on
/// the op, so the compiler can lower trains of loaded models.
llvm::Error resolveModelConfigs(mlir::ModuleOp module,
                                llvm::StringRef sourceDir);

/// Runs the module. Errors name the construct and its source location.
llvm::Error runModule(mlir::ModuleOp module, const RunOptions &options);

} // namespace ftl::rt

#endif // FTL_ENGINE_RUN_H
