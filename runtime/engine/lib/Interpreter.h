//===- Interpreter.h - The pipeline interpreter (private) -------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_INTERPRETER_H
#define FTL_ENGINE_LIB_INTERPRETER_H

#include "ftl/Data/Dataset.h"
#include "ftl/Engine/Program.h"
#include "ftl/Engine/Run.h"
#include "ftl/Generate/Generate.h"
#include "ftl/Judge/Judge.h"
#include "ftl/Models/ModelConfig.h"
#include "ftl/Models/ModelWeights.h"
#include "ftl/Run/Checkpoint.h"
#include "ftl/Run/MetricsLog.h"
#include "ftl/Run/RunFolder.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Value.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>

namespace ftl::kernels {
class ThreadPool;
}

namespace ftl::rt {

/// A model at run time: its configuration, base weights (f32) and the
/// tensors of adapters placed on it.
struct ModelState {
  std::string name;
  ModelConfig config;
  ModelWeights weights;
  /// Adapter tensors by their planned name ("a.layers.0.attn.q.lora_A").
  std::map<std::string, Tensor> adapterTensors;
  /// The tokenizer of the folder the model was loaded from, if any.
  std::shared_ptr<Tokenizer> tokenizer;
  /// The scale (alpha / rank, or alpha / sqrt(rank)) of each LoRA delta
  /// placed on the model, by "<adapter>.<module>".
  std::map<std::string, double> loraScales;
  /// The trainable entries (sorted flat indices) of each base tensor a
  /// sparse adapter owns, chosen when the adapter was placed.
  std::map<std::string, std::vector<uint32_t>> sparseMasks;
  /// Parallel and bottleneck modules placed on the model, in placement
  /// order: their tensors' prefix and settings.
  struct BlockAdapter {
    std::string prefix;
    int64_t layer = 0;
    bool mlp = false, serial = false;
    double scale = 1;
    std::string act;
  };
  std::vector<BlockAdapter> blockAdapters;
  /// The weights the decoder reads when DoRA modules are placed (viewOf):
  /// the base tensors with the DoRA ones merged; rebuilt at every view.
  ModelWeights viewWeights;
  /// A prompt or prefix adapter placed on the model ("" for none): its
  /// binding name and kind.
  std::string virtualAdapter, virtualKind;
  /// The tensor (base or adapter) with a planned name.
  Tensor *find(llvm::StringRef name);
};

struct AdapterState {
  std::string name, kind;
  std::shared_ptr<ModelState> model;
  /// Base weights it is placed on, and its LoRA settings.
  std::vector<std::string> targets;
  int64_t rank = 0;
  double alpha = 0, dropout = 0;
  bool rslora = false;
  /// DoRA: each module also has a "<name>.<module>.lora_magnitude" [out].
  bool dora = false;
  /// Sparse and structured adapters that are saved: the values of the
  /// tensors they own when they were placed (their diff's origin).
  std::map<std::string, Tensor> initialValues;
  /// Per-target scales where they differ (loaded PEFT rank/alpha patterns).
  std::map<std::string, double> scales;
  /// The scale of the delta on `target`.
  double scaleOf(const std::string &target) const {
    auto it = scales.find(target);
    if (it != scales.end())
      return it->second;
    return rslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank);
  }
};

struct DataValue {
  DatasetRef data;
  std::map<std::string, DatasetRef> parts;
};

struct ColumnValue {
  DatasetRef data;
  std::string field;
};

using RValue =
    std::variant<std::monostate, std::shared_ptr<ModelState>,
                 std::shared_ptr<Tokenizer>, DataValue, ColumnValue,
                 std::shared_ptr<AdapterState>, double, int64_t, bool>;

class Interpreter {
public:
  Interpreter(mlir::ModuleOp module, const RunOptions &options,
              kernels::ThreadPool &pool);
  ~Interpreter();

  llvm::Error run();

