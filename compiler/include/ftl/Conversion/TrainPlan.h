//===- ftl/Conversion/TrainPlan.h - What one ftl.train trains ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Everything the step function and the runtime need to agree on for one
/// `ftl.train`: the model's shape, the tensors (base and adapter) with their
/// trainability, the objective's terms with their weights, and the batch
/// shape. Computed from the ftl IR by `planTrain`; used by the lowering to
/// ftlt and by the runtime that feeds the step function.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_CONVERSION_TRAINPLAN_H
#define FTL_CONVERSION_TRAINPLAN_H

#include "ftl/Lang/ParamTree.h"

#include "ftl/Dialect/FTL/IR/FTLOps.h"

#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>
#include <vector>

namespace ftl {

/// The architecture of a model, as the step function needs it.
struct ModelShape {
  lang::ModelInfo info;
  double ropeTheta = 10000;
  double normEps = 1e-5;
  double initStd = 0.02;
  std::string name; ///< the binding name
};

/// A LoRA update on one linear weight.
struct LoraPlacement {
  std::string adapter; ///< adapter binding name
  std::string weight;  ///< canonical base tensor, e.g. layers.0.attn.q.weight
  int64_t rank = 8;
  double scale = 1; ///< alpha / rank (or alpha / sqrt(rank) with rslora)
  int64_t in = 0, out = 0;
  double dropout = 0;
  bool pissa = false; ///< init: pissa (A, B from W's SVD; W the residual)
  bool corda = false; ///< init: corda (A, B from W C's SVD; W the residual)
  /// DoRA: the output is m * (x W^T + s x A^T B^T) / ||W + s B A|| per
  /// output feature, m a trained magnitude [out] (mName()).
  bool dora = false;
  std::string aName() const; ///< "<adapter>.<module>.lora_A"
  std::string bName() const;
  std::string mName() const; ///< "<adapter>.<module>.lora_magnitude"
};

/// A bottleneck module on one sub-layer ("attn" or "mlp") of one layer:
/// `parallel(rank, scale)` and `bottleneck(dim, placement, act)`. It adds
/// scale * up(act(down(z))) to the sub-layer's output, z being the
/// sub-layer's (normalised) input when it sits beside it, or its output when
/// serial. Tensors: prefix() + ".down.weight" [hidden, dim], ".down.bias"
/// [hidden], ".up.weight" [dim, hidden], ".up.bias" [dim]; up starts at 0, so
/// the model's output at step 0 is the base model's.
struct BlockAdapterPlacement {
  std::string adapter; ///< adapter binding name
  std::string kind;    ///< parallel | bottleneck
  int64_t layer = 0;
  std::string block; ///< attn | mlp
  int64_t dim = 0, hidden = 0;
  double scale = 1;
  bool serial = false;
  std::string act = "relu"; ///< relu | gelu | silu
  /// "<adapter>.layers.<L>.<block>.adapter"
  std::string prefix() const;
};

/// Sparse fine-tuning of one base weight: a fixed set of `k` of its
/// entries trains (the mask is chosen at run time when the adapter is
/// placed); the update function steps only those, gathered into [k] vectors,
/// so the optimizer state holds k values per slot.
struct SparsePlacement {
  std::string adapter; ///< adapter binding name
  std::string weight;  ///< canonical base tensor
  double density = 0;
  int64_t numel = 0, k = 0; ///< entries, and how many train
  int64_t rows = 0, cols = 0;
  std::string pick = "random"; ///< random | magnitude | principal
  int64_t rank = 0;            ///< principal(rank: r)
  int64_t refresh = 0;         ///< re-pick every this many steps (0: never)
  /// pick "structured" (S2FT): the weight is cut into `blockUnits` units of
  /// `blockWidth` rows (or columns, with blockCols) and `blockChosen` units
  /// train, whole. `blockKind` ("heads" or "channels") and `layer` name the
  /// choice, so that coupled weights of a layer (v rows and o columns; up
  /// and gate rows and down columns) pick the same units.
  std::string blockKind;
  int64_t layer = -1, blockUnits = 0, blockChosen = 0, blockWidth = 0;
  bool blockCols = false;
};

/// Half fine-tuning by one `half(...)` adapter: its tensors, grouped into
/// modules by layer and category, of which the runtime trains half per
/// round (lr scale 0 for the other half).
struct HalfPlacement {
  struct Module {
    int64_t layer = 0;
    std::string category;             ///< attn, mlp or norm
    std::string name;                 ///< "layers.0.attn.q"
    std::vector<std::string> tensors; ///< weight (and bias)
  };
  std::string adapter;
  int64_t regroupEvery = 0; ///< steps per round (0: one round per train)
  std::vector<Module> modules;
};

/// One tensor the step function takes.
struct PlannedTensor {
  std::string name;
  llvm::SmallVector<int64_t, 2> shape;
  bool trainable = false;
  bool isAdapter = false;
  /// Entries that train when a sparse adapter owns the tensor (0: all).
  int64_t sparseK = 0;
  /// The learning-rate factor of layer-wise LR decay (1 without it).
  double lrScale = 1;
  int64_t numel() const;
  /// Entries the optimizer steps: numel(), or sparseK.
  int64_t numTrainable() const { return sparseK > 0 ? sparseK : numel(); }
};

/// One loss term of the objective.
struct PlannedTerm {
  mlir::ftl::LossOp loss;
  std::string kind; ///< sft, lm, unlikelihood, kl, dpo, l2, l1
  double weight = 1;
  /// Task balancing: terms of one `balance(...)` share a group (-1: none) and
  /// its mode (static, data_scale, token_scale, loss_scale).
  int group = -1;
  std::string balance;
  /// Token losses outside a balance group: the mean over the step's
  /// supervised tokens ("tokens"), over its examples ("samples", each
  /// example's own mean first) or the weighted sum over the sum of the
  /// weights ("sum_weights").
  std::string norm = "tokens";
  /// Rows of the term's micro-batch: the train's batch, or two per pair
  /// (chosen, then rejected) for preference losses; 0 for regularisers.
  int64_t rows = 0;
  /// Preference losses: their variant and settings.
  std::string preference = "sigmoid";
  double beta = 0.1, labelSmoothing = 0;
  /// Regularisers: the tensors they penalise, and whether they penalise the
  /// distance to the values at the start of the train.
  std::vector<std::string> tensors;
  bool toInit = false;

