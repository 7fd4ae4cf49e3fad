//===- AttendTest.cpp - Cached attention against a double reference -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Attend.h"

#include "ftl/Runtime/Rng.h"

#include "gtest/gtest.h"

#include <cmath>
#include <vector>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::rt::detail;
using kernels::KernelIsa;

namespace {

std::vector<float> randomVector(size_t n, uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float &x : v)
    x = static_cast<float>(rng.normal() * scale);
  return v;
}

TEST(Attend, MatchesADoubleReferenceOnEveryPath) {
  for (KernelIsa isa :
       {KernelIsa::Scalar, KernelIsa::Avx2, KernelIsa::Avx512}) {
    if (!kernels::kernelIsaSupported(isa))
      continue;
    for (int64_t n : {1, 5, 64, 300})
      for (int64_t hd : {16, 17, 64, 100})
        for (int64_t group : {1, 2, 4}) {
          SCOPED_TRACE(std::string(kernels::kernelIsaName(isa)) +
                       " n=" + std::to_string(n) + " hd=" + std::to_string(hd) +
                       " group=" + std::to_string(group));
          auto q = randomVector(group * hd, 1 + n, 1.0);
          auto K = randomVector(n * hd, 2 + hd, 1.0);
          auto V = randomVector(n * hd, 3 + group, 1.0);
          const int64_t stride = n + 3;
          std::vector<float> scores(group * stride), out(group * hd, 7.0f);
          const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
          attendCached(isa, n, hd, group, scale, q.data(), K.data(), V.data(),
                       scores.data(), stride, out.data());
          for (int64_t g = 0; g < group; ++g) {
            std::vector<double> s(n);
            double m = -1e300, sum = 0;
            for (int64_t j = 0; j < n; ++j) {
              double dot = 0;
              for (int64_t d = 0; d < hd; ++d)
                dot += static_cast<double>(q[g * hd + d]) * K[j * hd + d];
              s[j] = dot * scale;
              m = std::max(m, s[j]);
            }
            for (double &x : s)
              sum += x = std::exp(x - m);
            for (int64_t d = 0; d < hd; ++d) {
              double want = 0;
              for (int64_t j = 0; j < n; ++j)
                want += s[j] / sum * V[j * hd + d];
              ASSERT_NEAR(out[g * hd + d], want, 2e-5)
                  << "head " << g << ", channel " << d;
            }
          }
        }
  }
}

} // namespace