  // Used by the trainer.
  kernels::ThreadPool &getPool() { return pool; }
  const RunOptions &getOptions() const { return options; }
  MetricsLog *getMetrics() { return metrics ? &*metrics : nullptr; }
  RunFolder *getRunFolder() { return runFolder ? &*runFolder : nullptr; }
  const FusedKernelProvider &getKernels() const { return *kernels; }
  Rng &getRng() { return rng; }
  double elapsed() const;
  /// The tokenizer in effect at `op` (see docs/language.md).
  llvm::Expected<const Tokenizer *> tokenizerFor(mlir::Operation *op,
                                                 ModelState *model);
  DataContext dataContext(const Tokenizer *tokenizer);
  llvm::Expected<DataValue *> data(mlir::Value v);
  llvm::Expected<std::shared_ptr<ModelState>> model(mlir::Value v);
  std::string where(mlir::Operation *op) const;
  llvm::Error error(mlir::Operation *op, const llvm::Twine &message) const;
  std::string resolvePath(llvm::StringRef path) const;
  DataStats &getStats() { return stats; }
  int64_t nextTrainIndex() { return trainIndex++; }

private:
  llvm::Error execBlock(mlir::Block &block);
  llvm::Error exec(mlir::Operation *op);
  llvm::Error execScalar(mlir::Operation *op);
  llvm::Error execModelBuild(mlir::Operation *op);
  llvm::Error execModelLoad(mlir::Operation *op);
  llvm::Error execData(mlir::Operation *op);
  llvm::Error execDataOp(mlir::Operation *op);
  llvm::Error execAdapter(mlir::Operation *op);
  llvm::Error execAdapterLoad(mlir::Operation *op);
  llvm::Error execTrain(mlir::Operation *op);
  llvm::Error execLoop(mlir::Operation *op);
  llvm::Error execLog(mlir::Operation *op);
  llvm::Error execSave(mlir::Operation *op);
  llvm::Error execMerge(mlir::Operation *op);
  /// parallel(...) and bottleneck(...): the modules' tensors, placed on the
  /// model (BlockAdapters.cpp).
  llvm::Error execBlockAdapter(mlir::Operation *op,
                               const std::shared_ptr<ModelState> &model);
  /// prompt(...) and prefix(...): the virtual tokens' tensors, placed on
  /// the model (VirtualTokens.cpp).
  llvm::Error execVirtualAdapter(mlir::Operation *op,
                                 const std::shared_ptr<ModelState> &model);
  llvm::Error execGenerate(mlir::Operation *op);
  llvm::Error execJudge(mlir::Operation *op);
  llvm::Error execMetric(mlir::Operation *op);
  llvm::Expected<std::unique_ptr<Judge>> makeJudge(mlir::Operation *op,
                                                   mlir::Value judge);
  /// The model with its LoRA adapters, for the generator and metrics.
  llvm::Expected<ModelView> viewOf(ModelState &model);

  // Round checkpoints and resuming (Resume.cpp).
  void indexOps();
  std::string keyOf(mlir::Value v) const;
  llvm::Expected<llvm::json::Value> saveValue(const RValue &value,
                                              const std::string &key,
                                              CheckpointState &state,
                                              bool materialize);
  llvm::Error saveRoundCheckpoint(mlir::Operation *loop, int64_t round,
                                  llvm::ArrayRef<RValue> carried);
  llvm::Error loadRoundCheckpoint();
  std::optional<RValue> restoredValue(const std::string &key,
                                      const llvm::json::Value *saved);
  /// While resuming, true for ops whose results come from the checkpoint.
  bool replaying(mlir::Operation *op);
  /// Restores models and the loop's carried values at the resumed loop.
  llvm::Error finishReplay(llvm::SmallVectorImpl<RValue> &carried);

  mlir::ModuleOp module;
  const RunOptions &options;
  kernels::ThreadPool &pool;
  Rng rng;
  llvm::DenseMap<mlir::Value, RValue> values;
  std::unique_ptr<FusedKernelProvider> kernels;
  std::optional<RunFolder> runFolder;
  std::optional<MetricsLog> metrics;
  std::shared_ptr<Tokenizer> lastTokenizer;
  DataStats stats;
  double startTime = 0;
  int64_t trainIndex = 0;
  int64_t generateCount = 0;
  int64_t roundsFinished = 0;
  /// Pre-order index of every op, and values by "<op index>.<result>": the
  /// names values have in round checkpoints.
  llvm::DenseMap<mlir::Operation *, int64_t> opIndex;
  llvm::StringMap<mlir::Value> valueByKey;
  /// Values holding records made at run time (generate, judge).
  std::set<std::string> materialized;
  struct ResumePlan {
    CheckpointState state;
    int64_t loop = -1, round = 0;
    bool done = false;
  };
  std::optional<ResumePlan> resume;
  /// "/<loop><round>..." of the loop rounds being run (data randomness).
  std::string roundSalt;
  JudgeStats lastJudgeStats;

  friend class Trainer;
};

/// Trains for one `ftl.train` op.
llvm::Error runTrain(Interpreter &interp, mlir::Operation *trainOp,
                     ModelState &model);

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_INTERPRETER_H
