//===- Attention.cpp - Causal flash attention driver ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Forward: one task per (batch, head, 64-query block). The block's queries
// are transposed once (Qt[d][i]); for each 64-key block up to the diagonal
// the task forms the transposed score tile S^T = K Qt, updates the running
// max / sum per query (online softmax, in base 2 with log2(e) folded into
// the score scale) and accumulates O = diag(corr) O + P V.
//
// Backward: one task per (batch, kv head), so that dk and dv of a kv head are
// owned by one thread (no atomics, fixed order). For each query head of the
// group it transposes Q and dO once, then for each key block j and each query
// block i >= j recomputes P from lse, and accumulates
//   dV_j += P^T dO_i,  dS = P * (dO_i V_j^T - delta_i),
//   dK_j += scale dS^T Q_i,  dQ_i += scale dS K_j.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Attention.h"

#include "llvm/Support/Error.h"

#include "AttentionKernels.h"
#include "Workspace.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace ftl::kernels;
using namespace ftl::kernels::detail;

namespace {

constexpr int64_t kBlockQ = 64; // queries per tile (columns of S^T)
constexpr int64_t kBlockK = 64; // keys per tile (rows of S^T)
constexpr double kLog2e = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;

struct Layout {
  int64_t B, T, H, KVH, D, group;
  int64_t qStride, kvStride; // row strides of q and k / v
  float scale;
  float scale2; // scale * log2(e): the tile primitives work in base 2
  const int32_t *seg;

  explicit Layout(const AttentionShape &s)
      : B(s.batch), T(s.seqLen), H(s.numHeads), KVH(s.numKvHeads), D(s.headDim),
        group(s.numHeads / s.numKvHeads), qStride(s.numHeads * s.headDim),
        kvStride(s.numKvHeads * s.headDim), scale(s.effectiveScale()),
        scale2(static_cast<float>(s.effectiveScale() * kLog2e)),
        seg(s.segmentIds) {}

  int64_t qRow(int64_t b, int64_t t, int64_t h) const {
    return (b * T + t) * qStride + h * D;
  }
  int64_t kvRow(int64_t b, int64_t t, int64_t kvh) const {
    return (b * T + t) * kvStride + kvh * D;
  }
};

enum class TileKind { Skip, Full, Masked };

/// How the tile of queries [i0, i1) x keys [j0, j1) of batch row b is masked;
/// fills `mask` for Masked tiles.
TileKind classifyTile(const Layout &L, int64_t b, int64_t i0, int64_t i1,
                      int64_t j0, int64_t j1, TileMask &mask) {
  mask = TileMask();
  if (j0 > i1 - 1)
    return TileKind::Skip;
  bool needCausal = j1 - 1 > i0;
  bool needSeg = false;
  if (L.seg) {
    const int32_t *s = L.seg + b * L.T;
    auto [qMin, qMax] = std::minmax_element(s + i0, s + i1);
    auto [kMin, kMax] = std::minmax_element(s + j0, s + j1);
    if (*kMax < *qMin || *kMin > *qMax)
      return TileKind::Skip;
    needSeg = !(*qMin == *qMax && *kMin == *kMax && *qMin == *kMin);
    if (needSeg) {
      mask.qseg = s + i0;
      mask.kseg = s + j0;
    }
  }
  if (!needCausal && !needSeg)
    return TileKind::Full;
  mask.causal = needCausal;
  mask.q0 = i0;
  mask.k0 = j0;
  return TileKind::Masked;
}

/// dst[r * D + d] = src[r * srcStride + d] for r < rows.
void copyRows(const float *src, int64_t srcStride, int64_t rows, int64_t D,
              float *dst) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * D, src + r * srcStride, D * sizeof(float));
}

/// dst[r * dstStride + d] = src[r * D + d] for r < rows.
void storeRows(const float *src, int64_t rows, int64_t D, float *dst,
               int64_t dstStride) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * dstStride, src + r * D, D * sizeof(float));
}

