//===- Attention.cpp - Causal flash attention driver ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Forward: one task per (batch, head, 64-query block). The block's queries
// are transposed once (Qt[d][i]); for each 64-key block up to the diagonal
// the task forms the transposed score tile S^T = K Qt, updates the running
// max / sum per query (online softmax) and accumulates O += P V.
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

struct Layout {
  int64_t B, T, H, KVH, D, group;
  int64_t qStride, kvStride; // row strides of q and k / v
  float scale;
  const int32_t *seg;

  explicit Layout(const AttentionShape &s)
      : B(s.batch), T(s.seqLen), H(s.numHeads), KVH(s.numKvHeads), D(s.headDim),
        group(s.numHeads / s.numKvHeads), qStride(s.numHeads * s.headDim),
        kvStride(s.numKvHeads * s.headDim), scale(s.effectiveScale()),
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

/// dst[d * ldd + i] = src[i * srcStride + d] for i < rows, d < D.
void transposeRows(const float *src, int64_t srcStride, int64_t rows, int64_t D,
                   float *dst, int64_t ldd) {
  constexpr int64_t kStep = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += kStep) {
    int64_t i1 = std::min(rows, i0 + kStep);
    for (int64_t d = 0; d < D; ++d)
      for (int64_t i = i0; i < i1; ++i)
        dst[d * ldd + i] = src[i * srcStride + d];
  }
}

void forwardTask(const AttentionKernels &K, const Layout &L, const float *q,
                 const float *k, const float *v, float *out, float *lse,
                 int64_t b, int64_t h, int64_t i0) {
  const int64_t i1 = std::min(L.T, i0 + kBlockQ);
  const int64_t n = i1 - i0;
  const int64_t kvh = h / L.group;
  const int64_t D = L.D;
  float *ws =
      workspace(WorkspaceSlot::Attention,
                D * kBlockQ + kBlockK * kBlockQ + kBlockQ * D + 3 * kBlockQ);
  float *qt = ws;                   // D x kBlockQ
  float *s = qt + D * kBlockQ;      // kBlockK x kBlockQ
  float *o = s + kBlockK * kBlockQ; // kBlockQ x D
  float *m = o + kBlockQ * D;       // kBlockQ
  float *l = m + kBlockQ;
  float *corr = l + kBlockQ;

  transposeRows(q + L.qRow(b, i0, h), L.qStride, n, D, qt, kBlockQ);
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
               kBlockQ, s, kBlockQ, false);
    K.softmaxForward(rows, n, s, kBlockQ, L.scale,
                     kind == TileKind::Masked ? &mask : nullptr, m, l, corr);
    for (int64_t i = 0; i < n; ++i)
      if (corr[i] != 1.0f)
        for (int64_t d = 0; d < D; ++d)
          o[i * D + d] *= corr[i];
    K.tileGemm(n, D, rows, 1.0f, s, 1, kBlockQ, v + L.kvRow(b, j0, kvh),
               L.kvStride, o, D, true);
  }
  for (int64_t i = 0; i < n; ++i) {
    // Every query attends at least to itself, so l > 0.
    const float inv = 1.0f / l[i];
    float *dst = out + L.qRow(b, i0 + i, h);
    for (int64_t d = 0; d < D; ++d)
      dst[d] = o[i * D + d] * inv;
    lse[(b * L.H + h) * L.T + i0 + i] = m[i] + std::log(l[i]);
  }
}

void backwardTask(const AttentionKernels &K, const Layout &L, const float *q,
                  const float *k, const float *v, const float *out,
                  const float *dOut, const float *lse, float *dq, float *dk,
                  float *dv, int64_t b, int64_t kvh) {
  const int64_t T = L.T, D = L.D;
  for (int64_t t = 0; t < T; ++t) {
    std::fill_n(dk + L.kvRow(b, t, kvh), D, 0.0f);
    std::fill_n(dv + L.kvRow(b, t, kvh), D, 0.0f);
  }
  float *ws = workspace(WorkspaceSlot::Attention,
                        2 * D * T + T + 2 * kBlockK * kBlockQ);
  float *qt = ws;             // D x T
  float *dot = qt + D * T;    // D x T
  float *delta = dot + D * T; // T
  float *s = delta + T;       // kBlockK x kBlockQ
  float *dp = s + kBlockK * kBlockQ;

  for (int64_t g = 0; g < L.group; ++g) {
    const int64_t h = kvh * L.group + g;
    for (int64_t t = 0; t < T; ++t)
      std::fill_n(dq + L.qRow(b, t, h), D, 0.0f);
    transposeRows(q + L.qRow(b, 0, h), L.qStride, T, D, qt, T);
    transposeRows(dOut + L.qRow(b, 0, h), L.qStride, T, D, dot, T);
    for (int64_t t = 0; t < T; ++t) {
      const float *o = out + L.qRow(b, t, h);
      const float *dO = dOut + L.qRow(b, t, h);
      float sum = 0.0f;
      for (int64_t d = 0; d < D; ++d)
        sum += o[d] * dO[d];
      delta[t] = sum;
    }
    const float *lseRow = lse + (b * L.H + h) * T;

    for (int64_t j0 = 0; j0 < T; j0 += kBlockK) {
      const int64_t j1 = std::min(T, j0 + kBlockK);
      const int64_t rows = j1 - j0;
      const float *kj = k + L.kvRow(b, j0, kvh);
      const float *vj = v + L.kvRow(b, j0, kvh);
      float *dkj = dk + L.kvRow(b, j0, kvh);
      float *dvj = dv + L.kvRow(b, j0, kvh);
      for (int64_t i0 = j0 / kBlockQ * kBlockQ; i0 < T; i0 += kBlockQ) {
        const int64_t i1 = std::min(T, i0 + kBlockQ);
        const int64_t n = i1 - i0;
        TileMask mask;
        TileKind kind = classifyTile(L, b, i0, i1, j0, j1, mask);
        if (kind == TileKind::Skip)
          continue;
        K.tileGemm(rows, n, D, 1.0f, kj, L.kvStride, 1, qt + i0, T, s, kBlockQ,
                   false);
        K.tileGemm(rows, n, D, 1.0f, vj, L.kvStride, 1, dot + i0, T, dp,
                   kBlockQ, false);
        K.softmaxBackward(rows, n, s, dp, kBlockQ, L.scale,
                          kind == TileKind::Masked ? &mask : nullptr,
                          lseRow + i0, delta + i0);
        K.tileGemm(rows, D, n, 1.0f, s, kBlockQ, 1, dOut + L.qRow(b, i0, h),
                   L.qStride, dvj, L.kvStride, true);
        K.tileGemm(rows, D, n, L.scale, dp, kBlockQ, 1, q + L.qRow(b, i0, h),
                   L.qStride, dkj, L.kvStride, true);
        K.tileGemm(n, D, rows, L.scale, dp, 1, kBlockQ, kj, L.kvStride,
                   dq + L.qRow(b, i0, h), L.qStride, true);
      }
    }
  }
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
