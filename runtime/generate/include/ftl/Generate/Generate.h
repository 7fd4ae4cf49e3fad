//===- ftl/Generate/Generate.h - Text generation with a KV cache -*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Inference for the models of `ftl/Models`: the logits of a sequence
/// (`forwardLogits`) and batched sampling with a key/value cache
/// (`generate`), both optionally with LoRA deltas on the base linears.
///
/// `generate` runs every (prompt, sample) pair as one row. Up to `batchSize`
/// rows share a step: their new tokens go through each linear layer as one
/// GEMM, and a finished row's cache slot is handed to the next waiting row at
/// once (its prompt goes through the model in the same step as the other
/// rows' decode tokens). The n samples of a prompt compute the prompt once
/// when they run together. Every row's arithmetic is independent of the
/// other rows, of the batch size and of the thread count, and each row
/// samples from its own random stream, so results are bitwise reproducible.
///
/// See docs/generation.md for the sampling semantics, stop handling and
/// limits.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_GENERATE_GENERATE_H
#define FTL_GENERATE_GENERATE_H

#include "ftl/Models/ModelConfig.h"
#include "ftl/Models/ModelWeights.h"
#include "ftl/Runtime/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ftl::kernels {
class ThreadPool;
} // namespace ftl::kernels

namespace ftl::rt {

class Tokenizer;

/// A LoRA delta on one base linear: y += scale * (x A^T) B^T, A [r, in],
/// B [out, r] (F32).
struct LoraDelta {
  const Tensor *A = nullptr;
  const Tensor *B = nullptr;
  float scale = 1.0f;
};

/// A parallel or bottleneck module on one sub-layer (see
/// ftl::BlockAdapterPlacement): out += scale * up(act(down(z))), z the
/// sub-layer's normalised input, or its output when `serial`.
struct BlockAdapterDelta {
  int64_t layer = 0;
  bool mlp = false; ///< on the MLP, else on attention
  const Tensor *downWeight = nullptr, *downBias = nullptr; ///< [r, dim], [r]
  const Tensor *upWeight = nullptr, *upBias = nullptr;     ///< [dim, r], [dim]
  float scale = 1.0f;
  bool serial = false;
  std::string act = "relu"; ///< relu | gelu | silu
};

/// What a forward pass reads: a model plus optional LoRA deltas keyed by the
/// base weight name ("layers.0.attn.q.weight"; any attn.{q,k,v,o} or
/// mlp.{gate,up,down} weight, or "head.weight" of an untied model). Nothing
/// is copied: the pointed-to objects must outlive the call.
struct ModelView {
  const ModelConfig *config = nullptr;
  const ModelWeights *weights = nullptr;
  llvm::StringMap<LoraDelta> lora;
  /// Parallel and bottleneck modules, applied in this order per sub-layer.
  std::vector<BlockAdapterDelta> blocks;
  /// Prompt or prefix tuning: every sequence starts with `count` virtual
  /// tokens at positions 0..count-1 (the callers' tokens follow, and only
  /// their logits come back). A prompt gives their input embeddings
  /// ([count, dim]); a prefix gives, per layer, their cached keys (after
  /// RoPE) and values ([count, kv_heads * head_dim]).
  struct VirtualTokens {
    int64_t count = 0;
    const Tensor *prompt = nullptr;
    std::vector<const Tensor *> keys, values;
  } virtualTokens;
};

/// Logits [tokens.size(), vocab] of one sequence (full causal forward, no
/// cache reuse between calls). Positions start at 0. A null pool runs on the
/// calling thread.
llvm::Expected<Tensor> forwardLogits(const ModelView &model,
                                     llvm::ArrayRef<int32_t> tokens,
                                     kernels::ThreadPool *pool);

/// Every layer's keys (after RoPE) and values for `tokens` at positions 0..,
/// as the cache holds them: 2 * layers tensors [T, kv_heads * head_dim],
/// keys then values of layer 0, then layer 1, ... (prefix tuning's
/// initialisation from real activations).
llvm::Expected<std::vector<Tensor>>
keysAndValues(const ModelView &model, llvm::ArrayRef<int32_t> tokens,
              kernels::ThreadPool *pool = nullptr);

/// Sum over every token of `sequences` of x x^T, x the input of the linear
/// layer `target` (a canonical weight name such as
/// "layers.0.attn.q.weight"), in double: [in, in] per target, the
/// activation covariance of CorDA. Each sequence runs from position 0.
llvm::Expected<std::map<std::string, std::vector<double>>>
linearInputCovariance(const ModelView &model,
                      llvm::ArrayRef<std::vector<int32_t>> sequences,
                      llvm::ArrayRef<std::string> targets,
                      kernels::ThreadPool *pool);

struct SamplingOptions {
  double temperature = 0; ///< 0 = greedy
  int64_t topK = 0;       ///< 0 = off
  double topP = 1.0;      ///< 1 = off
  int64_t n = 1;          ///< samples per prompt
  int64_t maxTokens = 64;
  /// Stop strings, checked on the decoded text after every token; the text
  /// is cut before the earliest match (the tokens keep the one that
  /// completed it).
  std::vector<std::string> stop;
  /// Stop token: kept as the last entry of `tokens`, left out of `text`.
  std::optional<int32_t> eos;
  uint64_t seed = 0;
};

struct Sample {
  size_t prompt = 0;           ///< index into the prompts
  std::vector<int32_t> tokens; ///< the generated tokens (no prompt)
  std::string text;            ///< decoded tokens (see SamplingOptions)
  std::string finish;          ///< "eos", "stop" or "length"
};

/// Generates for a batch of prompts, batched over (prompt x n) rows with a
/// KV cache; each row draws from its own Rng stream derived from (seed,
/// prompt index, sample index) so results do not depend on batch size or
/// thread count. `progress` (may be empty) is called after every step with
/// the number of tokens produced so far (all rows). The result holds
/// prompts.size() * n samples, those of prompt 0 first.
///
/// A row stops with "length" after `maxTokens` tokens or when prompt plus
/// generated tokens fill the model's context (a prompt of exactly ctx tokens
/// gets no tokens). Errors: a null model, weights that do not match the
/// config, malformed LoRA deltas, an empty prompt, a prompt longer than the
/// context, token ids outside the vocabulary, invalid options.
llvm::Expected<std::vector<Sample>>
generate(const ModelView &model, const Tokenizer &tokenizer,
         llvm::ArrayRef<std::vector<int32_t>> prompts,
         const SamplingOptions &options, kernels::ThreadPool *pool,
         llvm::function_ref<void(int64_t)> progress = {},
         int64_t batchSize = 16);

} // namespace ftl::rt

#endif // FTL_GENERATE_GENERATE_H
