//===- Workspace.cpp - Per-thread scratch buffers for kernels -------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Workspace.h"

#include <cstddef>
#include <new>

using namespace ftl::kernels::detail;

namespace {
struct Buffer {
  float *data = nullptr;
  int64_t capacity = 0;
  ~Buffer() {
    if (data)
      ::operator delete(data, std::align_val_t(64));
  }
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
  if (b.data)
    ::operator delete(b.data, std::align_val_t(64));
  // Round up so that slowly growing requests do not reallocate every time.
  int64_t capacity = floats < 1024 ? 1024 : floats + floats / 4;
  b.data = static_cast<float *>(::operator new(
      static_cast<size_t>(capacity) * sizeof(float), std::align_val_t(64)));
  b.capacity = capacity;
  return b.data;
}
