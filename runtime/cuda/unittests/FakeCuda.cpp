//===- FakeCuda.cpp - A stand-in libcuda for the loader's tests -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Exports the driver entry points CudaDriver resolves, with canned answers:
// cuInit fails with CUDA_ERROR_NO_DEVICE unless FTL_FAKE_CUDA_INIT=ok, and
// there are no devices. Built a second time with FTL_FAKE_INCOMPLETE, which
// leaves out cuLaunchKernel.
//
//===----------------------------------------------------------------------===//

#include <cstddef>
#include <cstdlib>
#include <cstring>

extern "C" {

int cuInit(unsigned) {
  const char *mode = std::getenv("FTL_FAKE_CUDA_INIT");
  return mode && std::strcmp(mode, "ok") == 0 ? 0 : 100;
}

int cuDriverGetVersion(int *version) {
  *version = 13000;
  return 0;
}

int cuGetErrorName(int error, const char **name) {
  switch (error) {
  case 100:
    *name = "CUDA_ERROR_NO_DEVICE";
    return 0;
  case 700:
    *name = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return 0;
  default:
    *name = nullptr;
    return 1;
  }
}

int cuGetErrorString(int error, const char **text) {
  switch (error) {
  case 100:
    *text = "no CUDA-capable device is detected";
    return 0;
  case 700:
    *text = "an illegal memory access was encountered";
    return 0;
  default:
    *text = nullptr;
    return 1;
  }
}

int cuDeviceGetCount(int *count) {
  *count = 0;
  return 0;
}

int cuDeviceGet(int *, int) { return 101; }
int cuDeviceGetName(char *, int, int) { return 101; }
int cuDevicePrimaryCtxRetain(void **, int) { return 101; }
int cuDevicePrimaryCtxRelease_v2(int) { return 101; }
int cuCtxSetCurrent(void *) { return 201; }
int cuCtxSynchronize() { return 201; }
int cuModuleLoadDataEx(void **, const void *, unsigned, int *, void **) {
  return 218;
}
int cuModuleUnload(void *) { return 400; }
int cuModuleGetFunction(void **, void *, const char *) { return 500; }
int cuMemAlloc_v2(unsigned long long *, size_t) { return 2; }
int cuMemFree_v2(unsigned long long) { return 1; }
int cuMemcpyHtoD_v2(unsigned long long, const void *, size_t) { return 1; }
int cuMemcpyDtoH_v2(void *, unsigned long long, size_t) { return 1; }
#ifndef FTL_FAKE_INCOMPLETE
int cuLaunchKernel(void *, unsigned, unsigned, unsigned, unsigned, unsigned,
                   unsigned, unsigned, void *, void **, void **) {
  return 700;
}
#endif
}
