//===- ftl/Models/Init.h - Fresh model weights ------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Random initial weights drawn from the same distributions transformers
/// uses. Llama family: Linear and Embedding weights normal(0, initStd), the
/// pad token's embedding row zero, biases 0, RMSNorm weights 1. GPT-2:
/// normal(0, initStd), with attn.o and mlp.down (c_proj) weights
/// normal(0, initStd / sqrt(2 * layers)), LayerNorm weight 1 and bias 0,
/// biases 0. Each tensor comes from `rng.derive(canonicalName)`, so it does
/// not depend on which other tensors exist or their order.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_MODELS_INIT_H
#define FTL_MODELS_INIT_H

#include "ftl/Models/ModelWeights.h"
#include "ftl/Runtime/Rng.h"

namespace ftl::rt {

/// Fresh weights for every canonical parameter of `config` (validated).
ModelWeights initModelWeights(const ModelConfig &config, Rng &rng);

/// Re-draws one canonical parameter exactly as `initModelWeights` would.
/// `name` must be one of `canonicalParams(config)` (asserts).
Tensor initParam(const ModelConfig &config, llvm::StringRef name,
                 llvm::ArrayRef<int64_t> shape, const Rng &rng);

} // namespace ftl::rt

#endif // FTL_MODELS_INIT_H