  /// Terms that read no batch: penalties on parameters.
  bool isRegulariserKind() const { return kind == "l2" || kind == "l1"; }
  bool isTokenLoss() const { return rows > 0 && kind != "dpo"; }
  bool isPreference() const { return kind == "dpo"; }
  /// KL to a reference: a token loss that also reads the reference's hidden
  /// states of its batch, computed every step.
  bool isKl() const { return kind == "kl"; }
  bool needsReference() const { return isPreference() || isKl(); }
  /// The `ref:` operand of a preference or KL term (null: the default, the
  /// trained model at the start of the train with its adapters off).
  mlir::Value reference() const;
  bool isRegulariser() const { return rows == 0; }
};

/// Prompt or prefix tuning (`prompt(tokens)`, `prefix(tokens)` on a
/// model): every document piece of the train's batches starts with `tokens`
/// virtual slots. A prompt replaces their input embeddings with the trained
/// rows of "<adapter>.prompt_embeddings" [tokens, dim]; a prefix replaces,
/// in every layer, their keys and values (after RoPE, as cached keys are)
/// with "<adapter>.layers.<L>.prefix_key" / "prefix_value" [tokens, kv_dim].
struct VirtualTokenPlacement {
  std::string adapter;
  std::string kind; ///< prompt | prefix
  int64_t tokens = 0;
  std::string promptName() const { return adapter + ".prompt_embeddings"; }
  std::string prefixName(int64_t layer, bool value) const {
    return adapter + ".layers." + std::to_string(layer) +
           (value ? ".prefix_value" : ".prefix_key");
  }
};

/// One `balance(...)` of the objective (its terms carry its index as their
/// group). With `coba`, the convergence balancer's settings and each task's
/// validation data, in term order.
struct PlannedGroup {
  std::string mode;
  std::vector<mlir::Value> validation;
  int64_t warmup = 100, history = 200, every = 1;
  double tau = 5;
};

struct TrainPlan {
  mlir::ftl::TrainOp train;
  ModelShape model;
  std::vector<PlannedTensor> tensors; ///< base tensors, then adapter tensors
  std::vector<LoraPlacement> loras;
  std::vector<SparsePlacement> sparse;
  std::vector<BlockAdapterPlacement> blockAdapters;
  std::vector<HalfPlacement> halves;
  std::optional<VirtualTokenPlacement> virtualTokens;
  /// adamw(layer_decay: d): see lrScaleOf.
  double layerDecay = 1;
  std::vector<PlannedTerm> terms;
  std::vector<PlannedGroup> groups;
  int64_t batch = 8, seq = 256, steps = 0, epochs = 0, accumulate = 1;
  double clip = 0;
  std::string recompute = "none";

  int64_t tokens() const { return batch * seq; }
  int64_t numTrainable() const;
  /// Whether the update function takes a learning-rate scale per trainable
  /// tensor (layer-wise LR decay or half fine-tuning).
  bool scalesLr() const { return layerDecay != 1 || !halves.empty(); }
};

/// The layer-wise LR decay factor of `tensor` (a base or adapter tensor
/// name) in a model of `layers` layers: decay^(layers-1-i) in layer i,
/// decay^layers for the embeddings, 1 for the final norm and the head.
double lrScaleOf(llvm::StringRef tensor, int64_t layers, double decay);

/// The layer index of a base or adapter tensor name ("layers.3.attn.q.weight",
/// "a.layers.3.attn.q.lora_A"), or -1 outside the layers.
int64_t layerOfTensor(llvm::StringRef tensor);

/// Reads a model's shape from its defining op (ftl.model.build, or an
/// ftl.model.load whose config attributes the driver filled in).
mlir::FailureOr<ModelShape> modelShapeOf(mlir::Value model);

/// The loss kinds the step-function lowering implements.
bool isLowerableLoss(llvm::StringRef kind);

/// Vocabulary entries per chunk of the fused KL kernel.
constexpr int64_t kKlChunk = 4096;

/// The weights a `sparse(...)` adapter trains entries of, with their counts
/// and pick; reports errors at the adapter.
mlir::FailureOr<std::vector<SparsePlacement>>
planSparse(mlir::ftl::AdapterOp adapter, const lang::ModelInfo &model);

/// The modules of a `parallel(...)` or `bottleneck(...)` adapter: one per
/// layer and sub-layer that holds a selected tensor.
mlir::FailureOr<std::vector<BlockAdapterPlacement>>
planBlockAdapters(mlir::ftl::AdapterOp adapter, const lang::ModelInfo &model);

/// Computes the plan of `train`; reports errors at the offending ops.
mlir::FailureOr<TrainPlan> planTrain(mlir::ftl::TrainOp train);

} // namespace ftl

#endif // FTL_CONVERSION_TRAINPLAN_H
