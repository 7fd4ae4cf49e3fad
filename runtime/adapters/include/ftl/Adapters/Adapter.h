//===- ftl/Adapters/Adapter.h - LoRA and prompt adapters --------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Adapters in canonical parameter names (see ftl/Models/ModelWeights.h).
/// A LoRA adapter adds `scale * B A` to base weights: for each adapted weight
/// W [out, in] it holds A [rank, in] and B [out, rank], both F32 in the
/// nn.Linear layout PEFT uses for lora_A / lora_B. A prompt adapter holds the
/// soft-prompt embeddings [tokens, dim] that go before the input embeddings.
/// Reading and writing PEFT folders is in ftl/Adapters/Peft.h.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ADAPTERS_ADAPTER_H
#define FTL_ADAPTERS_ADAPTER_H

#include "ftl/Runtime/Tensor.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>

namespace ftl::rt {

class ModelWeights;

/// A LoRA adapter in canonical names: for each base weight
/// ("layers.0.attn.q.weight"), A [r, in] and B [out, r].
struct LoraAdapter {
  struct Pair {
    Tensor A, B;
    int64_t rank = 0;
    double alpha = 0;
    /// DoRA: the magnitude [out] of each output feature (invalid without).
    Tensor magnitude;
  };
  /// Keyed by canonical base weight name.
  std::map<std::string, Pair> deltas;
  bool rslora = false;
  double dropout = 0;
  /// base_model_name_or_path ("" when built from arguments).
  std::string baseModel;

  /// Scale of one delta: alpha / r, or alpha / sqrt(r) with rslora.
  static double scale(const Pair &p, bool rslora);
};

/// Soft-prompt (prompt tuning) embeddings.
struct PromptAdapter {
  /// [tokens, dim], F32.
  Tensor embeddings;
  /// base_model_name_or_path ("" when built from arguments).
  std::string baseModel;
};

/// Folds every delta into the weights: W += scale * B A, computed with double
/// accumulation and rounded once per element. Each adapted tensor is replaced
/// by a new one, so tensors shared with other `ModelWeights` (or read-only
/// views of mapped files) are left as they were. Unknown names, shapes that do
/// not fit `W` (errors name the weight, the expected and the found shape),
/// ranks that disagree with A and B, and non-F32 tensors are errors; on error
/// `weights` is unchanged.
llvm::Error mergeLora(ModelWeights &weights, const LoraAdapter &adapter);

} // namespace ftl::rt

#endif // FTL_ADAPTERS_ADAPTER_H
