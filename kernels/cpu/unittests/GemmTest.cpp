//===- GemmTest.cpp - Tests for sgemm against the naive reference ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Gemm.h"

#include "TestUtil.h"

#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace ftl::kernels;
using namespace ftl::kernels::test;
using ftl::rt::Rng;

namespace {

constexpr double kUnitRoundoff = 1.0 / (1 << 24);
const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Case {
  Trans ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t padA = 0, padB = 0, padC = 0; // extra row stride
};

std::string describe(const Case &c, KernelIsa isa) {
  return std::string(kernelIsaName(isa)) +
         " ta=" + (c.ta == Trans::Yes ? "T" : "N") +
         " tb=" + (c.tb == Trans::Yes ? "T" : "N") +
         " M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) +
         " K=" + std::to_string(c.K) + " alpha=" + std::to_string(c.alpha) +
         " beta=" + std::to_string(c.beta);
}

/// Runs one case on `isa` and checks every element of C against the double
/// reference with a bound derived from K, and that the padding of C is not
/// touched. Returns the computed C (with padding) for further checks.
std::vector<float> runCase(const Case &c, KernelIsa isa, ThreadPool *pool,
                           uint64_t seed = 1, bool verify = true) {
  Rng rng(seed);
  int64_t rowsA = c.ta == Trans::No ? c.M : c.K;
  int64_t colsA = c.ta == Trans::No ? c.K : c.M;
  int64_t rowsB = c.tb == Trans::No ? c.K : c.N;
  int64_t colsB = c.tb == Trans::No ? c.N : c.K;
  int64_t lda = colsA + c.padA, ldb = colsB + c.padB, ldc = c.N + c.padC;
  std::vector<float> A(rowsA * lda, kNaN), B(rowsB * ldb, kNaN),
      C(c.M * ldc, kNaN);
  for (int64_t i = 0; i < rowsA; ++i)
    for (int64_t j = 0; j < colsA; ++j)
      A[i * lda + j] = 2.0f * rng.uniform() - 1.0f;
  for (int64_t i = 0; i < rowsB; ++i)
    for (int64_t j = 0; j < colsB; ++j)
      B[i * ldb + j] = 2.0f * rng.uniform() - 1.0f;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j)
      C[i * ldc + j] = c.beta == 0.0f ? kNaN : 2.0f * rng.uniform() - 1.0f;
  std::vector<float> C0 = C, ref = C;
  sgemmWithIsa(isa, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(),
               ldb, c.beta, C.data(), ldc, pool);
  if (!verify)
    return C;
  sgemmReference(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(),
                 ldb, c.beta, ref.data(), ldc);

  int failures = 0;
  for (int64_t i = 0; i < c.M && failures < 5; ++i) {
    for (int64_t j = 0; j < ldc && failures < 5; ++j) {
      float got = C[i * ldc + j];
      if (j >= c.N) {
        // Padding: must still hold the NaN sentinel.
        if (!std::isnan(got)) {
          ADD_FAILURE() << describe(c, isa) << ": wrote padding at (" << i
                        << ", " << j << ")";
          ++failures;
        }
        continue;
      }
      double absSum = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        double a = c.ta == Trans::No ? A[i * lda + k] : A[k * lda + i];
        double b = c.tb == Trans::No ? B[k * ldb + j] : B[j * ldb + k];
        absSum += std::fabs(a * b);
      }
      double cTerm = c.beta == 0.0f ? 0.0 : std::fabs(c.beta * C0[i * ldc + j]);
      double bound = (2.0 * c.K + 8.0) * kUnitRoundoff *
                         (std::fabs(c.alpha) * absSum + cTerm) +
                     kUnitRoundoff * std::fabs(ref[i * ldc + j]) + 1e-30;
      double err = std::fabs(static_cast<double>(got) - ref[i * ldc + j]);
      if (!(err <= bound)) {
        ADD_FAILURE() << describe(c, isa) << ": C(" << i << ", " << j
                      << ") = " << got << ", reference " << ref[i * ldc + j]
                      << ", error " << err << " > bound " << bound;
        ++failures;
      }
    }
  }
  return C;
}

std::vector<KernelIsa> supportedIsas() {
  std::vector<KernelIsa> isas;
  for (KernelIsa isa : {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512})
    if (kernelIsaSupported(isa))
      isas.push_back(isa);
  return isas;
}

