//===- Workspace.h - Per-thread scratch buffers for kernels ------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Grow-only, 64-byte aligned scratch buffers, one set per thread, so that the
/// kernels do not allocate (and fault in fresh pages) on every call. A slot's
/// contents are only valid until the next workspace() call for that slot on
/// the same thread.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_KERNELS_LIB_WORKSPACE_H
#define FTL_KERNELS_LIB_WORKSPACE_H

#include <cstdint>

namespace ftl::kernels::detail {

enum class WorkspaceSlot {
  GemmA,
  GemmB,
  Attention,
  CrossEntropy,
  KlDiv,
  Count
};

/// At least `floats` floats of scratch for `slot` on this thread.
float *workspace(WorkspaceSlot slot, int64_t floats);

} // namespace ftl::kernels::detail

#endif // FTL_KERNELS_LIB_WORKSPACE_H
