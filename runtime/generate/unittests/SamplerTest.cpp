//===- SamplerTest.cpp - Temperature, top-k and top-p draws ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Draw frequencies are compared with distributions the tests compute
// naively (full sort, softmax in double) from the rule as Hugging Face's
// warpers state it.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

using namespace ftl::rt;
using namespace ftl::rt::detail;

namespace {

/// The expected distribution: softmax(logits / T) restricted to the top-k
/// (ties with the k-th included), then to the nucleus (decreasing order,
/// kept while the mass before a token is below p), renormalised.
std::vector<double> expected(const std::vector<float> &logits, double T,
                             int64_t k, double p) {
  const size_t V = logits.size();
  std::vector<double> z(V);
  for (size_t i = 0; i < V; ++i)
    z[i] = static_cast<float>(logits[i] / static_cast<float>(T));
  std::vector<size_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return z[a] > z[b]; });
  std::vector<bool> keep(V, true);
  if (k > 0 && static_cast<size_t>(k) < V)
    for (size_t i = 0; i < V; ++i)
      keep[i] = z[i] >= z[order[k - 1]];
  double m = z[order[0]], total = 0;
  for (size_t i = 0; i < V; ++i)
    total += keep[i] ? std::exp(z[i] - m) : 0;
  if (p < 1) {
    double before = 0;
    for (size_t r = 0; r < V; ++r) {
      size_t i = order[r];
      if (!keep[i])
        continue;
      if (r > 0 && before >= p * total)
        keep[i] = false;
      before += std::exp(z[i] - m);
    }
  }
  std::vector<double> prob(V, 0.0);
  double kept = 0;
  for (size_t i = 0; i < V; ++i)
    if (keep[i])
      kept += prob[i] = std::exp(z[i] - m);
  for (double &x : prob)
    x /= kept;
  return prob;
}

/// Draws `n` tokens and checks every frequency against `want` within five
/// standard deviations; tokens of probability 0 must never appear.
void expectFrequencies(const std::vector<float> &logits,
                       const SamplerParams &params, int n, uint64_t seed) {
  std::vector<double> want =
      expected(logits, params.temperature, params.topK, params.topP);
  std::vector<int> counts(logits.size(), 0);
  Rng rng(seed);
  SamplerScratch scratch;
  for (int i = 0; i < n; ++i)
    ++counts[sampleToken(logits.data(), logits.size(), params, rng, scratch)];
  // Pearson's chi-square over tokens expected at least 5 times, the rest
  // pooled: far above its degrees of freedom means the wrong distribution.
  double chi2 = 0, pooledWant = 0, pooledCount = 0;
  int bins = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (want[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " is outside the kept set";
      continue;
    }
    double expect = n * want[i];
    double sd = std::sqrt(expect * (1 - want[i]));
    EXPECT_NEAR(counts[i], expect, 5 * sd + 1) << "token " << i;
    if (expect >= 5) {
      chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
      ++bins;
    } else {
      pooledWant += expect;
      pooledCount += counts[i];
    }
  }
  if (pooledWant > 0) {
    chi2 +=
        (pooledCount - pooledWant) * (pooledCount - pooledWant) / pooledWant;
    ++bins;
  }
  const double df = std::max(1, bins - 1);
  EXPECT_LT(chi2, df + 6 * std::sqrt(2 * df) + 10)
      << bins << " bins, chi-square " << chi2;
}

const std::vector<float> kLogits = {1.0f, 2.5f,  -0.5f, 0.0f, 2.0f,
                                    0.7f, -3.0f, 1.9f,  0.1f, 2.5f};

TEST(Sampler, GreedyTakesTheLowestIdAmongEqualMaxima) {
  EXPECT_EQ(argmaxToken(kLogits.data(), kLogits.size()), 1);
  std::vector<float> one = {-1.0f};
  EXPECT_EQ(argmaxToken(one.data(), 1), 0);
  Rng rng(1), untouched(1);
  SamplerScratch scratch;
  EXPECT_EQ(
      sampleToken(kLogits.data(), kLogits.size(), {0, 5, 0.5}, rng, scratch),
      1);
  EXPECT_EQ(rng.next(), untouched.next()) << "greedy must not draw";
}

TEST(Sampler, TemperatureFrequencies) {
  expectFrequencies(kLogits, {1.0, 0, 1.0}, 40000, 1);
  expectFrequencies(kLogits, {0.5, 0, 1.0}, 40000, 2);
  expectFrequencies(kLogits, {3.0, 0, 1.0}, 40000, 3);
}