const Trans kBoth[] = {Trans::No, Trans::Yes};

TEST(Gemm, DetectsAnIsa) {
  EXPECT_TRUE(kernelIsaSupported(KernelIsa::Scalar));
  EXPECT_TRUE(kernelIsaSupported(detectKernelIsa()));
  std::string name = kernelIsaName(detectKernelIsa());
  EXPECT_TRUE(name == "scalar" || name == "avx2" || name == "avx512") << name;
}

TEST(Gemm, HandComputedProduct) {
  // [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154]
  const float A[] = {1, 2, 3, 4, 5, 6};
  const float B[] = {7, 8, 9, 10, 11, 12};
  const float Bt[] = {7, 9, 11, 8, 10, 12};
  const float At[] = {1, 4, 2, 5, 3, 6};
  for (KernelIsa isa : supportedIsas()) {
    float C[4] = {kNaN, kNaN, kNaN, kNaN};
    sgemmWithIsa(isa, Trans::No, Trans::No, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C,
                 2, nullptr);
    EXPECT_EQ(C[0], 58);
    EXPECT_EQ(C[1], 64);
    EXPECT_EQ(C[2], 139);
    EXPECT_EQ(C[3], 154);
    float D[4] = {1, 1, 1, 1};
    sgemmWithIsa(isa, Trans::Yes, Trans::Yes, 2, 2, 3, 2.0f, At, 2, Bt, 3,
                 -1.0f, D, 2, nullptr);
    EXPECT_EQ(D[0], 115);
    EXPECT_EQ(D[1], 127);
    EXPECT_EQ(D[2], 277);
    EXPECT_EQ(D[3], 307);
  }
}

TEST(Gemm, AllTransposesOddSizes) {
  const int64_t sizes[] = {1, 7, 17, 33, 129};
  for (KernelIsa isa : supportedIsas())
    for (Trans ta : kBoth)
      for (Trans tb : kBoth)
        for (int64_t M : sizes)
          for (int64_t N : sizes)
            for (int64_t K : sizes)
              runCase({ta, tb, M, N, K, 1.0f, 0.0f}, isa, defaultPool());
}

TEST(Gemm, LeadingDimensionsLargerThanWidth) {
  for (KernelIsa isa : supportedIsas())
    for (Trans ta : kBoth)
      for (Trans tb : kBoth) {
        runCase({ta, tb, 37, 45, 29, 1.0f, 0.0f, 3, 5, 7}, isa, defaultPool());
        runCase({ta, tb, 130, 70, 200, 1.0f, 1.0f, 16, 1, 33}, isa,
                defaultPool());
      }
}

TEST(Gemm, AlphaBeta) {
  const float pairs[][2] = {{1, 0},         {2.5f, 0}, {1, 1},
                            {-0.5f, 0.75f}, {1, -1},   {0.125f, 2}};
  for (KernelIsa isa : supportedIsas())
    for (Trans ta : kBoth)
      for (Trans tb : kBoth)
        for (const auto &ab : pairs)
          runCase({ta, tb, 31, 50, 77, ab[0], ab[1], 2, 0, 3}, isa,
                  defaultPool());
}

TEST(Gemm, BetaZeroIgnoresNaNInC) {
  for (KernelIsa isa : supportedIsas()) {
    // runCase fills C with NaN when beta == 0; check explicitly too.
    std::vector<float> C =
        runCase({Trans::No, Trans::Yes, 40, 70, 20, 1.0f, 0.0f}, isa, nullptr);
    for (float v : C)
      ASSERT_FALSE(std::isnan(v)) << kernelIsaName(isa);
  }
}

