//===- HalfTest.cpp - f16/bf16 conversions against references -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/Half.h"
#include "ftl/Runtime/Rng.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace ftl::rt;

namespace {

uint32_t bitsOf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}
float fromBits(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

/// Reference decoder straight from the IEEE definition.
double refF16Value(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v;
  if (exp == 31)
    v = mant ? NAN : INFINITY;
  else if (exp == 0)
    v = std::ldexp(mant, -24);
  else
    v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

/// Reference rounding of a finite or infinite double to a binary format with
/// `precision` significant bits, smallest normal exponent `minExp` and largest
/// finite value `maxFinite`, ties to even (std::nearbyint in the default
/// rounding mode). Returns the rounded value as a double (inf on overflow).
double refRound(double x, int precision, int minExp, double maxFinite) {
  double a = std::fabs(x);
  if (std::isinf(a) || a == 0)
    return x;
  int e;
  std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1)
  int unbiased = e - 1;
  if (unbiased < minExp)
    unbiased = minExp;
  double ulp = std::ldexp(1.0, unbiased - (precision - 1));
  double r = std::nearbyint(a / ulp) * ulp;
  if (r > maxFinite)
    r = INFINITY;
  return std::signbit(x) ? -r : r;
}

/// Encodes a value that is exactly representable in f16 (or inf).
uint16_t refEncodeF16(double v) {
  uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  double a = std::fabs(v);
  if (std::isinf(a))
    return sign | 0x7C00;
  if (a < std::ldexp(1.0, -14))
    return sign | static_cast<uint16_t>(a / std::ldexp(1.0, -24));
  int e;
  std::frexp(a, &e);
  int unbiased = e - 1;
  int mant = static_cast<int>(a / std::ldexp(1.0, unbiased - 10)) - 1024;
  return sign | static_cast<uint16_t>((unbiased + 15) << 10) |
         static_cast<uint16_t>(mant);
}

uint16_t refF32ToF16(float x) {
  return refEncodeF16(refRound(x, 11, -14, 65504.0));
}

const double kMaxBF16 = std::ldexp(255.0, 120); // 0x7F7F

uint16_t refF32ToBF16(float x) {
  double r = refRound(x, 8, -126, kMaxBF16);
  // Every bf16 value is an f32 value: take the top 16 bits of its encoding.
  return static_cast<uint16_t>(bitsOf(static_cast<float>(r)) >> 16);
}

} // namespace

TEST(Half, F16ToF32ExhaustiveAgainstDefinition) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float got = f16ToF32(static_cast<uint16_t>(h));
    double want = refF16Value(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << h;
      // Payload and sign survive.
      ASSERT_EQ(bitsOf(got) >> 31, h >> 15) << std::hex << h;
      ASSERT_EQ((bitsOf(got) >> 13) & 0x3FF, h & 0x3FF) << std::hex << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(got), want) << std::hex << h;
    ASSERT_EQ(std::signbit(got), std::signbit(want)) << std::hex << h;
  }
}

TEST(Half, F16RoundTripsThroughF32) {
  for (uint32_t h = 0; h < 65536; ++h) {
    uint16_t back = f32ToF16(f16ToF32(static_cast<uint16_t>(h)));
    bool isNan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
    if (isNan)
      ASSERT_EQ(back, h | 0x200) << std::hex << h; // quieted, payload kept
    else
      ASSERT_EQ(back, h) << std::hex << h;
  }
}

