//===- LinearKlDivTest.cpp - Fused LM heads + KL divergence tests ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The fused kernel against a naive double-precision KL over full logits, its
// backward against central finite differences of that reference, and the
// identities the `kl` loss relies on (equal models give exactly 0 and no
// gradient; weight-0 tokens take no part).
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/LinearKlDiv.h"

#include "TestUtil.h"

#include "gtest/gtest.h"

#include <cmath>
#include <vector>

using namespace ftl::kernels;
using namespace ftl::kernels::test;
using ftl::rt::Rng;

namespace {

struct KlProblem {
  KlShape shape;
  std::vector<float> hidden, weight, refHidden, refWeight, tokenWeights, grad;
};

/// Random problem; every fifth token has weight 0.
KlProblem makeProblem(int64_t T, int64_t D, int64_t RD, int64_t V,
                      int64_t chunk, uint64_t seed) {
  KlProblem p;
  p.shape = {T, D, RD, V, chunk};
  Rng rng(seed);
  p.hidden = randomVector(rng, T * D, 1.0f);
  p.weight = randomVector(rng, V * D, 1.0f);
  p.refHidden = randomVector(rng, T * RD, 1.0f);
  p.refWeight = randomVector(rng, V * RD, 1.0f);
  p.tokenWeights = randomVector(rng, T, 1.0f);
  for (int64_t t = 0; t < T; ++t)
    p.tokenWeights[t] = t % 5 == 4 ? 0.0f : 0.5f + std::fabs(p.tokenWeights[t]);
  p.grad = randomVector(rng, T, 1.0f);
  return p;
}

/// The kernel's forward: per-token KL and both log-sum-exps.
struct Forward {
  std::vector<float> kl, lse, refLse;
};
Forward runForward(const KlProblem &p) {
  const int64_t T = p.shape.tokens;
  Forward f{std::vector<float>(T), std::vector<float>(T),
            std::vector<float>(T)};
  linearKlForward(p.shape, p.hidden.data(), p.weight.data(), p.refHidden.data(),
                  p.refWeight.data(), p.tokenWeights.data(), f.kl.data(),
                  f.lse.data(), f.refLse.data());
  return f;
}

/// The kernel's backward with p.grad, into dHidden and (adding) dWeight.
void runBackward(const KlProblem &p, const Forward &f,
                 std::vector<float> &dHidden, std::vector<float> &dWeight) {
  linearKlBackward(p.shape, p.hidden.data(), p.weight.data(),
                   p.refHidden.data(), p.refWeight.data(),
                   p.tokenWeights.data(), p.grad.data(), f.lse.data(),
                   f.refLse.data(), dHidden.data(), dWeight.data());
}

std::vector<double> toDouble(const std::vector<float> &v) {
  return std::vector<double>(v.begin(), v.end());
}

/// Sum over tokens of grad[t] * kl[t], by the double reference.
double referenceObjective(const KlProblem &p, const std::vector<double> &h,
                          const std::vector<double> &w) {
  std::vector<double> kl(p.shape.tokens);
  auto rh = toDouble(p.refHidden), rw = toDouble(p.refWeight),
       tw = toDouble(p.tokenWeights);
  linearKlForwardReference(p.shape, h.data(), w.data(), rh.data(), rw.data(),
                           tw.data(), kl.data());
  double sum = 0;
  for (int64_t t = 0; t < p.shape.tokens; ++t)
    sum += p.grad[t] * kl[t];
  return sum;
}

TEST(LinearKlDiv, ForwardMatchesReference) {
  struct Dims {
    int64_t T, D, RD, V, chunk;
  } dims[] = {{1, 8, 8, 5, 0}, {17, 12, 20, 300, 64}, {9, 16, 16, 257, 257}};
  for (const Dims &d : dims) {
    KlProblem p = makeProblem(d.T, d.D, d.RD, d.V, d.chunk, 11 + d.V);
    Forward f = runForward(p);
    std::vector<double> want(d.T);
    auto h = toDouble(p.hidden), w = toDouble(p.weight),
         rh = toDouble(p.refHidden), rw = toDouble(p.refWeight),
         tw = toDouble(p.tokenWeights);
    linearKlForwardReference(p.shape, h.data(), w.data(), rh.data(), rw.data(),
                             tw.data(), want.data());
    for (int64_t t = 0; t < d.T; ++t) {
      EXPECT_NEAR(f.kl[t], want[t], 1e-4 * (1 + std::fabs(want[t])))
          << "token " << t << " V=" << d.V;
      if (p.tokenWeights[t] == 0.0f)
        EXPECT_EQ(f.kl[t], 0.0f);
      else
        EXPECT_GT(want[t], 0.0); // different random models
    }
  }
}

TEST(LinearKlDiv, BackwardMatchesFiniteDifferences) {
  KlProblem p = makeProblem(6, 5, 7, 40, 16, 3);
  const int64_t T = 6, D = 5, V = 40;
  Forward f = runForward(p);
  std::vector<float> dHidden(T * D, 123.0f), dWeight(V * D, 0.0f);
  runBackward(p, f, dHidden, dWeight);
  auto h = toDouble(p.hidden), w = toDouble(p.weight);
  const double eps = 1e-5;
  auto check = [&](std::vector<double> &x, const std::vector<float> &grad,
                   const char *what) {
    for (size_t i = 0; i < x.size(); ++i) {
      const double saved = x[i];
      x[i] = saved + eps;
      const double up = referenceObjective(p, h, w);
      x[i] = saved - eps;
      const double down = referenceObjective(p, h, w);
      x[i] = saved;
      const double want = (up - down) / (2 * eps);
      EXPECT_NEAR(grad[i], want, 2e-4 * (1 + std::fabs(want)))
          << what << "[" << i << "]";
    }
  };
  check(h, dHidden, "dHidden");
  check(w, dWeight, "dWeight");
}

TEST(LinearKlDiv, EqualModelsGiveExactlyZero) {
  KlProblem p = makeProblem(13, 16, 16, 100, 32, 5);
  p.refHidden = p.hidden;
  p.refWeight = p.weight;
  const int64_t T = 13, D = 16, V = 100;
  Forward f = runForward(p);
  for (int64_t t = 0; t < T; ++t)
    EXPECT_EQ(f.kl[t], 0.0f) << "token " << t;
  std::vector<float> dHidden(T * D, 1.0f), dWeight(V * D, 0.0f);
  runBackward(p, f, dHidden, dWeight);
  for (float g : dHidden)
    ASSERT_EQ(g, 0.0f);
  for (float g : dWeight)
    ASSERT_EQ(g, 0.0f);
}

TEST(LinearKlDiv, BackwardAccumulatesIntoDWeight) {
  KlProblem p = makeProblem(4, 6, 6, 30, 8, 9);
  const int64_t T = 4, D = 6, V = 30;
  Forward f = runForward(p);
  std::vector<float> dHidden(T * D), fresh(V * D, 0.0f), added(V * D, 2.5f);
  runBackward(p, f, dHidden, fresh);
  runBackward(p, f, dHidden, added);
  for (int64_t i = 0; i < V * D; ++i)
    EXPECT_FLOAT_EQ(added[i], fresh[i] + 2.5f);
}

} // namespace
