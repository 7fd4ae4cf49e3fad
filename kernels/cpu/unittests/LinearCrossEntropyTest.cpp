//===- LinearCrossEntropyTest.cpp - Fused LM head + CE tests --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/LinearCrossEntropy.h"

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

struct Problem {
  int64_t T, D, V;
  std::vector<float> hidden, weight, tokenWeights, grad;
  std::vector<int32_t> targets;
};

/// Random problem; about one token in six is ignored (target -1 or -100).
Problem makeProblem(int64_t T, int64_t D, int64_t V, uint64_t seed,
                    float scale = 1.0f) {
  Problem p{T, D, V, {}, {}, {}, {}, {}};
  Rng rng(seed);
  p.hidden = randomVector(rng, T * D, scale);
  p.weight = randomVector(rng, V * D, scale);
  p.tokenWeights = randomVector(rng, T, 1.0f);
  for (float &w : p.tokenWeights)
    w = 0.25f + std::fabs(w);
  p.grad = randomVector(rng, T, 1.0f);
  p.targets.resize(T);
  for (int64_t t = 0; t < T; ++t) {
    uint64_t r = rng.below(6);
    p.targets[t] =
        r == 0 ? (t % 2 ? -1 : -100) : static_cast<int32_t>(rng.below(V));
  }
  return p;
}

std::vector<KernelIsa> isas() {
  std::vector<KernelIsa> out = {KernelIsa::Scalar};
  if (kernelIsaSupported(KernelIsa::Avx512))
    out.push_back(KernelIsa::Avx512);
  return out;
}

void expectClose(const std::vector<float> &got, const std::vector<float> &want,
                 double relTol, const std::string &what) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 0;
  for (float w : want)
    scale = std::max(scale, static_cast<double>(std::fabs(w)));
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= relTol * (1 + scale))) {
      ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << ", want "
                    << want[i];
      ++failures;
    }
  }
}

TEST(LinearCrossEntropy, ForwardMatchesReference) {
  struct Dims {
    int64_t T, D, V, chunk;
  } dims[] = {{1, 8, 5, 0},        {17, 37, 1000, 256}, {33, 64, 1000, 1000},
              {40, 16, 777, 4096}, {64, 48, 3000, 512}, {5, 3, 70, 1}};
  for (KernelIsa isa : isas())
    for (const Dims &d : dims)
      for (bool weighted : {false, true}) {
        Problem p = makeProblem(d.T, d.D, d.V, 3);
        const float *w = weighted ? p.tokenWeights.data() : nullptr;
        std::vector<float> loss(d.T), lse(d.T), lp(d.T);
        std::vector<float> rl(d.T), rlse(d.T), rlp(d.T);
        linearCrossEntropyForward(
            d.T, d.D, d.V, p.hidden.data(), p.weight.data(), p.targets.data(),
            w, d.chunk, loss.data(), lse.data(), lp.data(), defaultPool(), isa);
        linearCrossEntropyForwardReference(d.T, d.D, d.V, p.hidden.data(),
                                           p.weight.data(), p.targets.data(), w,
                                           rl.data(), rlse.data(), rlp.data());
        std::string what =
            std::string(kernelIsaName(isa)) + " T=" + std::to_string(d.T) +
            " V=" + std::to_string(d.V) + " chunk=" + std::to_string(d.chunk);
        expectClose(loss, rl, 2e-6, what + " loss");
        expectClose(lse, rlse, 2e-6, what + " lse");
        expectClose(lp, rlp, 2e-6, what + " logProb");
        for (int64_t t = 0; t < d.T; ++t)
          if (p.targets[t] < 0) {
            EXPECT_EQ(loss[t], 0.0f);
            EXPECT_EQ(lp[t], 0.0f);
          }
      }
}

TEST(LinearCrossEntropy, UniformLogitsGiveLogV) {
  // Zero hidden states: every logit is 0, so lse = log V and the loss of a
  // token with weight w is w log V.
  const int64_t T = 9, D = 12, V = 1234;
  std::vector<float> hidden(T * D, 0.0f), weight(V * D, 0.5f);
  std::vector<int32_t> targets(T, 17);
  std::vector<float> tw(T, 2.0f), loss(T), lse(T), lp(T);
  linearCrossEntropyForward(T, D, V, hidden.data(), weight.data(),
                            targets.data(), tw.data(), 300, loss.data(),
                            lse.data(), lp.data());
  for (int64_t t = 0; t < T; ++t) {
    EXPECT_NEAR(lse[t], std::log(1234.0), 1e-5);
    EXPECT_NEAR(loss[t], 2 * std::log(1234.0), 2e-5);
    EXPECT_NEAR(lp[t], -std::log(1234.0), 1e-5);
  }
}

