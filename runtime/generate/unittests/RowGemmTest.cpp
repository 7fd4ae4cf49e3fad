//===- RowGemmTest.cpp - The decode-step product against a reference ------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "RowGemm.h"

#include "ftl/Kernels/Gemm.h"
#include "ftl/Runtime/Rng.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <vector>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::rt::detail;
using kernels::KernelIsa;

namespace {

std::vector<float> randomVector(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float &x : v)
    x = static_cast<float>(rng.normal());
  return v;
}

std::vector<KernelIsa> supportedIsas() {
  std::vector<KernelIsa> out;
  for (KernelIsa isa : {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512})
    if (kernels::kernelIsaSupported(isa))
      out.push_back(isa);
  return out;
}

TEST(RowGemm, MatchesTheReferenceOnEveryPath) {
  kernels::ThreadPool pool(2);
  for (KernelIsa isa : supportedIsas())
    for (int64_t M : {1, 3, 6, 7, 12, 13, 25})
      for (int64_t N : {1, 2, 5, 64, 65, 130})
        for (int64_t K : {1, 7, 8, 15, 16, 17, 33, 100}) {
          SCOPED_TRACE(std::string(kernels::kernelIsaName(isa)) +
                       " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                       " K=" + std::to_string(K));
          // Padded leading dimensions; the padding must stay untouched.
          const int64_t ldx = K + 3, ldw = K + 1, ldy = N + 2;
          auto x = randomVector(M * ldx, 1 + M);
          auto w = randomVector(N * ldw, 2 + N);
          auto y0 = randomVector(M * ldy, 3 + K);
          for (bool accumulate : {false, true}) {
            const float alpha = accumulate ? 0.75f : 1.0f;
            std::vector<float> got = y0, want = y0;
            rowGemm(isa, M, N, K, alpha, x.data(), ldx, w.data(), ldw,
                    accumulate, got.data(), ldy, &pool);
            kernels::sgemmReference(kernels::Trans::No, kernels::Trans::Yes, M,
                                    N, K, alpha, x.data(), ldx, w.data(), ldw,
                                    accumulate ? 1.0f : 0.0f, want.data(), ldy);
            for (int64_t m = 0; m < M; ++m)
              for (int64_t n = 0; n < ldy; ++n) {
                const size_t i = m * ldy + n;
                if (n >= N) {
                  ASSERT_EQ(got[i], y0[i]) << "padding written";
                  continue;
                }
                double bound = 0;
                for (int64_t k = 0; k < K; ++k)
                  bound += std::fabs(x[m * ldx + k] * w[n * ldw + k]);
                bound = (2 * K + 8) * 6e-8 *
                        (std::fabs(alpha) * bound +
                         (accumulate ? std::fabs(y0[i]) : 0));
                ASSERT_NEAR(got[i], want[i], bound) << "m=" << m << " n=" << n;
              }
          }
        }
}

// Every row's result is the same, bit for bit, whatever the number of rows
// around it, its place in a register block, and the thread count.
TEST(RowGemm, RowsAreIndependentOfTheBatchAndThreads) {
  const int64_t N = 300, K = 129, maxM = 27;
  auto x = randomVector(maxM * K, 5);
  auto w = randomVector(N * K, 6);
  kernels::ThreadPool two(2), three(3);
  for (KernelIsa isa : supportedIsas()) {
    std::vector<float> single(maxM * N);
    for (int64_t m = 0; m < maxM; ++m)
      rowGemm(isa, 1, N, K, 1.0f, x.data() + m * K, K, w.data(), K, false,
              single.data() + m * N, N, nullptr);
    for (int64_t M : {2, 5, 12, 13, 24, 27})
      for (kernels::ThreadPool *pool :
           {(kernels::ThreadPool *)nullptr, &two, &three}) {
        std::vector<float> batch(M * N);
        rowGemm(isa, M, N, K, 1.0f, x.data(), K, w.data(), K, false,
                batch.data(), N, pool);
        EXPECT_EQ(0, std::memcmp(batch.data(), single.data(),
                                 batch.size() * sizeof(float)))
            << kernels::kernelIsaName(isa) << " M=" << M;
      }
  }
}

TEST(RowGemm, HandComputed) {
  // x = [[1, 2, 3]], W = [[1, 0, -1], [2, 2, 2]]: x W^T = [-2, 12].
  const float x[] = {1, 2, 3};
  const float w[] = {1, 0, -1, 2, 2, 2};
  for (KernelIsa isa : supportedIsas()) {
    float y[2] = {10, 20};
    rowGemm(isa, 1, 2, 3, 1.0f, x, 3, w, 3, false, y, 2, nullptr);
    EXPECT_EQ(y[0], -2.0f);
    EXPECT_EQ(y[1], 12.0f);
    rowGemm(isa, 1, 2, 3, 0.5f, x, 3, w, 3, true, y, 2, nullptr);
    EXPECT_EQ(y[0], -3.0f);
    EXPECT_EQ(y[1], 18.0f);
  }
}

} // namespace
