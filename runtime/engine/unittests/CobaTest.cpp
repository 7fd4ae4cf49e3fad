//===- CobaTest.cpp - Convergence-based task weights ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// CoBa's weights against values worked out by hand from its definition
// (Coba.h), and METHODS.md's test: the weights sum to 1 and respect the
// 1/(10K) floor.
//
//===----------------------------------------------------------------------===//

#include "../lib/Coba.h"
#include "../lib/TermScales.h"

#include "gtest/gtest.h"

#include <cmath>
#include <numeric>

using namespace ftl::rt;

namespace {

TEST(Coba, LeastSquaresSlope) {
  EXPECT_DOUBLE_EQ(leastSquaresSlope({3.0, 1.0, -1.0, -3.0}), -2.0);
  EXPECT_DOUBLE_EQ(leastSquaresSlope({5.0}), 0.0);
  EXPECT_DOUBLE_EQ(leastSquaresSlope({}), 0.0);
  // Points 0, 2, 1: x mean 1, y mean 1, sxy = (-1)(-1) + 0 + (1)(0) = 1,
  // sxx = 2.
  EXPECT_DOUBLE_EQ(leastSquaresSlope({0.0, 2.0, 1.0}), 0.5);
}

TEST(Coba, UniformBeforeWarmup) {
  CobaBalancer coba(3, {/*warmup=*/5, /*history=*/10, /*every=*/1, 5.0});
  coba.observe(0, {1.0, 2.0, 3.0});
  for (int64_t step = 1; step < 5; ++step) {
    coba.observe(step, {1.0 / double(step + 1), 2.0, 3.0 + double(step)});
    for (double w : coba.weights())
      EXPECT_DOUBLE_EQ(w, 1.0 / 3);
  }
}

// Two tasks, warmup 1. Losses before training (2, 4) and after step 1
// (1, 4): normalised histories A = [1, 0.5], B = [1, 1]. Slopes -0.5 and 0,
// so RCS = softmax(2 * (-0.5 / 0.5), 0) = softmax(-2, 0). Each task has one
// slope: ACS = softmax(-1 * -0.5 / 0.5, 0) = softmax(1, 0). The per-step
// maximum [1, 1] has slope 0, so DF = 1 * softmax([0])[0] = 1 and the
// weights are softmax(2 * RCS).
TEST(Coba, FirstUpdateByHand) {
  CobaBalancer coba(2, {/*warmup=*/1, /*history=*/10, /*every=*/1, 5.0});
  coba.observe(0, {2.0, 4.0});
  coba.observe(1, {1.0, 4.0});
  const double rcsA = 1 / (1 + std::exp(2.0)), rcsB = 1 - rcsA;
  const double wA = 1 / (1 + std::exp(2 * (rcsB - rcsA)));
  EXPECT_NEAR(coba.weights()[0], wA, 1e-12);
  EXPECT_NEAR(coba.weights()[1], 1 - wA, 1e-12);
  EXPECT_DOUBLE_EQ(coba.lastDivergenceFactor(), 1.0);
  EXPECT_DOUBLE_EQ(coba.lastSlopes()[0], -0.5);
  // The task that converges more slowly gets more weight.
  EXPECT_GT(coba.weights()[1], coba.weights()[0]);
}

// A second update: A = [1, 0.5, 0.25], B = [1, 1, 1.5]. Slopes -0.375 and
// 0.25; RCS = softmax(2 * (-0.375, 0.25) / 0.625) = softmax(-1.2, 0.8). A's
// slopes [-0.5, -0.375]: ACS logit -2 * -0.375 / 0.875; B's [0, 0.25]:
// -2 * 0.25 / 0.25 = -2. The maxima [1, 1, 1.5] have slope 0.25, after 0:
// DF = 2 * softmax(-5 * 2 * (0, 0.25) / 0.25)[1] = 2 * softmax(0, -10)[1].
TEST(Coba, SecondUpdateByHand) {
  CobaBalancer coba(2, {/*warmup=*/1, /*history=*/10, /*every=*/1, 5.0});
  coba.observe(0, {2.0, 4.0});
  coba.observe(1, {1.0, 4.0});
  coba.observe(2, {0.5, 6.0});
  auto sm2 = [](double a, double b) {
    double ea = std::exp(a), eb = std::exp(b);
    return std::pair<double, double>{ea / (ea + eb), eb / (ea + eb)};
  };
  auto [rcsA, rcsB] = sm2(-1.2, 0.8);
  auto [acsA, acsB] = sm2(2 * 0.375 / 0.875, -2.0);
  double df = 2 * sm2(0.0, -10.0).second;
  EXPECT_NEAR(coba.lastDivergenceFactor(), df, 1e-12);
  auto [wA, wB] =
      sm2(2 * (df * rcsA + (1 - df) * acsA), 2 * (df * rcsB + (1 - df) * acsB));
  EXPECT_NEAR(coba.weights()[0], wA, 1e-12);
  EXPECT_NEAR(coba.weights()[1], wB, 1e-12);
}

// A divergence factor of 2 can push a weight under the floor 1/(10K):
// logits 2 * (2 * 1 - 1 * 0, 2 * 0 - 1 * 1) = (4, -2), softmax gives
// (1 - e, e) with e = 1 / (1 + e^6), then 0.9 w + 0.05.
TEST(Coba, FloorHolds) {
  std::vector<double> w = combineCobaScores({1.0, 0.0}, {0.0, 1.0}, 2.0);
  const double e = 1 / (1 + std::exp(6.0));
  EXPECT_NEAR(w[0], 0.9 * (1 - e) + 0.05, 1e-12);
  EXPECT_NEAR(w[1], 0.9 * e + 0.05, 1e-12);
  EXPECT_NEAR(w[0] + w[1], 1.0, 1e-12);
}

// METHODS.md: over long, uneven runs the weights always sum to 1 and stay at
// or above the floor.
TEST(Coba, WeightsSumToOneAboveTheFloor) {
  for (size_t tasks : {2u, 3u, 7u}) {
    CobaBalancer coba(tasks, {/*warmup=*/3, /*history=*/6, /*every=*/1, 5.0});
    for (int64_t step = 0; step <= 60; ++step) {
      std::vector<double> losses(tasks);
      for (size_t k = 0; k < tasks; ++k)
        losses[k] = 2.0 + std::sin(0.3 * double(step * (k + 1))) +
                    (k % 2 ? 0.05 : -0.03) * double(step);
      coba.observe(step, losses);
      const std::vector<double> &w = coba.weights();
      EXPECT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 1.0, 1e-12);
      for (double v : w)
        EXPECT_GE(v, 1 / (10.0 * double(tasks)) - 1e-12);
    }
  }
}