TEST(LinearCrossEntropy, LargeLogitsStayFinite) {
  for (KernelIsa isa : isas()) {
    Problem p = makeProblem(20, 32, 500, 8, 4.0f); // logits up to ~500
    std::vector<float> loss(20), lse(20), rl(20), rlse(20);
    linearCrossEntropyForward(p.T, p.D, p.V, p.hidden.data(), p.weight.data(),
                              p.targets.data(), nullptr, 128, loss.data(),
                              lse.data(), nullptr, defaultPool(), isa);
    linearCrossEntropyForwardReference(
        p.T, p.D, p.V, p.hidden.data(), p.weight.data(), p.targets.data(),
        nullptr, rl.data(), rlse.data(), nullptr);
    for (int t = 0; t < 20; ++t) {
      EXPECT_TRUE(std::isfinite(loss[t]));
      EXPECT_NEAR(lse[t], rlse[t], 1e-5 * (1 + std::fabs(rlse[t])));
      EXPECT_NEAR(loss[t], rl[t], 1e-5 * (1 + std::fabs(rlse[t])));
    }
  }
}

TEST(LinearCrossEntropy, BackwardMatchesReference) {
  struct Dims {
    int64_t T, D, V, chunk;
  } dims[] = {{17, 37, 1000, 256},
              {33, 64, 1000, 1000},
              {64, 48, 3000, 512},
              {5, 3, 70, 1}};
  for (KernelIsa isa : isas())
    for (const Dims &d : dims) {
      Problem p = makeProblem(d.T, d.D, d.V, 5);
      std::vector<float> loss(d.T), lse(d.T);
      linearCrossEntropyForward(d.T, d.D, d.V, p.hidden.data(), p.weight.data(),
                                p.targets.data(), p.tokenWeights.data(),
                                d.chunk, loss.data(), lse.data(), nullptr,
                                defaultPool(), isa);
      Rng rng(6);
      // dWeight is accumulated into: start from random values.
      std::vector<float> dW0 = randomVector(rng, d.V * d.D);
      std::vector<float> dH(d.T * d.D, NAN), dW = dW0;
      std::vector<float> rH(d.T * d.D), rW = dW0;
      linearCrossEntropyBackward(
          d.T, d.D, d.V, p.hidden.data(), p.weight.data(), p.targets.data(),
          p.tokenWeights.data(), d.chunk, p.grad.data(), lse.data(), dH.data(),
          dW.data(), defaultPool(), isa);
      linearCrossEntropyBackwardReference(
          d.T, d.D, d.V, p.hidden.data(), p.weight.data(), p.targets.data(),
          p.tokenWeights.data(), p.grad.data(), rH.data(), rW.data());
      std::string what = std::string(kernelIsaName(isa)) +
                         " T=" + std::to_string(d.T) +
                         " V=" + std::to_string(d.V);
      expectClose(dH, rH, 1e-5, what + " dHidden");
      expectClose(dW, rW, 1e-5, what + " dWeight");
      for (int64_t t = 0; t < d.T; ++t) {
        if (p.targets[t] >= 0)
          continue;
        for (int64_t k = 0; k < d.D; ++k)
          ASSERT_EQ(dH[t * d.D + k], 0.0f);
      }
    }
}

TEST(LinearCrossEntropy, BackwardMatchesFiniteDifferences) {
  const int64_t T = 11, D = 9, V = 300, chunk = 64;
  Problem p = makeProblem(T, D, V, 12);
  for (KernelIsa isa : isas()) {
    std::vector<float> loss(T), lse(T);
    linearCrossEntropyForward(T, D, V, p.hidden.data(), p.weight.data(),
                              p.targets.data(), p.tokenWeights.data(), chunk,
                              loss.data(), lse.data(), nullptr, defaultPool(),
                              isa);
    std::vector<float> dH(T * D), dW(V * D, 0.0f);
    linearCrossEntropyBackward(T, D, V, p.hidden.data(), p.weight.data(),
                               p.targets.data(), p.tokenWeights.data(), chunk,
                               p.grad.data(), lse.data(), dH.data(), dW.data(),
                               defaultPool(), isa);
    // L = sum_t grad[t] * loss[t], with the naive forward in double.
    std::vector<double> h(p.hidden.begin(), p.hidden.end()),
        w(p.weight.begin(), p.weight.end()),
        tw(p.tokenWeights.begin(), p.tokenWeights.end());
    auto lossOf = [&] {
      std::vector<double> l(T), s(T);
      linearCrossEntropyForwardReference(T, D, V, h.data(), w.data(),
                                         p.targets.data(), tw.data(), l.data(),
                                         s.data(), nullptr);
      double total = 0;
      for (int64_t t = 0; t < T; ++t)
        total += p.grad[t] * l[t];
      return total;
    };
    Rng pick(2);
    const double eps = 1e-5;
    for (int n = 0; n < 25; ++n) {
      for (int which = 0; which < 2; ++which) {
        std::vector<double> &x = which == 0 ? h : w;
        const std::vector<float> &g = which == 0 ? dH : dW;
        size_t idx = pick.below(x.size());
        double saved = x[idx];
        x[idx] = saved + eps;
        double up = lossOf();
        x[idx] = saved - eps;
        double down = lossOf();
        x[idx] = saved;
        double fd = (up - down) / (2 * eps);
        EXPECT_NEAR(g[idx], fd, 1e-4 * (1 + std::fabs(fd)))
            << kernelIsaName(isa) << (which == 0 ? " dHidden[" : " dWeight[")
            << idx << "]";
      }
    }
  }
}

