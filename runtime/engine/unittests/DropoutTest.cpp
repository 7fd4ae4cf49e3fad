//===- DropoutTest.cpp - The dropout kernel of ftlt.dropout ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// LoRA dropout's masks: the kept share is 1 - rate (within a binomial
// bound), kept entries are exactly x / (1 - rate), a negative seed is the
// identity, and the mask depends on the seed and the salt only.
//
//===----------------------------------------------------------------------===//

#include "../lib/SimpleKernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <vector>

using namespace ftl::rt;

namespace {

std::vector<float> ramp(int64_t n) {
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i)
    x[i] = 0.5f + float(i % 97) * 0.25f;
  return x;
}

TEST(Dropout, KeepsOneMinusRateAndScales) {
  const int64_t n = 200000;
  std::vector<float> x = ramp(n), y(n);
  for (double rate : {0.05, 0.1, 0.5}) {
    applyDropout(x.data(), n, 12345, 7, rate, y.data());
    int64_t kept = 0;
    const float scale = float(1.0 / (1.0 - rate));
    for (int64_t i = 0; i < n; ++i) {
      if (y[i] == 0.0f)
        continue;
      ++kept;
      ASSERT_EQ(y[i], x[i] * scale) << i;
    }
    double mean = n * (1 - rate), sd = std::sqrt(n * rate * (1 - rate));
    EXPECT_LT(std::fabs(double(kept) - mean), 4.5 * sd) << "rate " << rate;
  }
}

TEST(Dropout, NegativeSeedIsTheIdentity) {
  std::vector<float> x = ramp(1000), y(1000);
  applyDropout(x.data(), 1000, -1, 7, 0.5, y.data());
  EXPECT_EQ(x, y);
}

TEST(Dropout, MaskDependsOnSeedAndSalt) {
  const int64_t n = 4096;
  auto mask = [&](int32_t seed, uint64_t salt) {
    std::vector<bool> m(n);
    for (int64_t i = 0; i < n; ++i)
      m[i] = dropoutKeeps(seed, salt, i, 0.3);
    return m;
  };
  EXPECT_EQ(mask(5, 1), mask(5, 1));
  EXPECT_NE(mask(5, 1), mask(6, 1));
  EXPECT_NE(mask(5, 1), mask(5, 2));
  // In place gives the same result.
  std::vector<float> x = ramp(n), y(n), z = x;
  applyDropout(x.data(), n, 9, 3, 0.3, y.data());
  applyDropout(z.data(), n, 9, 3, 0.3, z.data());
  EXPECT_EQ(y, z);
}

} // namespace
