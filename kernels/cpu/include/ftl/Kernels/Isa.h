//===- ftl/Kernels/Isa.h - Instruction-set paths of the kernels --*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The kernels carry several code paths and pick one at run time from the
/// CPU's features, so one binary runs on any x86-64 CPU. Results are
/// deterministic for a given path; different paths may round differently.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_ISA_H
#define FTL_KERNELS_ISA_H

namespace ftl::kernels {

/// The code paths, slowest first.
enum class KernelIsa { Scalar, Avx2, Avx512 };

/// The best path this CPU supports (AVX-512 F/BW/DQ/VL, then AVX2 + FMA,
/// then portable scalar code).
KernelIsa detectKernelIsa();
/// True when this CPU can run `isa`.
bool kernelIsaSupported(KernelIsa isa);
/// "scalar", "avx2" or "avx512".
const char *kernelIsaName(KernelIsa isa);

} // namespace ftl::kernels

#endif // FTL_KERNELS_ISA_H
