//===- AttentionTest.cpp - Flash attention vs naive and finite differences ===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Attention.h"

#include "AllocTracker.h"
#include "TestUtil.h"

#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

using namespace ftl::kernels;
using namespace ftl::kernels::test;
using ftl::rt::Rng;

namespace {

struct Tensors {
  AttentionShape shape;
  std::vector<int32_t> seg;
  std::vector<float> q, k, v, dOut;
};

int64_t qSize(const AttentionShape &s) {
  return s.batch * s.seqLen * s.numHeads * s.headDim;
}
int64_t kvSize(const AttentionShape &s) {
  return s.batch * s.seqLen * s.numKvHeads * s.headDim;
}
int64_t lseSize(const AttentionShape &s) {
  return s.batch * s.numHeads * s.seqLen;
}

/// Documents of random lengths packed into each row when `segments`.
Tensors makeTensors(int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t D,
                    bool segments, uint64_t seed, float qScale = 1.0f) {
  Tensors t;
  t.shape.batch = B;
  t.shape.seqLen = T;
  t.shape.numHeads = H;
  t.shape.numKvHeads = KVH;
  t.shape.headDim = D;
  Rng rng(seed);
  if (segments) {
    t.seg.resize(B * T);
    for (int64_t b = 0; b < B; ++b) {
      int32_t id = 0;
      for (int64_t i = 0; i < T; ++i) {
        if (i > 0 && rng.below(23) == 0)
          ++id;
        t.seg[b * T + i] = id + 100 * static_cast<int32_t>(b);
      }
    }
    t.shape.segmentIds = t.seg.data();
  }
  t.q = randomVector(rng, qSize(t.shape), qScale);
  t.k = randomVector(rng, kvSize(t.shape));
  t.v = randomVector(rng, kvSize(t.shape));
  t.dOut = randomVector(rng, qSize(t.shape));
  return t;
}

std::string describe(const AttentionShape &s, KernelIsa isa) {
  return std::string(kernelIsaName(isa)) + " B=" + std::to_string(s.batch) +
         " T=" + std::to_string(s.seqLen) + " H=" + std::to_string(s.numHeads) +
         " KVH=" + std::to_string(s.numKvHeads) +
         " D=" + std::to_string(s.headDim) + (s.segmentIds ? " segments" : "");
}

double maxAbs(const std::vector<float> &v) {
  double m = 0;
  for (float x : v)
    m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

void expectClose(const std::vector<float> &got, const std::vector<float> &want,
                 double tol, const std::string &what) {
  ASSERT_EQ(got.size(), want.size());
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= tol)) {
      ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << ", want "
                    << want[i] << " (error " << err << " > " << tol << ")";
      ++failures;
    }
  }
}

std::vector<KernelIsa> isas() {
  std::vector<KernelIsa> out = {KernelIsa::Scalar};
  if (kernelIsaSupported(KernelIsa::Avx512))
    out.push_back(KernelIsa::Avx512);
  return out;
}

struct Dims {
  int64_t B, T, H, KVH, D;
  bool segments;
};

const Dims kShapes[] = {
    {1, 1, 1, 1, 16, false},   {2, 37, 2, 1, 16, false},
    {1, 64, 4, 2, 32, false},  {2, 100, 4, 2, 64, true},
    {1, 130, 6, 2, 32, true},  {1, 200, 3, 3, 16, false},
    {1, 129, 4, 1, 64, false}, {2, 65, 2, 2, 20, true},
};

TEST(Attention, ForwardMatchesReference) {
  for (KernelIsa isa : isas())
    for (const Dims &d : kShapes) {
      Tensors t = makeTensors(d.B, d.T, d.H, d.KVH, d.D, d.segments, 11);
      const AttentionShape &s = t.shape;
      std::vector<float> out(qSize(s)), lse(lseSize(s));
      std::vector<float> refOut(qSize(s)), refLse(lseSize(s));
      attentionForward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                       lse.data(), defaultPool(), isa);
      attentionForwardReference(s, t.q.data(), t.k.data(), t.v.data(),
                                refOut.data(), refLse.data());
      // out is a convex combination of values in [-1, 1].
      expectClose(out, refOut, 2e-6 * std::sqrt(double(d.T)) + 1e-6,
                  describe(s, isa) + " out");
      expectClose(lse, refLse, 1e-5 * (1 + maxAbs(refLse)),
                  describe(s, isa) + " lse");
    }
}