TEST(Gemm, AlphaZeroOrEmptyKOnlyScalesC) {
  for (KernelIsa isa : supportedIsas()) {
    std::vector<float> A(6 * 5, kNaN), B(5 * 4, kNaN);
    std::vector<float> C(6 * 4, 2.0f);
    sgemmWithIsa(isa, Trans::No, Trans::No, 6, 4, 5, 0.0f, A.data(), 5,
                 B.data(), 4, 0.5f, C.data(), 4, nullptr);
    for (float v : C)
      EXPECT_EQ(v, 1.0f);
    sgemmWithIsa(isa, Trans::No, Trans::No, 6, 4, 0, 1.0f, A.data(), 5,
                 B.data(), 4, 3.0f, C.data(), 4, nullptr);
    for (float v : C)
      EXPECT_EQ(v, 3.0f);
    std::fill(C.begin(), C.end(), kNaN);
    sgemmWithIsa(isa, Trans::No, Trans::No, 6, 4, 0, 1.0f, A.data(), 5,
                 B.data(), 4, 0.0f, C.data(), 4, nullptr);
    for (float v : C)
      EXPECT_EQ(v, 0.0f);
    // Empty M or N: nothing is touched.
    sgemmWithIsa(isa, Trans::No, Trans::No, 0, 4, 5, 1.0f, A.data(), 5,
                 B.data(), 4, 0.0f, C.data(), 4, nullptr);
    sgemmWithIsa(isa, Trans::No, Trans::No, 6, 0, 5, 1.0f, A.data(), 5,
                 B.data(), 4, 0.0f, C.data(), 4, nullptr);
    for (float v : C)
      EXPECT_EQ(v, 0.0f);
  }
}

TEST(Gemm, ManyBlocks) {
  // Several kc, mc and nc blocks on the fastest path.
  KernelIsa isa = detectKernelIsa();
  for (Trans ta : kBoth)
    for (Trans tb : kBoth)
      runCase({ta, tb, 257, 1100, 900, 0.5f, 1.0f, 0, 0, 0}, isa,
              defaultPool());
  runCase({Trans::No, Trans::No, 1700, 90, 70, 1.0f, 0.0f}, isa, defaultPool());
}

TEST(Gemm, BitwiseIdenticalForAnyThreadCount) {
  ThreadPool one(1), two(2), three(3), five(5);
  for (KernelIsa isa : supportedIsas())
    for (Trans ta : kBoth)
      for (Trans tb : kBoth) {
        Case c{ta, tb, 300, 413, 777, 1.0f, 0.5f, 1, 2, 3};
        std::vector<float> base = runCase(c, isa, nullptr, 7);
        for (ThreadPool *pool : {&one, &two, &three, &five}) {
          std::vector<float> other = runCase(c, isa, pool, 7, false);
          EXPECT_TRUE(bitwiseEqual(base, other))
              << describe(c, isa) << " threads " << pool->numThreads();
        }
        // Run to run, on the default pool.
        EXPECT_TRUE(bitwiseEqual(runCase(c, isa, defaultPool(), 7, false),
                                 runCase(c, isa, defaultPool(), 7, false)));
      }
}

TEST(Gemm, ValidateArguments) {
  EXPECT_FALSE(static_cast<bool>(validateSgemmArgs(
      Trans::No, Trans::Yes, 4, 5, 6, /*lda=*/6, /*ldb=*/6, /*ldc=*/5)));
  EXPECT_FALSE(static_cast<bool>(validateSgemmArgs(
      Trans::Yes, Trans::No, 4, 5, 6, /*lda=*/4, /*ldb=*/5, /*ldc=*/5)));
  struct Bad {
    Trans ta, tb;
    int64_t M, N, K, lda, ldb, ldc;
    const char *expect;
  } bad[] = {
      {Trans::No, Trans::No, -1, 5, 6, 6, 5, 5, "'M'"},
      {Trans::No, Trans::No, 4, 5, -2, 6, 5, 5, "'K'"},
      {Trans::No, Trans::No, 4, 5, 6, 5, 5, 5, "'lda' must be at least 6"},
      {Trans::Yes, Trans::No, 4, 5, 6, 3, 5, 5, "'lda' must be at least 4"},
      {Trans::No, Trans::Yes, 4, 5, 6, 6, 5, 5, "'ldb' must be at least 6"},
      {Trans::No, Trans::No, 4, 5, 6, 6, 4, 5, "'ldb' must be at least 5"},
      {Trans::No, Trans::No, 4, 5, 6, 6, 5, 4, "'ldc' must be at least 5"},
  };
  for (const Bad &b : bad) {
    llvm::Error err =
        validateSgemmArgs(b.ta, b.tb, b.M, b.N, b.K, b.lda, b.ldb, b.ldc);
    ASSERT_TRUE(static_cast<bool>(err)) << b.expect;
    std::string message = llvm::toString(std::move(err));
    EXPECT_NE(message.find(b.expect), std::string::npos) << message;
  }
}

} // namespace
