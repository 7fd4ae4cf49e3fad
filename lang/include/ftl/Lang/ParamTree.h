//===- ftl/Lang/ParamTree.h - The typed parameter tree ----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every model family maps onto one canonical parameter tree that selectors
/// address (`base.layers[3].attn.q`). This file enumerates that tree from a
/// model's shape and resolves selectors against it. The checker uses it to
/// reject selectors that match nothing; the compiler and runtime use the same
/// code, so a selector means the same thing everywhere.
///
/// Canonical tensors (nn.Linear layout [out, in]):
///   embed.weight, pos_embed.weight (GPT-2),
///   layers.{i}.attn_norm.{weight,bias}, layers.{i}.attn.{q,k,v,o}.{weight,bias},
///   layers.{i}.mlp_norm.{weight,bias}, layers.{i}.mlp.{gate,up,down}.{weight,bias},
///   final_norm.{weight,bias}, head.weight (when not tied).
/// Roles: attn, mlp, norm (attn_norm, mlp_norm, final_norm), embed (embed,
/// pos_embed), head. A selector segment matches a component by name, by glob
/// (`*`, `norm*`) or by role.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_LANG_PARAMTREE_H
#define FTL_LANG_PARAMTREE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ftl::lang {

/// The largest model shapes the front end accepts: generous for real models,
/// and they keep the parameter tree and the size arithmetic bounded.
constexpr int64_t maxModelLayers = 1024;
/// For vocab, dim, heads, kv_heads, ffn and ctx.
constexpr int64_t maxModelSize = int64_t(1) << 24;

/// What the front end knows about a model's shape.
struct ModelInfo {
  enum class Arch { Llama, GPT2 };
  Arch arch = Arch::Llama;
  int64_t vocab = 0, dim = 0, layers = 0, heads = 0, kvHeads = 0, ffn = 0,
          ctx = 0;
  bool qkvBias = false;
  bool tied = false;
  /// "llama(...)", "gpt2(...)" or the folder it was loaded from.
  std::string source;

  int64_t headDim() const { return heads ? dim / heads : 0; }
};

/// One tensor of the tree.
struct ParamTensor {
  std::string name; ///< "layers.3.attn.q.weight"
  llvm::SmallVector<int64_t, 2> shape;
  int64_t numel() const;
  /// The module path without the leaf: "layers.3.attn.q".
  llvm::StringRef module() const;
  /// The role: attn, mlp, norm, embed or head.
  llvm::StringRef role() const;
  /// Layer index, or -1 outside the layer stack.
  int64_t layer() const;
};

/// The canonical tensors of a model, in a fixed order.
std::vector<ParamTensor> enumerateParams(const ModelInfo &info);

/// One step of a selector path.
struct SelectorSegment {
  enum class Kind { Name, Set, Index };
  Kind kind = Kind::Name;
  /// Name or set members (globs allowed: `*`, `norm*`).
  std::vector<std::string> names;
  /// Index: all (`*`), a single index, an inclusive range, or a list.
  enum class IndexKind { All, Single, Range, List };
  IndexKind indexKind = IndexKind::All;
  std::optional<int64_t> lo, hi; ///< for Single (lo) and Range
  std::vector<int64_t> list;

  std::string str() const;
};

struct SelectorMatch {
  std::vector<std::string> tensors; ///< canonical tensor names, tree order
  /// Set when an index is outside the list it indexes.
  std::string error;
  int64_t badIndex = 0;
  int64_t listSize = 0;
  std::string listName;
};

/// Resolves `segments` (after the model name) against the tree. An empty
/// segment list selects every tensor. A tied head resolves to embed.weight.
SelectorMatch resolveSelector(const ModelInfo &info,
                              llvm::ArrayRef<SelectorSegment> segments);

/// Glob match with `*` (any run of characters).
bool globMatch(llvm::StringRef pattern, llvm::StringRef text);

/// "layers[*].attn.{q, v}"
std::string selectorToString(llvm::ArrayRef<SelectorSegment> segments);

} // namespace ftl::lang

#endif // FTL_LANG_PARAMTREE_H