TEST(Attention, LargeScoresStayFinite) {
  for (KernelIsa isa : isas()) {
    // Scores around +-100: exp without max-shifting would overflow.
    Tensors t = makeTensors(1, 90, 2, 1, 32, true, 5, 30.0f);
    const AttentionShape &s = t.shape;
    std::vector<float> out(qSize(s)), lse(lseSize(s));
    std::vector<float> refOut(qSize(s)), refLse(lseSize(s));
    attentionForward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                     lse.data(), defaultPool(), isa);
    attentionForwardReference(s, t.q.data(), t.k.data(), t.v.data(),
                              refOut.data(), refLse.data());
    expectClose(out, refOut, 1e-4, describe(s, isa) + " out");
    expectClose(lse, refLse, 1e-5 * (1 + maxAbs(refLse)),
                describe(s, isa) + " lse");
  }
}

TEST(Attention, CustomScale) {
  Tensors t = makeTensors(1, 70, 2, 2, 16, false, 9);
  t.shape.scale = 0.7f;
  const AttentionShape &s = t.shape;
  std::vector<float> out(qSize(s)), lse(lseSize(s));
  std::vector<float> refOut(qSize(s)), refLse(lseSize(s));
  attentionForward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                   lse.data());
  attentionForwardReference(s, t.q.data(), t.k.data(), t.v.data(),
                            refOut.data(), refLse.data());
  expectClose(out, refOut, 1e-5, "scale 0.7 out");
  expectClose(lse, refLse, 1e-5 * (1 + maxAbs(refLse)), "scale 0.7 lse");
  // And the scale really matters.
  t.shape.scale = 0;
  std::vector<float> out2(qSize(s)), lse2(lseSize(s));
  attentionForward(t.shape, t.q.data(), t.k.data(), t.v.data(), out2.data(),
                   lse2.data());
  EXPECT_FALSE(bitwiseEqual(out, out2));
}

TEST(Attention, FirstTokenCopiesItsValue) {
  // Causal: token 0 sees only itself, so out = v and lse = its own score.
  Tensors t = makeTensors(1, 10, 2, 1, 16, false, 4);
  std::vector<float> out(qSize(t.shape)), lse(lseSize(t.shape));
  attentionForward(t.shape, t.q.data(), t.k.data(), t.v.data(), out.data(),
                   lse.data());
  for (int h = 0; h < 2; ++h) {
    double dot = 0;
    for (int d = 0; d < 16; ++d) {
      EXPECT_NEAR(out[h * 16 + d], t.v[d], 1e-6);
      dot += double(t.q[h * 16 + d]) * t.k[d];
    }
    EXPECT_NEAR(lse[h * 10], dot / 4.0, 1e-5);
  }
}

