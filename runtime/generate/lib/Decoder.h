//===- Decoder.h - Batched transformer steps over a KV cache ----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The forward pass behind `forwardLogits` and `generate` (internal; the unit
/// tests include it). A `Decoder` owns a key/value cache of `slots` sequences
/// of up to `capacity` positions, laid out [layers, slots, kvHeads, capacity,
/// headDim] for keys and values, and the buffers of one step, all allocated
/// once. A step takes any mix of tokens (a prompt chunk of one slot, the next
/// token of others), runs them through every linear layer as one GEMM,
/// writes their keys and values into the cache and lets each token attend to
/// the cached positions 0..pos of its slot.
///
/// Each token's arithmetic depends only on its slot's earlier tokens, never
/// on the other tokens of the step or on the thread count (sgemm computes
/// every element of C the same way whatever M and the thread grid; the other
/// operations are per token), so results are bitwise reproducible.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_GENERATE_DECODER_H
#define FTL_GENERATE_DECODER_H

#include "ftl/Generate/Generate.h"
#include "ftl/Kernels/Isa.h"

#include <array>
#include <functional>
#include <memory>

namespace ftl::rt::detail {

/// A linear layer y = x W^T (+ b) (+ scale (x A^T) B^T) as raw pointers.
struct LinearRef {
  const float *weight = nullptr; ///< [out, in]
  const float *bias = nullptr;   ///< [out] or null
  int64_t out = 0, in = 0;
  const float *loraA = nullptr; ///< [rank, in] or null
  const float *loraB = nullptr; ///< [out, rank]
  int64_t rank = 0;
  float scale = 0;
};

/// A parallel or bottleneck module (BlockAdapterDelta) as pointers.
struct BlockRef {
  LinearRef down, up;
  float scale = 1.0f;
  bool serial = false;
  int act = 0; ///< 0 relu, 1 gelu, 2 silu
};

struct LayerRef {
  const float *attnNormWeight = nullptr, *attnNormBias = nullptr;
  const float *mlpNormWeight = nullptr, *mlpNormBias = nullptr;
  LinearRef q, k, v, o, gate, up, down;
  std::vector<BlockRef> attnBlocks, mlpBlocks;
};

/// A model view checked and resolved to pointers.
struct ResolvedModel {
  const ModelConfig *config = nullptr;
  const float *embed = nullptr;    ///< [vocab, dim]
  const float *posEmbed = nullptr; ///< [ctx, dim] (GPT-2) or null
  const float *finalNormWeight = nullptr, *finalNormBias = nullptr;
  std::vector<LayerRef> layers;
  LinearRef head;
  int64_t maxRank = 0;        ///< largest LoRA rank (0 without LoRA)
  int64_t maxBlockHidden = 0; ///< widest parallel/bottleneck module
  /// Virtual tokens (ModelView::VirtualTokens): a step token with id -1-k is
  /// virtual slot k. prompt: [count, dim] (else its input is zeros);
  /// prefixKeys/Values: per layer [count, kv_dim] (else they are computed).
  int64_t virtualTokens = 0;
  const float *prompt = nullptr;
  std::vector<const float *> prefixKeys, prefixValues;
};

/// The linear layers of one layer with their names ("attn.q", ...); gate
/// is unset (null weight) in models without one.
std::array<std::pair<const char *, LinearRef *>, 7> namedLinears(LayerRef &L);
inline std::array<std::pair<const char *, const LinearRef *>, 7>
namedLinears(const LayerRef &L) {
  auto named = namedLinears(const_cast<LayerRef &>(L));
  std::array<std::pair<const char *, const LinearRef *>, 7> out;
  for (size_t i = 0; i < named.size(); ++i)
    out[i] = {named[i].first, named[i].second};
  return out;
}

/// Checks the config, the weights (checkModelWeights) and every LoRA delta
/// (known base linear, F32, A [r, in], B [out, r]).
llvm::Expected<ResolvedModel> resolveModel(const ModelView &model);

/// One token of a step.
struct StepToken {
  int32_t slot = 0;
  int32_t pos = 0; ///< position in the slot's sequence (< capacity)
  int32_t id = 0;  ///< token id (< vocab)
  /// Row of the logits buffer to receive this token's logits, or -1.
  int32_t logitsRow = -1;
};

class Decoder {
public:
  /// `maxStepTokens` bounds the tokens of one step, `maxLogitRows` the
  /// tokens of one step that ask for logits. The model must outlive the
  /// decoder; a null pool runs on the calling thread.
  Decoder(const ResolvedModel &model, int64_t slots, int64_t capacity,
          int64_t maxStepTokens, int64_t maxLogitRows,
          kernels::ThreadPool *pool);
  ~Decoder();
  Decoder(const Decoder &) = delete;
  Decoder &operator=(const Decoder &) = delete;

