//===- RngTest.cpp - Tests for the deterministic generator ----------------===//

#include "ftl/Runtime/Rng.h"

#include "gtest/gtest.h"

#include <cmath>
#include <vector>

using namespace ftl::rt;

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, DeriveIsIndependentOfConsumption) {
  Rng a(7), b(7);
  for (int i = 0; i < 10; ++i)
    a.next();
  EXPECT_EQ(a.derive("shuffle").next(), b.derive("shuffle").next());
  EXPECT_NE(a.derive("shuffle").next(), a.derive("init").next());
  EXPECT_NE(a.derive(0).next(), a.derive(1).next());
}

TEST(Rng, BelowIsUniformAndInRange) {
  Rng rng(1);
  std::vector<int> counts(10, 0);
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    uint64_t v = rng.below(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  // Chi-square with 9 degrees of freedom; 27.9 is the 0.999 quantile.
  double chi2 = 0;
  for (int c : counts)
    chi2 += (c - n / 10.0) * (c - n / 10.0) / (n / 10.0);
  EXPECT_LT(chi2, 27.9);
}

TEST(Rng, NormalMoments) {
  Rng rng(3);
  const int n = 200000;
  double sum = 0, sumSq = 0;
  for (int i = 0; i < n; ++i) {
    double x = rng.normal();
    sum += x;
    sumSq += x * x;
  }
  double mean = sum / n, var = sumSq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(var, 1.0, 0.02);
}

TEST(Rng, UniformRange) {
  Rng rng(5);
  for (int i = 0; i < 10000; ++i) {
    float u = rng.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
  }
}