TEST(Attention, PackedDocumentsMatchSeparateRuns) {
  // Two documents packed in one row give the same outputs as each document
  // run on its own.
  const int64_t T1 = 70, T2 = 59, H = 4, KVH = 2, D = 32, T = T1 + T2;
  Tensors packed = makeTensors(1, T, H, KVH, D, false, 21);
  std::vector<int32_t> seg(T, 7);
  std::fill(seg.begin() + T1, seg.end(), 8);
  packed.shape.segmentIds = seg.data();
  std::vector<float> out(qSize(packed.shape)), lse(lseSize(packed.shape));
  attentionForward(packed.shape, packed.q.data(), packed.k.data(),
                   packed.v.data(), out.data(), lse.data());
  std::vector<float> dq(qSize(packed.shape)), dk(kvSize(packed.shape)),
      dv(kvSize(packed.shape));
  attentionBackward(packed.shape, packed.q.data(), packed.k.data(),
                    packed.v.data(), out.data(), packed.dOut.data(), lse.data(),
                    dq.data(), dk.data(), dv.data());

  for (int doc = 0; doc < 2; ++doc) {
    const int64_t start = doc == 0 ? 0 : T1, len = doc == 0 ? T1 : T2;
    AttentionShape s = packed.shape;
    s.seqLen = len;
    s.segmentIds = nullptr;
    auto slice = [&](const std::vector<float> &x, int64_t heads) {
      return std::vector<float>(x.begin() + start * heads * D,
                                x.begin() + (start + len) * heads * D);
    };
    std::vector<float> q = slice(packed.q, H), k = slice(packed.k, KVH),
                       v = slice(packed.v, KVH), g = slice(packed.dOut, H);
    std::vector<float> o(qSize(s)), l(lseSize(s));
    attentionForward(s, q.data(), k.data(), v.data(), o.data(), l.data());
    expectClose(slice(out, H), o, 1e-6, "doc out");
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < len; ++i)
        EXPECT_NEAR(lse[h * T + start + i], l[h * len + i], 1e-5);
    std::vector<float> gq(qSize(s)), gk(kvSize(s)), gv(kvSize(s));
    attentionBackward(s, q.data(), k.data(), v.data(), o.data(), g.data(),
                      l.data(), gq.data(), gk.data(), gv.data());
    expectClose(slice(dq, H), gq, 1e-5, "doc dq");
    expectClose(slice(dk, KVH), gk, 1e-5, "doc dk");
    expectClose(slice(dv, KVH), gv, 1e-5, "doc dv");
  }
}

TEST(Attention, GroupedQueryHeadsMatchRepeatedKv) {
  // H = 4 query heads over KVH = 2 kv heads equals KVH = 4 with each kv head
  // repeated for its two query heads; dk and dv then sum over the repeats.
  const int64_t B = 2, T = 77, H = 4, KVH = 2, D = 16;
  Tensors t = makeTensors(B, T, H, KVH, D, true, 31);
  AttentionShape wide = t.shape;
  wide.numKvHeads = H;
  std::vector<float> k4(B * T * H * D), v4(k4.size());
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t d = 0; d < D; ++d) {
        k4[(r * H + h) * D + d] = t.k[(r * KVH + h / 2) * D + d];
        v4[(r * H + h) * D + d] = t.v[(r * KVH + h / 2) * D + d];
      }
  std::vector<float> out(qSize(t.shape)), lse(lseSize(t.shape));
  std::vector<float> out4(out.size()), lse4(lse.size());
  attentionForward(t.shape, t.q.data(), t.k.data(), t.v.data(), out.data(),
                   lse.data());
  attentionForward(wide, t.q.data(), k4.data(), v4.data(), out4.data(),
                   lse4.data());
  expectClose(out, out4, 0, "gqa out");
  expectClose(lse, lse4, 0, "gqa lse");
  std::vector<float> dq(qSize(t.shape)), dk(kvSize(t.shape)),
      dv(kvSize(t.shape));
  std::vector<float> dq4(dq.size()), dk4(k4.size()), dv4(k4.size());
  attentionBackward(t.shape, t.q.data(), t.k.data(), t.v.data(), out.data(),
                    t.dOut.data(), lse.data(), dq.data(), dk.data(), dv.data());
  attentionBackward(wide, t.q.data(), k4.data(), v4.data(), out4.data(),
                    t.dOut.data(), lse4.data(), dq4.data(), dk4.data(),
                    dv4.data());
  expectClose(dq, dq4, 0, "gqa dq");
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t g = 0; g < KVH; ++g)
      for (int64_t d = 0; d < D; ++d) {
        float sumK =
            dk4[(r * H + 2 * g) * D + d] + dk4[(r * H + 2 * g + 1) * D + d];
        float sumV =
            dv4[(r * H + 2 * g) * D + d] + dv4[(r * H + 2 * g + 1) * D + d];
        EXPECT_NEAR(dk[(r * KVH + g) * D + d], sumK, 1e-6);
        EXPECT_NEAR(dv[(r * KVH + g) * D + d], sumV, 1e-6);
      }
}

