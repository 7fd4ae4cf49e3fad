//===- PeftModules.h - transformers module paths and PEFT matching -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The modules of the transformers model a `ModelConfig` describes, named as
// `model.named_modules()` names them, and PEFT 0.13's rules for choosing
// target modules (target_modules, layers_to_transform, layers_pattern) and
// per-module ranks and alphas (rank_pattern, alpha_pattern). Internal to
// FTLAdapters.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_ADAPTERS_LIB_PEFTMODULES_H
#define FTL_ADAPTERS_LIB_PEFTMODULES_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace re2 {
class RE2;
} // namespace re2

namespace ftl::rt {

struct ModelConfig;

/// One module of the transformers model.
struct PeftModule {
  /// "model.layers.0.self_attn.q_proj", "transformer.h.1.attn.c_attn", ...
  std::string path;
  /// The canonical weights the module computes with, in the order of their
  /// rows (one; q, k and v for GPT-2's c_attn). Empty when ftl cannot read
  /// or write a LoRA on it; then `kind` says what it is.
  llvm::SmallVector<std::string, 3> parts;
  /// Rows of each part (the nn.Linear out dimension).
  llvm::SmallVector<int64_t, 3> partRows;
  /// The nn.Linear in dimension.
  int64_t in = 0;
  /// For modules without parts: "an embedding", "a norm", ...
  std::string kind;

  bool isLinear() const { return !parts.empty(); }
  int64_t out() const;
  /// Row offset of part `i` in the module's output.
  int64_t rowOffset(size_t i) const;
};

/// Every module `named_modules()` lists for a model with `config` (save for
/// the root), in that order.
std::vector<PeftModule> peftModules(const ModelConfig &config);

/// The `target_modules`, `layers_to_transform` and `layers_pattern` fields.
struct PeftTargets {
  /// target_modules given as a string: a regular expression matched against
  /// the whole module path, or "all-linear".
  std::optional<std::string> regex;
  /// target_modules given as a list: exact paths or dotted suffixes.
  std::vector<std::string> names;
  /// layers_to_transform (empty: every layer).
  std::vector<int64_t> layers;
  /// layers_pattern (empty: any).
  std::vector<std::string> layersPattern;
};

/// PEFT's choice of target modules, with its regular expressions compiled
/// once.
class PeftTargetMatcher {
public:
  /// Fails on regular expressions RE2 cannot compile; `where` prefixes the
  /// message.
  static llvm::Expected<PeftTargetMatcher> create(const PeftTargets &targets,
                                                  llvm::StringRef where);
  /// Whether PEFT would adapt `module`.
  bool matches(const PeftModule &module) const;
  /// Whether list entry `name` (of `targets.names`) names `module` exactly or
  /// as a dotted suffix, before any layer filtering.
  static bool namesModule(llvm::StringRef name, llvm::StringRef path);

private:
  PeftTargets targets;
  std::shared_ptr<re2::RE2> regex;
  std::vector<std::shared_ptr<re2::RE2>> layerRegexes;
};

/// rank_pattern / alpha_pattern.
struct PeftPatterns {
  int64_t r = 8;
  double alpha = 8;
  /// In the order PEFT tries them (PEFT writes keys sorted, and json.load
  /// keeps that order).
  std::vector<std::pair<std::string, int64_t>> ranks;
  std::vector<std::pair<std::string, double>> alphas;
};

/// PEFT's per-module rank and alpha: the first key (rank keys before alpha
/// keys) for which `.*\.<key>$` matches the module path from its start picks
/// both values, each falling back to the default when that key is not in its
/// own map.
class PeftRankResolver {
public:
  static llvm::Expected<PeftRankResolver> create(const PeftPatterns &patterns,
                                                 llvm::StringRef where);
  std::pair<int64_t, double> resolve(llvm::StringRef path) const;

private:
  PeftPatterns patterns;
  /// Rank keys then alpha keys, with their compiled expressions.
  std::vector<std::pair<std::string, std::shared_ptr<re2::RE2>>> keys;
};

} // namespace ftl::rt

#endif // FTL_ADAPTERS_LIB_PEFTMODULES_H