TEST(Half, F32ToF16TiesAndNeighbours) {
  // Every midpoint between consecutive finite f16 values of one sign, and the
  // f32 values right next to it, for both signs.
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    double lo = refF16Value(static_cast<uint16_t>(h));
    double hi = h + 1 == 0x7C00 ? 65536.0 : refF16Value(h + 1);
    float mid = static_cast<float>((lo + hi) / 2); // exact in f32
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
    uint16_t even =
        (h & 1) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h);
    for (float sgn : {1.0f, -1.0f}) {
      uint16_t s = sgn < 0 ? 0x8000 : 0;
      ASSERT_EQ(f32ToF16(sgn * mid), s | even) << std::hex << h;
      ASSERT_EQ(f32ToF16(sgn * std::nextafter(mid, 0.0f)), s | h)
          << std::hex << h;
      ASSERT_EQ(f32ToF16(sgn * std::nextafter(mid, INFINITY)), s | (h + 1))
          << std::hex << h;
      ASSERT_EQ(f32ToF16(sgn * static_cast<float>(lo)), s | h);
    }
  }
  // The overflow threshold: 65520 ties to even, which is infinity.
  EXPECT_EQ(f32ToF16(65519.99609375f), 0x7BFF);
  EXPECT_EQ(f32ToF16(65520.0f), 0x7C00);
  EXPECT_EQ(f32ToF16(-65520.0f), 0xFC00);
  EXPECT_EQ(f32ToF16(INFINITY), 0x7C00);
  EXPECT_EQ(f32ToF16(-INFINITY), 0xFC00);
  EXPECT_EQ(f32ToF16(-0.0f), 0x8000);
  // Below half the smallest subnormal.
  EXPECT_EQ(f32ToF16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(f32ToF16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32ToF16(std::ldexp(1.0f, -149)), 0x0000);
  uint16_t nan = f32ToF16(NAN);
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x3FF, 0);
  // A signalling NaN whose payload sits only in the low bits stays a NaN.
  uint16_t snan = f32ToF16(fromBits(0x7F800001u));
  EXPECT_EQ(snan & 0x7C00, 0x7C00);
  EXPECT_NE(snan & 0x3FF, 0);
}

TEST(Half, F32ToF16AgainstReferenceOnManyInputs) {
  // All sign/exponent/top-mantissa prefixes, with the 13 bits f16 drops set
  // to the interesting patterns, plus random bit patterns.
  const uint32_t lows[] = {0, 1, 0xFFF, 0x1000, 0x1001, 0x1FFF, 0x0800, 0x17FF};
  for (uint32_t prefix = 0; prefix < (1u << 19); ++prefix) {
    for (uint32_t low : lows) {
      float x = fromBits((prefix << 13) | low);
      if (std::isnan(x))
        continue;
      ASSERT_EQ(f32ToF16(x), refF32ToF16(x)) << std::hex << bitsOf(x);
    }
  }
  Rng rng(99);
  for (int i = 0; i < 2000000; ++i) {
    float x = fromBits(static_cast<uint32_t>(rng.next()));
    if (std::isnan(x))
      continue;
    ASSERT_EQ(f32ToF16(x), refF32ToF16(x)) << std::hex << bitsOf(x);
  }
}

#if defined(__FLT16_MANT_DIG__)
TEST(Half, F32ToF16MatchesCompilerFloat16) {
  // A second, independent implementation: the compiler's _Float16.
  Rng rng(5);
  for (int i = 0; i < 1000000; ++i) {
    float x = fromBits(static_cast<uint32_t>(rng.next()));
    if (std::isnan(x))
      continue;
    _Float16 h = static_cast<_Float16>(x);
    uint16_t bits;
    std::memcpy(&bits, &h, 2);
    ASSERT_EQ(f32ToF16(x), bits) << std::hex << bitsOf(x);
  }
}
#endif

TEST(Half, BF16ToF32IsTheTopHalf) {
  for (uint32_t b = 0; b < 65536; ++b)
    ASSERT_EQ(bitsOf(bf16ToF32(static_cast<uint16_t>(b))), b << 16);
}

TEST(Half, F32ToBF16CraftedTies) {
  struct Case {
    uint32_t in;
    uint16_t out;
  } cases[] = {
      {0x3F800000, 0x3F80}, // 1.0 exact
      {0x3F808000, 0x3F80}, // tie between 0x3F80 and 0x3F81 -> even
      {0x3F818000, 0x3F82}, // tie between 0x3F81 and 0x3F82 -> even
      {0x3F808001, 0x3F81}, // just above the tie
      {0x3F807FFF, 0x3F80}, // just below the tie
      {0xBF808000, 0xBF80}, // negative tie
      {0xBF818000, 0xBF82},
      {0x3F80FFFF, 0x3F81},
      {0x3FFF8000, 0x4000}, // tie that carries into the exponent
      {0x7F7F7FFF, 0x7F7F}, // below the overflow tie
      {0x7F7F8000, 0x7F80}, // overflow tie -> even -> infinity
      {0xFF7F8000, 0xFF80},
      {0x7F800000, 0x7F80}, // inf
      {0xFF800000, 0xFF80},
      {0x00008000, 0x0000}, // subnormal tie -> even (zero)
      {0x00018000, 0x0002}, // subnormal tie -> even
      {0x00008001, 0x0001},
      {0x80000000, 0x8000}, // -0
  };
  for (const Case &c : cases) {
    EXPECT_EQ(f32ToBF16(fromBits(c.in)), c.out) << std::hex << c.in;
    EXPECT_EQ(refF32ToBF16(fromBits(c.in)), c.out) << std::hex << c.in;
  }
  for (uint32_t nan : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu}) {
    uint16_t b = f32ToBF16(fromBits(nan));
    EXPECT_TRUE(std::isnan(bf16ToF32(b))) << std::hex << nan;
    EXPECT_EQ(b >> 15, nan >> 31);
  }
}