TEST(Attention, BackwardMatchesReference) {
  for (KernelIsa isa : isas())
    for (const Dims &d : kShapes) {
      Tensors t = makeTensors(d.B, d.T, d.H, d.KVH, d.D, d.segments, 13);
      const AttentionShape &s = t.shape;
      std::vector<float> out(qSize(s)), lse(lseSize(s));
      attentionForward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                       lse.data(), defaultPool(), isa);
      std::vector<float> dq(qSize(s)), dk(kvSize(s)), dv(kvSize(s));
      std::vector<float> rq(qSize(s)), rk(kvSize(s)), rv(kvSize(s));
      attentionBackward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                        t.dOut.data(), lse.data(), dq.data(), dk.data(),
                        dv.data(), defaultPool(), isa);
      attentionBackwardReference(s, t.q.data(), t.k.data(), t.v.data(),
                                 t.dOut.data(), rq.data(), rk.data(),
                                 rv.data());
      double tol = 2e-6 * std::sqrt(double(d.T));
      expectClose(dq, rq, tol * (1 + maxAbs(rq)), describe(s, isa) + " dq");
      expectClose(dk, rk, tol * (1 + maxAbs(rk)), describe(s, isa) + " dk");
      expectClose(dv, rv, tol * (1 + maxAbs(rv)), describe(s, isa) + " dv");
    }
}

/// sum(out * w) of the naive forward in double.
double weightedLoss(const AttentionShape &s, const std::vector<double> &q,
                    const std::vector<double> &k, const std::vector<double> &v,
                    const std::vector<float> &w) {
  std::vector<double> out(qSize(s)), lse(lseSize(s));
  attentionForwardReference(s, q.data(), k.data(), v.data(), out.data(),
                            lse.data());
  double loss = 0;
  for (size_t i = 0; i < out.size(); ++i)
    loss += out[i] * w[i];
  return loss;
}

TEST(Attention, BackwardMatchesFiniteDifferences) {
  const Dims cases[] = {{1, 70, 4, 2, 16, true},
                        {2, 33, 2, 1, 32, false},
                        {1, 20, 2, 2, 64, true}};
  for (KernelIsa isa : isas())
    for (const Dims &d : cases) {
      Tensors t = makeTensors(d.B, d.T, d.H, d.KVH, d.D, d.segments, 17);
      const AttentionShape &s = t.shape;
      std::vector<float> out(qSize(s)), lse(lseSize(s));
      attentionForward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                       lse.data(), defaultPool(), isa);
      std::vector<float> dq(qSize(s)), dk(kvSize(s)), dv(kvSize(s));
      attentionBackward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                        t.dOut.data(), lse.data(), dq.data(), dk.data(),
                        dv.data(), defaultPool(), isa);
      std::vector<double> q(t.q.begin(), t.q.end()), k(t.k.begin(), t.k.end()),
          v(t.v.begin(), t.v.end());
      Rng pick(3);
      const double h = 1e-5;
      struct Which {
        std::vector<double> *x;
        const std::vector<float> *grad;
        const char *name;
      } which[] = {{&q, &dq, "dq"}, {&k, &dk, "dk"}, {&v, &dv, "dv"}};
      for (const Which &w : which)
        for (int n = 0; n < 12; ++n) {
          size_t idx = pick.below(w.x->size());
          double saved = (*w.x)[idx];
          (*w.x)[idx] = saved + h;
          double up = weightedLoss(s, q, k, v, t.dOut);
          (*w.x)[idx] = saved - h;
          double down = weightedLoss(s, q, k, v, t.dOut);
          (*w.x)[idx] = saved;
          double fd = (up - down) / (2 * h);
          EXPECT_NEAR((*w.grad)[idx], fd, 2e-4 * (1 + std::fabs(fd)))
              << describe(s, isa) << " " << w.name << "[" << idx << "]";
        }
    }
}

