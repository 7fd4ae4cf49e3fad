//===- Workspace.cpp - Per-thread scratch buffers for kernels -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Workspace.h"

#include <cstddef>
#include <new>

#ifdef __linux__
#include <sys/mman.h>
#endif

using namespace ftl::kernels::detail;

namespace {
constexpr size_t kSmallAlign = 64;
// Buffers of 2 MiB and more are aligned to 2 MiB and offered to the kernel as
// transparent huge pages: packed GEMM panels are walked in long strides, and
// 4 KiB pages cost measurable TLB misses (more so under virtualization).
constexpr size_t kHugePage = size_t(1) << 21;

struct Buffer {
  float *data = nullptr;
  int64_t capacity = 0;
  size_t align = kSmallAlign;

  void release() {
    if (data)
      ::operator delete(data, std::align_val_t(align));
    data = nullptr;
    capacity = 0;
  }
  ~Buffer() { release(); }
};

struct Buffers {
  Buffer slots[static_cast<int>(WorkspaceSlot::Count)];
};
thread_local Buffers buffers;
} // namespace

float *ftl::kernels::detail::workspace(WorkspaceSlot slot, int64_t floats) {
  Buffer &b = buffers.slots[static_cast<int>(slot)];
  if (floats <= b.capacity)
    return b.data;
  b.release();
  // Round up so that slowly growing requests do not reallocate every time.
  int64_t capacity = floats < 1024 ? 1024 : floats + floats / 4;
  size_t bytes = static_cast<size_t>(capacity) * sizeof(float);
  size_t align = kSmallAlign;
  if (bytes >= kHugePage) {
    align = kHugePage;
    bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  }
  b.data = static_cast<float *>(::operator new(bytes, std::align_val_t(align)));
  b.capacity = static_cast<int64_t>(bytes / sizeof(float));
  b.align = align;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHugePage)
    (void)madvise(b.data, bytes, MADV_HUGEPAGE); // a hint; failure is harmless
#endif
  return b.data;
}
