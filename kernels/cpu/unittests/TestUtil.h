//===- TestUtil.h - Helpers shared by the kernel tests ------------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Random tensors from ftl::rt::Rng and bitwise comparison.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_UNITTESTS_TESTUTIL_H
#define FTL_KERNELS_UNITTESTS_TESTUTIL_H

#include "ftl/Runtime/Rng.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace ftl::kernels::test {

/// Uniform values in [-scale, scale).
inline std::vector<float> randomVector(ftl::rt::Rng &rng, int64_t n,
                                       float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float &x : v)
    x = scale * (2.0f * rng.uniform() - 1.0f);
  return v;
}

inline bool bitwiseEqual(const std::vector<float> &a,
                         const std::vector<float> &b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

} // namespace ftl::kernels::test

#endif // FTL_KERNELS_UNITTESTS_TESTUTIL_H