TEST(Sampler, TopKKeepsTiesWithTheKthToken) {
  // Ranks: 2.5 (ids 1 and 9), 2.0, 1.9, ...: k = 1 keeps both 2.5s.
  expectFrequencies(kLogits, {1.0, 1, 1.0}, 20000, 4);
  expectFrequencies(kLogits, {1.0, 3, 1.0}, 20000, 5);
  expectFrequencies(kLogits, {0.7, 4, 1.0}, 20000, 6);
  std::vector<double> want = expected(kLogits, 1.0, 1, 1.0);
  EXPECT_NEAR(want[1], 0.5, 1e-12);
  EXPECT_NEAR(want[9], 0.5, 1e-12);
}

TEST(Sampler, TopPKeepsTheNucleus) {
  expectFrequencies(kLogits, {1.0, 0, 0.5}, 20000, 7);
  expectFrequencies(kLogits, {1.0, 0, 0.9}, 20000, 8);
  expectFrequencies(kLogits, {0.8, 0, 0.05}, 2000, 9); // the top token only
  expectFrequencies(kLogits, {1.2, 4, 0.7}, 20000, 10);
}

TEST(Sampler, LargeNucleusOnAWideVocabulary) {
  // 5000 equal logits: the nucleus of p = 0.5 is exactly the 2500 lowest
  // ids (equal tokens rank by id), more than one partial sort holds.
  std::vector<float> flat(5000, 0.25f);
  Rng rng(12);
  SamplerScratch scratch;
  int low = 0, high = 0;
  for (int i = 0; i < 1000; ++i) {
    int32_t t =
        sampleToken(flat.data(), flat.size(), {1.0, 0, 0.5}, rng, scratch);
    ASSERT_GE(t, 0);
    ASSERT_LT(t, 2500);
    (t < 1250 ? low : high) += 1;
  }
  EXPECT_NEAR(low, 500, 100);
  EXPECT_NEAR(high, 500, 100);

  // A peaked vocabulary with a long flat tail.
  std::vector<float> peaked(1500, 0.0f);
  for (int i = 0; i < 40; ++i)
    peaked[i * 37] = 4.5f - 0.05f * i;
  expectFrequencies(peaked, {1.0, 0, 0.8}, 10000, 13);
  expectFrequencies(peaked, {1.0, 100, 0.9}, 10000, 14);
}

TEST(Sampler, TopKOnALargeVocabulary) {
  // 8000 tokens (the heap path of top-k), values with many ties.
  std::vector<float> wide(8000);
  Rng rng(21);
  for (float &x : wide)
    x = static_cast<float>(std::floor(rng.normal() * 2));
  expectFrequencies(wide, {1.0, 100, 1.0}, 4000, 17);
  expectFrequencies(wide, {0.7, 300, 0.9}, 4000, 18);
  std::vector<double> want = expected(wide, 1.0, 100, 1.0);
  int kept = 0;
  for (double w : want)
    kept += w > 0;
  EXPECT_GT(kept, 100) << "the case must have ties with the 100th token";
}

TEST(Sampler, NucleusBoundaryFarBelowTheMaximum) {
  // Logits 0, -0.5, ..., -60: with p close to 1 the nucleus ends 14 and
  // then 34 nats below the maximum (past the histogram's range).
  std::vector<float> ramp(121);
  for (size_t i = 0; i < ramp.size(); ++i)
    ramp[i] = -0.5f * static_cast<float>(i);
  std::reverse(ramp.begin() + 40, ramp.end()); // not sorted by id
  expectFrequencies(ramp, {1.0, 0, 1 - 1e-6}, 20000, 15);
  expectFrequencies(ramp, {1.0, 0, 1 - 1e-15}, 20000, 16);
  std::vector<double> want = expected(ramp, 1.0, 0, 1 - 1e-15);
  int kept = 0;
  for (double w : want)
    kept += w > 0;
  EXPECT_GT(kept, 64) << "the case must reach past 32 nats";
  EXPECT_LT(kept, 121);
}

TEST(Sampler, SameStreamSameDraws) {
  Rng a(77), b(77);
  SamplerScratch sa, sb;
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(
        sampleToken(kLogits.data(), kLogits.size(), {1.1, 6, 0.9}, a, sa),
        sampleToken(kLogits.data(), kLogits.size(), {1.1, 6, 0.9}, b, sb));
}

} // namespace
