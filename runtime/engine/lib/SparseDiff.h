//===- SparseDiff.h - Sparse fine-tuning diffs as folders -------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A sparse or structured adapter changes some entries of base tensors in
/// place. Its diff, the trained values minus the values when it was placed,
/// is what LT-SFT composes: `save s to "dir"` writes it, and loading it on a
/// model adds it to that model's tensors, so several diffs loaded on one
/// model compose by addition (theta0 + delta1 + delta2).
///
/// Folder: adapter_config.json {"ftl_adapter_type": "SPARSE_DIFF",
/// "tensors": {name: shape}, "entries": n} and adapter_model.safetensors
/// with "<name>.indices" (I32, flat, increasing) and "<name>.delta" (F32)
/// per tensor.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_LIB_SPARSEDIFF_H
#define FTL_ENGINE_LIB_SPARSEDIFF_H

#include "ftl/Runtime/Tensor.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace ftl::rt {

class ModelWeights;

struct SparseDiff {
  struct Entries {
    std::vector<int64_t> shape;
    std::vector<int32_t> indices;
    std::vector<float> delta;
  };
  std::map<std::string, Entries> tensors; ///< by canonical tensor name
};

/// The entries of `current` that differ from `initial` (bitwise), per
/// tensor; both map canonical names to same-shaped F32 tensors.
llvm::Expected<SparseDiff>
sparseDiffOf(const std::map<std::string, Tensor> &initial,
             const ModelWeights &current);

llvm::Error saveSparseDiff(const SparseDiff &diff, llvm::StringRef dir);

/// Whether `dir` holds a sparse diff folder (else, e.g., a PEFT one).
bool isSparseDiffFolder(llvm::StringRef dir);

llvm::Expected<SparseDiff> loadSparseDiff(llvm::StringRef dir);

/// Adds the diff to `weights` (each changed tensor is replaced by a new one,
/// so shared tensors stay as they were); unknown tensors, other shapes and
/// indices out of range are errors naming the tensor, and leave `weights`
/// unchanged. Returns the number of entries changed.
llvm::Expected<int64_t> applySparseDiff(const SparseDiff &diff,
                                        ModelWeights &weights);

} // namespace ftl::rt

#endif // FTL_ENGINE_LIB_SPARSEDIFF_H
