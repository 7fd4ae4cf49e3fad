//===- AllocTracker.cpp - Counting global operator new for tests ----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "AllocTracker.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<int64_t> live{0};
std::atomic<int64_t> peak{0};

// Each block carries its size in a header of `align` bytes (>= 16).
void *allocate(size_t size, size_t align) {
  if (align < 16)
    align = 16;
  size_t total = size + align;
  void *raw = std::aligned_alloc(align, (total + align - 1) / align * align);
  if (!raw)
    std::abort();
  char *user = static_cast<char *>(raw) + align;
  reinterpret_cast<size_t *>(user)[-1] = size;
  reinterpret_cast<size_t *>(user)[-2] = align;
  int64_t now =
      live.fetch_add(static_cast<int64_t>(size)) + static_cast<int64_t>(size);
  int64_t p = peak.load();
  while (now > p && !peak.compare_exchange_weak(p, now)) {
  }
  return user;
}

void release(void *ptr) {
  if (!ptr)
    return;
  char *user = static_cast<char *>(ptr);
  size_t size = reinterpret_cast<size_t *>(user)[-1];
  size_t align = reinterpret_cast<size_t *>(user)[-2];
  live.fetch_sub(static_cast<int64_t>(size));
  std::free(user - align);
}
} // namespace

int64_t ftl::kernels::test::liveBytes() { return live.load(); }
int64_t ftl::kernels::test::peakBytes() { return peak.load(); }
void ftl::kernels::test::resetPeak() { peak.store(live.load()); }

void *operator new(size_t size) { return allocate(size, 16); }
void *operator new[](size_t size) { return allocate(size, 16); }
void *operator new(size_t size, std::align_val_t a) {
  return allocate(size, static_cast<size_t>(a));
}
void *operator new[](size_t size, std::align_val_t a) {
  return allocate(size, static_cast<size_t>(a));
}
void *operator new(size_t size, const std::nothrow_t &) noexcept {
  return allocate(size, 16);
}
void *operator new[](size_t size, const std::nothrow_t &) noexcept {
  return allocate(size, 16);
}
void operator delete(void *p) noexcept { release(p); }
void operator delete[](void *p) noexcept { release(p); }
void operator delete(void *p, size_t) noexcept { release(p); }
void operator delete[](void *p, size_t) noexcept { release(p); }
void operator delete(void *p, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, std::align_val_t) noexcept { release(p); }
void operator delete(void *p, size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, size_t, std::align_val_t) noexcept {
  release(p);
}