TEST(Attention, BitwiseIdenticalForAnyThreadCount) {
  ThreadPool one(1), two(2), three(3);
  for (KernelIsa isa : isas()) {
    Tensors t = makeTensors(2, 150, 4, 2, 32, true, 41);
    const AttentionShape &s = t.shape;
    auto run = [&](ThreadPool *pool, std::vector<float> &out,
                   std::vector<float> &lse, std::vector<float> &grads) {
      out.assign(qSize(s), 0);
      lse.assign(lseSize(s), 0);
      attentionForward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                       lse.data(), pool, isa);
      std::vector<float> dq(qSize(s)), dk(kvSize(s)), dv(kvSize(s));
      attentionBackward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                        t.dOut.data(), lse.data(), dq.data(), dk.data(),
                        dv.data(), pool, isa);
      grads = dq;
      grads.insert(grads.end(), dk.begin(), dk.end());
      grads.insert(grads.end(), dv.begin(), dv.end());
    };
    std::vector<float> o0, l0, g0;
    run(nullptr, o0, l0, g0);
    for (ThreadPool *pool : {&one, &two, &three, defaultPool()}) {
      std::vector<float> o, l, g;
      run(pool, o, l, g);
      EXPECT_TRUE(bitwiseEqual(o0, o)) << pool->numThreads();
      EXPECT_TRUE(bitwiseEqual(l0, l)) << pool->numThreads();
      EXPECT_TRUE(bitwiseEqual(g0, g)) << pool->numThreads();
    }
  }
}

/// Peak bytes allocated by forward + backward on a fresh thread (fresh
/// per-thread scratch), single-threaded.
int64_t peakExtraBytes(int64_t T, int64_t D) {
  Tensors t = makeTensors(1, T, 2, 1, D, false, 2);
  const AttentionShape &s = t.shape;
  std::vector<float> out(qSize(s)), lse(lseSize(s));
  std::vector<float> dq(qSize(s)), dk(kvSize(s)), dv(kvSize(s));
  int64_t extra = 0;
  std::thread worker([&] {
    int64_t before = liveBytes();
    resetPeak();
    attentionForward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                     lse.data(), nullptr);
    attentionBackward(s, t.q.data(), t.k.data(), t.v.data(), out.data(),
                      t.dOut.data(), lse.data(), dq.data(), dk.data(),
                      dv.data(), nullptr);
    extra = peakBytes() - before;
  });
  worker.join();
  return extra;
}

TEST(Attention, MemoryGrowsLinearlyWithLength) {
  const int64_t D = 64;
  int64_t small = peakExtraBytes(1024, D), large = peakExtraBytes(4096, D);
  // Scratch is O(T * D): nine [T x D] copies and accumulators plus small
  // tiles, with the workspace's 25% growth slack and its rounding of large
  // buffers to whole 2 MiB huge pages.
  auto bound = [&](int64_t T) {
    return static_cast<int64_t>(4 * (9 * D * (T + 64) + 4 * 64 * 64 + 3 * T) *
                                1.25) +
           (int64_t(2) << 20);
  };
  EXPECT_LE(small, bound(1024));
  EXPECT_LE(large, bound(4096));
  // 4x the length: 4x the memory (16x if a [T x T] matrix were stored).
  EXPECT_LT(large, 5 * small);
  EXPECT_LT(large, 4096 * 4096 * 4 / 4);
}

TEST(Attention, ValidateShape) {
  AttentionShape ok;
  ok.batch = 2;
  ok.seqLen = 10;
  ok.numHeads = 4;
  ok.numKvHeads = 2;
  ok.headDim = 16;
  EXPECT_FALSE(static_cast<bool>(validateAttentionShape(ok)));
  struct Bad {
    AttentionShape shape;
    const char *expect;
  };
  std::vector<Bad> bad;
  AttentionShape s = ok;
  s.numKvHeads = 3;
  bad.push_back({s, "'numHeads' (4) must be a multiple of 'numKvHeads' (3)"});
  s = ok;
  s.headDim = 0;
  bad.push_back({s, "'headDim' must be at least 1, found 0"});
  s = ok;
  s.numHeads = 0;
  bad.push_back({s, "'numHeads' must be at least 1, found 0"});
  s = ok;
  s.seqLen = -3;
  bad.push_back({s, "'seqLen' must be non-negative, found -3"});
  s = ok;
  s.scale = INFINITY;
  bad.push_back({s, "'scale' must be finite"});
  for (const Bad &b : bad) {
    llvm::Error err = validateAttentionShape(b.shape);
    ASSERT_TRUE(static_cast<bool>(err)) << b.expect;
    std::string message = llvm::toString(std::move(err));
    EXPECT_NE(message.find(b.expect), std::string::npos) << message;
  }
}

} // namespace