TEST(Half, F32ToBF16AgainstReference) {
  const uint32_t lows[] = {0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x4000};
  for (uint32_t high = 0; high < 65536; ++high) {
    for (uint32_t low : lows) {
      float x = fromBits((high << 16) | low);
      if (std::isnan(x))
        continue;
      ASSERT_EQ(f32ToBF16(x), refF32ToBF16(x)) << std::hex << bitsOf(x);
    }
  }
  Rng rng(3);
  for (int i = 0; i < 1000000; ++i) {
    float x = fromBits(static_cast<uint32_t>(rng.next()));
    if (std::isnan(x))
      continue;
    ASSERT_EQ(f32ToBF16(x), refF32ToBF16(x)) << std::hex << bitsOf(x);
  }
}

TEST(Half, F64NarrowingRoundsOnce) {
  // 1 + 2^-11 is the f16 tie between 1 and 1 + 2^-10. A double slightly
  // above it must round up; rounding through f32 first would land on the
  // tie and then go down to even.
  double d = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  EXPECT_EQ(f32ToF16(static_cast<float>(d)), 0x3C00); // the double rounding
  EXPECT_EQ(f64ToF16(d), 0x3C01);
  EXPECT_EQ(f64ToF16(-d), 0xBC01);
  EXPECT_EQ(f64ToF16(1.0 + std::ldexp(1.0, -11)), 0x3C00); // a real tie
  double b = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
  EXPECT_EQ(f64ToBF16(b), 0x3F81);
  EXPECT_EQ(f64ToBF16(1.0 + std::ldexp(1.0, -8)), 0x3F80);
  Rng rng(11);
  for (int i = 0; i < 200000; ++i) {
    // Doubles spread over the f16 range, with many low bits set.
    double x = (rng.uniformDouble() * 2 - 1) *
               std::ldexp(1.0, static_cast<int>(rng.below(44)) - 28);
    ASSERT_EQ(f64ToF16(x), refEncodeF16(refRound(x, 11, -14, 65504.0))) << x;
    uint16_t wantB = static_cast<uint16_t>(
        bitsOf(static_cast<float>(refRound(x, 8, -126, kMaxBF16))) >> 16);
    ASSERT_EQ(f64ToBF16(x), wantB) << x;
  }
  EXPECT_EQ(f64ToF16(1e300), 0x7C00);
  EXPECT_EQ(f64ToBF16(-1e300), 0xFF80);
  EXPECT_EQ(f64ToF16(1e-300), 0x0000);
  EXPECT_TRUE(std::isnan(f16ToF32(f64ToF16(NAN))));
}

TEST(Half, BulkMatchesScalar) {
  Rng rng(8);
  std::vector<uint16_t> halves(1027);
  for (uint16_t &h : halves)
    h = static_cast<uint16_t>(rng.next());
  std::vector<float> wide(halves.size());
  f16ToF32(halves.data(), wide.data(), halves.size());
  for (size_t i = 0; i < halves.size(); ++i)
    ASSERT_EQ(bitsOf(wide[i]), bitsOf(f16ToF32(halves[i])));
  bf16ToF32(halves.data(), wide.data(), halves.size());
  for (size_t i = 0; i < halves.size(); ++i)
    ASSERT_EQ(bitsOf(wide[i]), bitsOf(bf16ToF32(halves[i])));
  std::vector<float> floats(999);
  for (float &f : floats)
    f = static_cast<float>(rng.normal() * 100);
  std::vector<uint16_t> narrow(floats.size());
  f32ToF16(floats.data(), narrow.data(), floats.size());
  for (size_t i = 0; i < floats.size(); ++i)
    ASSERT_EQ(narrow[i], f32ToF16(floats[i]));
  f32ToBF16(floats.data(), narrow.data(), floats.size());
  for (size_t i = 0; i < floats.size(); ++i)
    ASSERT_EQ(narrow[i], f32ToBF16(floats[i]));
}