void forwardTask(const AttentionKernels &K, const Layout &L, const float *q,
                 const float *k, const float *v, float *out, float *lse,
                 int64_t b, int64_t h, int64_t i0) {
  const int64_t i1 = std::min(L.T, i0 + kBlockQ);
  const int64_t n = i1 - i0;
  const int64_t kvh = h / L.group;
  const int64_t D = L.D;
  float *ws = workspace(WorkspaceSlot::Attention,
                        D * kBlockQ + kBlockK * kBlockQ + kBlockQ * D +
                            3 * kBlockQ + kBlockK * D);
  float *qt = ws;                   // D x kBlockQ
  float *s = qt + D * kBlockQ;      // kBlockK x kBlockQ
  float *o = s + kBlockK * kBlockQ; // kBlockQ x D
  float *m = o + kBlockQ * D;       // kBlockQ
  float *l = m + kBlockQ;
  float *corr = l + kBlockQ;
  float *vj = corr + kBlockQ; // kBlockK x D, contiguous copy of a V tile

  K.transpose(q + L.qRow(b, i0, h), L.qStride, n, D, qt, kBlockQ);
  std::fill(m, m + n, -std::numeric_limits<float>::infinity());
  std::fill(l, l + n, 0.0f);
  std::fill(o, o + n * D, 0.0f);

  for (int64_t j0 = 0; j0 < i1; j0 += kBlockK) {
    const int64_t j1 = std::min(i1, j0 + kBlockK);
    TileMask mask;
    TileKind kind = classifyTile(L, b, i0, i1, j0, j1, mask);
    if (kind == TileKind::Skip)
      continue;
    const int64_t rows = j1 - j0;
    K.tileGemm(rows, n, D, 1.0f, k + L.kvRow(b, j0, kvh), L.kvStride, 1, qt,
               kBlockQ, s, kBlockQ, false, nullptr);
    K.softmaxForward(rows, n, s, kBlockQ, L.scale2,
                     kind == TileKind::Masked ? &mask : nullptr, m, l, corr);
    // O = diag(corr) O + P V.
    // The V tile is read once per 6 rows of P: copy it out of its strided
    // rows first, which would map onto few L1 sets.
    copyRows(v + L.kvRow(b, j0, kvh), L.kvStride, rows, D, vj);
    K.tileGemm(n, D, rows, 1.0f, s, 1, kBlockQ, vj, D, o, D, true, corr);
  }
  for (int64_t i = 0; i < n; ++i) {
    // Every query attends at least to itself, so l > 0.
    const float inv = 1.0f / l[i];
    float *dst = out + L.qRow(b, i0 + i, h);
    for (int64_t d = 0; d < D; ++d)
      dst[d] = o[i * D + d] * inv;
    lse[(b * L.H + h) * L.T + i0 + i] = static_cast<float>(
        kLn2 * (static_cast<double>(m[i]) + std::log2(l[i])));
  }
}

void backwardTask(const AttentionKernels &K, const Layout &L, const float *q,
                  const float *k, const float *v, const float *out,
                  const float *dOut, const float *lse, float *dq, float *dk,
                  float *dv, int64_t b, int64_t kvh) {
  const int64_t T = L.T, D = L.D;
  const int64_t queryBlocks = (T + kBlockQ - 1) / kBlockQ;
  // Every operand is first copied into a contiguous buffer: the strided rows
  // of [B, T, H, D] tensors map onto few L1 sets and would thrash.
  const int64_t td = T * D, tdBlocks = queryBlocks * kBlockQ * D;
  float *ws = workspace(WorkspaceSlot::Attention,
                        7 * td + 2 * tdBlocks + 2 * T + 2 * kBlockK * kBlockQ +
                            queryBlocks);
  float *kc = ws;                // [T, D] keys of this kv head
  float *vc = kc + td;           // [T, D] values
  float *dkc = vc + td;          // [T, D] dK accumulator
  float *dvc = dkc + td;         // [T, D] dV accumulator
  float *qc = dvc + td;          // [T, D] queries of the current head
  float *doc = qc + td;          // [T, D] dO of the current head
  float *dqc = doc + td;         // [T, D] dQ accumulator
  float *qt = dqc + td;          // per query block: [D, kBlockQ] transposed q
  float *dot = qt + tdBlocks;    // per query block: [D, kBlockQ] of dO
  float *delta = dot + tdBlocks; // [T]
  float *lse2 = delta + T;       // [T]: lse * log2(e)
  float *s = lse2 + T;           // [kBlockK, kBlockQ]
  float *dp = s + kBlockK * kBlockQ;
  // Whether dQ of a query block has received its first contribution (which
  // overwrites instead of adding, so no zeroing pass is needed).
  float *dqStarted = dp + kBlockK * kBlockQ;

  copyRows(k + L.kvRow(b, 0, kvh), L.kvStride, T, D, kc);
  copyRows(v + L.kvRow(b, 0, kvh), L.kvStride, T, D, vc);

  for (int64_t g = 0; g < L.group; ++g) {
    const int64_t h = kvh * L.group + g;
    copyRows(q + L.qRow(b, 0, h), L.qStride, T, D, qc);
    copyRows(dOut + L.qRow(b, 0, h), L.qStride, T, D, doc);
    for (int64_t i0 = 0; i0 < T; i0 += kBlockQ) {
      const int64_t n = std::min(kBlockQ, T - i0);
      K.transpose(qc + i0 * D, D, n, D, qt + i0 * D, kBlockQ);
      K.transpose(doc + i0 * D, D, n, D, dot + i0 * D, kBlockQ);
    }
    K.rowDots(out + L.qRow(b, 0, h), dOut + L.qRow(b, 0, h), L.qStride, T, D,
              delta);
    const float *lseRow = lse + (b * L.H + h) * T;
    for (int64_t t = 0; t < T; ++t)
      lse2[t] = static_cast<float>(lseRow[t] * kLog2e);
    std::fill(dqStarted, dqStarted + queryBlocks, 0.0f);

    for (int64_t j0 = 0; j0 < T; j0 += kBlockK) {
      const int64_t j1 = std::min(T, j0 + kBlockK);
      const int64_t rows = j1 - j0;
      const float *kj = kc + j0 * D;
      const float *vj = vc + j0 * D;
      float *dkj = dkc + j0 * D;
      float *dvj = dvc + j0 * D;
      for (int64_t i0 = j0 / kBlockQ * kBlockQ; i0 < T; i0 += kBlockQ) {
        const int64_t i1 = std::min(T, i0 + kBlockQ);
        const int64_t n = i1 - i0;
        TileMask mask;
        TileKind kind = classifyTile(L, b, i0, i1, j0, j1, mask);
        if (kind == TileKind::Skip)
          continue;
        K.tileGemm(rows, n, D, 1.0f, kj, D, 1, qt + i0 * D, kBlockQ, s, kBlockQ,
                   false, nullptr);
        K.tileGemm(rows, n, D, 1.0f, vj, D, 1, dot + i0 * D, kBlockQ, dp,
                   kBlockQ, false, nullptr);
        K.softmaxBackward(rows, n, s, dp, kBlockQ, L.scale2,
                          kind == TileKind::Masked ? &mask : nullptr, lse2 + i0,
                          delta + i0);
        // The diagonal tile (i0 == j0) comes first for every key block and
        // is never skipped; for the group's first head it initializes dK_j
        // and dV_j.
        const bool kvStarted = g > 0 || i0 != j0;
        K.tileGemm(rows, D, n, 1.0f, s, kBlockQ, 1, doc + i0 * D, D, dvj, D,
                   kvStarted, nullptr);
        K.tileGemm(rows, D, n, L.scale, dp, kBlockQ, 1, qc + i0 * D, D, dkj, D,
                   kvStarted, nullptr);
        float &started = dqStarted[i0 / kBlockQ];
        K.tileGemm(n, D, rows, L.scale, dp, 1, kBlockQ, kj, D, dqc + i0 * D, D,
                   started != 0.0f, nullptr);
        started = 1.0f;
      }
    }
    storeRows(dqc, T, D, dq + L.qRow(b, 0, h), L.qStride);
  }
  storeRows(dkc, T, D, dk + L.kvRow(b, 0, kvh), L.kvStride);
  storeRows(dvc, T, D, dv + L.kvRow(b, 0, kvh), L.kvStride);
}

} // namespace

