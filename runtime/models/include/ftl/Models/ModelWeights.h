//===- ftl/Models/ModelWeights.h - The canonical parameter tree -*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every model's parameters have one canonical naming scheme, whatever the
/// checkpoint called them; selectors in scripts address these names:
///
///   embed.weight [vocab, dim]          pos_embed.weight [ctx, dim] (gpt2)
///   layers.{i}.attn_norm.weight (+ .bias for LayerNorm)
///   layers.{i}.attn.q.weight [heads*headDim, dim]        (+ .bias)
///   layers.{i}.attn.k.weight [kvHeads*headDim, dim]      (+ .bias)
///   layers.{i}.attn.v.weight [kvHeads*headDim, dim]      (+ .bias)
///   layers.{i}.attn.o.weight [dim, heads*headDim]        (+ .bias)
///   layers.{i}.mlp_norm.weight (+ .bias)
///   layers.{i}.mlp.gate.weight [ffn, dim] (Llama family)  (+ .bias)
///   layers.{i}.mlp.up.weight [ffn, dim]                   (+ .bias)
///   layers.{i}.mlp.down.weight [dim, ffn]                 (+ .bias)
///   final_norm.weight (+ .bias)        head.weight [vocab, dim] (untied only)
///
/// Biases exist where the config says so (qkvBias, oBias, mlpBias). Every
/// matrix uses the nn.Linear layout [out, in]. `ModelWeights` holds them in
/// this order, always as F32.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_MODELS_MODELWEIGHTS_H
#define FTL_MODELS_MODELWEIGHTS_H

#include "ftl/Models/ModelConfig.h"
#include "ftl/Runtime/Tensor.h"

#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ftl::rt {

/// A canonical parameter: its name and shape.
struct ParamSpec {
  std::string name;
  Shape shape;
};

/// Every parameter of a model with this config, in canonical order.
std::vector<ParamSpec> canonicalParams(const ModelConfig &config);

/// The Hugging Face tensor name of a canonical parameter when it maps to
/// exactly one tensor ("layers.0.attn.q.weight" ->
/// "model.layers.0.self_attn.q_proj.weight"); nullopt for names the config
/// does not have and for GPT-2's q/k/v, which live fused in c_attn.
std::optional<std::string> hfTensorName(const ModelConfig &config,
                                        llvm::StringRef canonicalName);

/// An ordered map from canonical names to F32 tensors.
class ModelWeights {
public:
  using iterator = std::vector<std::pair<std::string, Tensor>>::const_iterator;

  /// Adds `name`, or replaces its tensor keeping its position.
  void set(llvm::StringRef name, Tensor tensor);
  /// The tensor, or nullptr.
  const Tensor *find(llvm::StringRef name) const;
  Tensor *find(llvm::StringRef name);
  bool contains(llvm::StringRef name) const { return index.count(name); }
  size_t size() const { return entries.size(); }
  bool empty() const { return entries.empty(); }
  iterator begin() const { return entries.begin(); }
  iterator end() const { return entries.end(); }
  /// Same names in the same order with bitwise equal tensors.
  bool bitwiseEqual(const ModelWeights &other) const;

private:
  std::vector<std::pair<std::string, Tensor>> entries;
  llvm::StringMap<size_t> index;
};

/// Checks that `weights` holds exactly the canonical parameters of `config`,
/// each F32 with the right shape; errors name the parameter, the expected and
/// the found shape.
llvm::Error checkModelWeights(const ModelConfig &config,
                              const ModelWeights &weights);

} // namespace ftl::rt

#endif // FTL_MODELS_MODELWEIGHTS_H