TEST(LinearCrossEntropy, BitwiseIdenticalForAnyThreadCount) {
  const int64_t T = 150, D = 70, V = 2500, chunk = 1000;
  Problem p = makeProblem(T, D, V, 4);
  ThreadPool one(1), two(2), three(3);
  auto run = [&](ThreadPool *pool) {
    std::vector<float> out(3 * T + T * D + V * D, 0.0f);
    float *loss = out.data(), *lse = loss + T, *lp = lse + T, *dH = lp + T,
          *dW = dH + T * D;
    linearCrossEntropyForward(T, D, V, p.hidden.data(), p.weight.data(),
                              p.targets.data(), p.tokenWeights.data(), chunk,
                              loss, lse, lp, pool);
    linearCrossEntropyBackward(T, D, V, p.hidden.data(), p.weight.data(),
                               p.targets.data(), p.tokenWeights.data(), chunk,
                               p.grad.data(), lse, dH, dW, pool);
    return out;
  };
  std::vector<float> base = run(nullptr);
  for (ThreadPool *pool : {&one, &two, &three, defaultPool()})
    EXPECT_TRUE(bitwiseEqual(base, run(pool))) << pool->numThreads();
}

/// Peak bytes allocated while running forward + backward on a fresh thread
/// (fresh per-thread scratch), single-threaded.
int64_t peakExtraBytes(int64_t T, int64_t D, int64_t V, int64_t chunk) {
  Problem p = makeProblem(T, D, V, 1);
  std::vector<float> loss(T), lse(T), dH(T * D), dW(V * D, 0.0f);
  int64_t extra = 0;
  std::thread worker([&] {
    int64_t before = liveBytes();
    resetPeak();
    linearCrossEntropyForward(T, D, V, p.hidden.data(), p.weight.data(),
                              p.targets.data(), nullptr, chunk, loss.data(),
                              lse.data(), nullptr, nullptr);
    linearCrossEntropyBackward(T, D, V, p.hidden.data(), p.weight.data(),
                               p.targets.data(), nullptr, chunk, p.grad.data(),
                               lse.data(), dH.data(), dW.data(), nullptr);
    extra = peakBytes() - before;
  });
  worker.join();
  return extra;
}

TEST(LinearCrossEntropy, PeakMemoryIsPerChunkNotPerVocabulary) {
  const int64_t T = 256, D = 64, chunk = 512;
  int64_t small = peakExtraBytes(T, D, 4096, chunk);
  int64_t large = peakExtraBytes(T, D, 32768, chunk);
  // Scratch: the [T x chunk] logits block, per-token vectors and the GEMM's
  // two packed slabs (each at most (rows + 32) x 384 floats with rows <= T or
  // chunk), with the workspace's 25% growth slack.
  const int64_t bound =
      static_cast<int64_t>(
          4 * (T * chunk + 4 * T + 2 * (std::max(T, chunk) + 32) * 384) *
          1.25) +
      64 * 1024;
  EXPECT_LE(small, bound);
  EXPECT_LE(large, bound);
  EXPECT_EQ(small, large);
  // Materialized logits would need T * V floats: 32 MiB for V = 32768.
  EXPECT_LT(large, T * 32768 * 4 / 16);
}

TEST(LinearCrossEntropy, ValidateArguments) {
  std::vector<int32_t> targets = {0, 5, -1, 9};
  EXPECT_FALSE(static_cast<bool>(
      validateLinearCrossEntropyArgs(4, 8, 10, targets.data(), 0)));
  struct Bad {
    int64_t T, D, V, chunk;
    const char *expect;
  } bad[] = {
      {4, 8, 9, 0, "target 9 of token 3 is outside the vocabulary of 9"},
      {4, 8, 10, -2,
       "'chunk' must be positive (or 0 for the default 4096), "
       "found -2"},
      {-1, 8, 10, 0, "'T' must be non-negative, found -1"},
      {4, -8, 10, 0, "'D' must be non-negative, found -8"},
      {4, 8, 0, 0, "the vocabulary is empty"},
  };
  for (const Bad &b : bad) {
    llvm::Error err =
        validateLinearCrossEntropyArgs(b.T, b.D, b.V, targets.data(), b.chunk);
    ASSERT_TRUE(static_cast<bool>(err)) << b.expect;
    std::string message = llvm::toString(std::move(err));
    EXPECT_NE(message.find(b.expect), std::string::npos) << message;
  }
}

} // namespace