float AttentionShape::effectiveScale() const {
  return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(headDim));
}

llvm::Error ftl::kernels::validateAttentionShape(const AttentionShape &s) {
  auto err = [](const char *what, int64_t found, const char *expected) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "attention: '%s' must be %s, found %lld",
                                   what, expected,
                                   static_cast<long long>(found));
  };
  if (s.batch < 0)
    return err("batch", s.batch, "non-negative");
  if (s.seqLen < 0)
    return err("seqLen", s.seqLen, "non-negative");
  if (s.numHeads < 1)
    return err("numHeads", s.numHeads, "at least 1");
  if (s.numKvHeads < 1)
    return err("numKvHeads", s.numKvHeads, "at least 1");
  if (s.headDim < 1)
    return err("headDim", s.headDim, "at least 1");
  if (s.numHeads % s.numKvHeads != 0)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "attention: 'numHeads' (%lld) must be a multiple of 'numKvHeads' "
        "(%lld)",
        static_cast<long long>(s.numHeads),
        static_cast<long long>(s.numKvHeads));
  if (!std::isfinite(s.scale))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "attention: 'scale' must be finite (0 for 1/sqrt(headDim)), found %g",
        static_cast<double>(s.scale));
  return llvm::Error::success();
}

void ftl::kernels::attentionForward(const AttentionShape &shape, const float *q,
                                    const float *k, const float *v, float *out,
                                    float *lse, ThreadPool *pool,
                                    KernelIsa isa) {
  if (shape.batch <= 0 || shape.seqLen <= 0)
    return;
  const AttentionKernels &K = attentionKernelsFor(isa);
  Layout L(shape);
  const int64_t blocks = (L.T + kBlockQ - 1) / kBlockQ;
  const int64_t tasks = L.B * L.H * blocks;
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t blk = t % blocks, bh = t / blocks;
      forwardTask(K, L, q, k, v, out, lse, bh / L.H, bh % L.H, blk * kBlockQ);
    }
  };
  if (pool)
    pool->parallelFor(tasks, body);
  else
    body(0, tasks);
}

void ftl::kernels::attentionBackward(const AttentionShape &shape,
                                     const float *q, const float *k,
                                     const float *v, const float *out,
                                     const float *dOut, const float *lse,
                                     float *dq, float *dk, float *dv,
                                     ThreadPool *pool, KernelIsa isa) {
  if (shape.batch <= 0 || shape.seqLen <= 0)
    return;
  const AttentionKernels &K = attentionKernelsFor(isa);
  Layout L(shape);
  const int64_t tasks = L.B * L.KVH;
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      backwardTask(K, L, q, k, v, out, dOut, lse, dq, dk, dv, t / L.KVH,
                   t % L.KVH);
  };
  if (pool)
    pool->parallelFor(tasks, body);
  else
    body(0, tasks);
}