  /// Runs one step. Tokens of a slot must come in increasing positions, and
  /// every earlier position of the slot must already be in the cache (or in
  /// this step); logitsRow values must be distinct and < maxLogitRows.
  ///
  /// The first `decodeTokens` tokens are decode tokens (one per slot, its
  /// newest): their linear layers use rowGemm, the others' sgemm. A token
  /// always takes the path of its kind, so its result never depends on the
  /// rest of the step. Decode tokens' logits rows must come before the
  /// others'.
  void step(llvm::ArrayRef<StepToken> tokens, int64_t decodeTokens = 0);

  /// Logits of row `row` of the last step, [vocab].
  const float *logits(int64_t row) const;

  /// Copies cached positions [0, length) of every layer from one slot to
  /// another (samples of one prompt share its prefill).
  void copyPrefix(int64_t fromSlot, int64_t toSlot, int64_t length);

  /// Called with the T input rows [T, l.in] of every linear layer a step
  /// runs (CorDA's activation covariance); empty by default.
  std::function<void(const LinearRef &l, int64_t T, const float *x)>
      onLinearInput;

  /// Copies positions [0, length) of `slot`'s cached keys (after RoPE) and
  /// values in `layer` into two [length, kvHeads * headDim] arrays.
  void readCache(int64_t layer, int64_t slot, int64_t length, float *keys,
                 float *values) const;

  int64_t capacity() const { return cap; }
  int64_t slots() const { return numSlots; }
  int64_t vocab() const { return config.vocab; }

private:
  struct Buffers;

  void embed(llvm::ArrayRef<StepToken> tokens);
  void norm(int64_t T, const float *x, const float *weight, const float *bias,
            float *y) const;
  /// y (+)= x W^T + b + LoRA for T rows; rows [0, vectorRows) use rowGemm.
  void linear(const LinearRef &l, int64_t T, int64_t vectorRows, const float *x,
              float *y, bool accumulate);
  void rope(llvm::ArrayRef<StepToken> tokens, float *x, int64_t heads);
  void storeKv(int64_t layer, llvm::ArrayRef<StepToken> tokens);
  void attend(int64_t layer, llvm::ArrayRef<StepToken> tokens);
  void mlpActivation(int64_t T);
  /// Adds the sub-layer's modules to `out` (T rows), reading `in` (the
  /// normalised input) or, for serial ones, `out` itself.
  void blockAdapters(llvm::ArrayRef<BlockRef> blocks, int64_t T, int64_t D,
                     const float *in, float *out);
  void lmHead(llvm::ArrayRef<StepToken> tokens, int64_t decodeTokens);
  float *cacheK(int64_t layer, int64_t slot, int64_t kvHead) const;
  float *cacheV(int64_t layer, int64_t slot, int64_t kvHead) const;
  /// Runs fn(begin, end) over [0, n) on the pool when `work` (rough flop
  /// count) is worth waking the workers, else inline.
  void parallel(int64_t n, double work,
                llvm::function_ref<void(int64_t, int64_t)> fn) const;

  const ResolvedModel &model;
  const ModelConfig &config;
  int64_t numSlots, cap, maxTokens, maxLogits;
  kernels::ThreadPool *pool;
  int threads;
  kernels::KernelIsa isa;
  std::unique_ptr<Buffers> buf;
};

} // namespace ftl::rt::detail

#endif // FTL_GENERATE_DECODER_H
