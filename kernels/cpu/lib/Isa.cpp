//===- Isa.cpp - Run-time choice of the kernels' code path ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Kernels/Isa.h"

using namespace ftl::kernels;

bool ftl::kernels::kernelIsaSupported(KernelIsa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  switch (isa) {
  case KernelIsa::Avx512:
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  case KernelIsa::Avx2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case KernelIsa::Scalar:
    return true;
  }
  return false;
#else
  return isa == KernelIsa::Scalar;
#endif
}

KernelIsa ftl::kernels::detectKernelIsa() {
  static const KernelIsa best = [] {
    if (kernelIsaSupported(KernelIsa::Avx512))
      return KernelIsa::Avx512;
    if (kernelIsaSupported(KernelIsa::Avx2))
      return KernelIsa::Avx2;
    return KernelIsa::Scalar;
  }();
  return best;
}

const char *ftl::kernels::kernelIsaName(KernelIsa isa) {
  switch (isa) {
  case KernelIsa::Avx512:
    return "avx512";
  case KernelIsa::Avx2:
    return "avx2";
  case KernelIsa::Scalar:
    return "scalar";
  }
  return "scalar";
}