// The loss of a coba group is sum_k w_k c_k L_k / sum_{k present} w_k c_k,
// L_k task k's mean token loss: term k's scale is c_k / (N_k sum w c).
TEST(Coba, TermScalesUseTheWeights) {
  std::vector<TermSpec> specs(3);
  for (TermSpec &t : specs) {
    t.group = 0;
    t.balance = "coba";
  }
  specs[0].dynamicWeight = 0.2;
  specs[1].dynamicWeight = 0.5;
  specs[2].dynamicWeight = 0.3;
  specs[1].weight = 2; // a constant weight written in the objective
  std::vector<TermTotals> totals(3);
  totals[0].weight = totals[0].supervised = 10;
  totals[1].weight = totals[1].supervised = 40;
  // Task 2 is absent from this step: left out of the normaliser.
  std::vector<float> scales = computeTermScales(specs, totals, 1);
  const double norm = 1 * 0.2 + 2 * 0.5;
  EXPECT_FLOAT_EQ(scales[0], float(0.2 / (10 * norm)));
  EXPECT_FLOAT_EQ(scales[1], float(0.5 / (40 * norm)));
  EXPECT_EQ(scales[2], 0.0f);
  // Equal weights give loss_scale's scales.
  for (TermSpec &t : specs)
    t.dynamicWeight = 0.5;
  std::vector<float> coba = computeTermScales(specs, totals, 1);
  for (TermSpec &t : specs)
    t.balance = "loss_scale";
  std::vector<float> lossScale = computeTermScales(specs, totals, 1);
  for (size_t k = 0; k < 3; ++k)
    EXPECT_EQ(coba[k], lossScale[k]) << k;
}

} // namespace
