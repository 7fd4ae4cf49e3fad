//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Cuda/CudaDriver.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <cstring>
#include <dlfcn.h>

namespace ftl::rt::cuda {

// cuda.h's values of the options cuModuleLoadDataEx takes.
static constexpr int kJitErrorLogBuffer = 5;
static constexpr int kJitErrorLogBufferSizeBytes = 6;

llvm::Error cudaError(llvm::StringRef call, CUresult result, const char *name,
                      const char *text) {
  std::string message = (call + " failed: ").str();
  if (name)
    message += name;
  else
    message += "CUDA error " + std::to_string(result);
  if (text)
    message += std::string(" (") + text + ")";
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static llvm::Error unavailable(const llvm::Twine &why) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "the CUDA driver is unavailable: " + why);
}

llvm::Expected<std::unique_ptr<CudaDriver>>
CudaDriver::open(llvm::StringRef library) {
  std::string path = library.str();
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    std::string detail = why ? std::string(" (") + why + ")" : std::string();
    return unavailable("cannot load '" + library + "'" + detail);
  }
  std::unique_ptr<CudaDriver> driver(new CudaDriver());
  driver->handle = handle;
#define FTL_CUDA_SYMBOL(member, name, params)                                  \
  driver->member =                                                             \
      reinterpret_cast<decltype(driver->member)>(dlsym(handle, name));         \
  if (!driver->member)                                                         \
    return unavailable("'" + library + "' has no symbol '" name "'");
#include "ftl/Cuda/CudaSymbols.def"
  if (llvm::Error error = driver->check(driver->cuInit(0), "cuInit"))
    return unavailable(llvm::toString(std::move(error)));
  if (llvm::Error error =
          driver->check(driver->cuDriverGetVersion(&driver->driverVersion),
                        "cuDriverGetVersion"))
    return std::move(error);
  return std::move(driver);
}

CudaDriver::~CudaDriver() {
  if (handle)
    dlclose(handle);
}

llvm::Error CudaDriver::check(CUresult result, llvm::StringRef call) const {
  if (result == 0)
    return llvm::Error::success();
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName && cuGetErrorName(result, &name) != 0)
    name = nullptr;
  if (cuGetErrorString && cuGetErrorString(result, &text) != 0)
    text = nullptr;
  return cudaError(call, result, name, text);
}

//===----------------------------------------------------------------------===//
// DeviceBuffer, CudaModule
//===----------------------------------------------------------------------===//

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other)
    : driver(other.driver), ptr(other.ptr), bytes(other.bytes) {
  other.ptr = 0;
  other.bytes = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) {
  if (this != &other) {
    this->~DeviceBuffer();
    new (this) DeviceBuffer(std::move(other));
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr)
    llvm::consumeError(driver->check(driver->cuMemFree(ptr), "cuMemFree"));
}

llvm::Error DeviceBuffer::copyFrom(const void *host, size_t count) {
  if (count > bytes)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "copy of " + std::to_string(count) +
                                       " bytes into a device buffer of " +
                                       std::to_string(bytes));
  return driver->check(driver->cuMemcpyHtoD(ptr, host, count), "cuMemcpyHtoD");
}

llvm::Error DeviceBuffer::copyTo(void *host, size_t count) const {
  if (count > bytes)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "copy of " + std::to_string(count) +
                                       " bytes from a device buffer of " +
                                       std::to_string(bytes));
  return driver->check(driver->cuMemcpyDtoH(host, ptr, count), "cuMemcpyDtoH");
}

CudaModule::CudaModule(CudaModule &&other)
    : driver(other.driver), module(other.module) {
  other.module = nullptr;
}

CudaModule &CudaModule::operator=(CudaModule &&other) {
  if (this != &other) {
    this->~CudaModule();
    new (this) CudaModule(std::move(other));
  }
  return *this;
}

CudaModule::~CudaModule() {
  if (module)
    llvm::consumeError(
        driver->check(driver->cuModuleUnload(module), "cuModuleUnload"));
}

llvm::Expected<CUfunction> CudaModule::function(llvm::StringRef name) const {
  CUfunction function = nullptr;
  std::string entry = name.str();
  if (llvm::Error error = driver->check(
          driver->cuModuleGetFunction(&function, module, entry.c_str()),
          "cuModuleGetFunction('" + entry + "')"))
    return std::move(error);
  return function;
}

//===----------------------------------------------------------------------===//
// CudaContext
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<CudaContext>>
CudaContext::create(const CudaDriver &driver, int ordinal) {
  int count = 0;
  if (llvm::Error error =
          driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount"))
    return std::move(error);
  if (ordinal < 0 || ordinal >= count)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "CUDA device " + std::to_string(ordinal) + " does not exist; " +
            std::to_string(count) + " device(s) found");
  std::unique_ptr<CudaContext> ctx(new CudaContext());
  ctx->drv = &driver;
  if (llvm::Error error = driver.check(
          driver.cuDeviceGet(&ctx->device, ordinal), "cuDeviceGet"))
    return std::move(error);
  if (llvm::Error error = driver.check(
          driver.cuDevicePrimaryCtxRetain(&ctx->context, ctx->device),
          "cuDevicePrimaryCtxRetain"))
    return std::move(error);
  if (llvm::Error error =
          driver.check(driver.cuCtxSetCurrent(ctx->context), "cuCtxSetCurrent"))
    return std::move(error);
  return std::move(ctx);
}

CudaContext::~CudaContext() {
  if (context)
    llvm::consumeError(drv->check(drv->cuDevicePrimaryCtxRelease(device),
                                  "cuDevicePrimaryCtxRelease"));
}

std::string CudaContext::deviceName() const {
  char name[256] = {};
  if (drv->cuDeviceGetName(name, sizeof(name) - 1, device) != 0)
    return "unknown CUDA device";
  return name;
}

llvm::Expected<CudaModule> CudaContext::loadPTX(llvm::StringRef ptx) const {
  std::string image = ptx.str(); // NUL-terminated
  llvm::SmallVector<char, 0> log(8192, '\0');
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes};
  void *values[] = {log.data(),
                    reinterpret_cast<void *>(uintptr_t(log.size() - 1))};
  CudaModule module;
  module.driver = drv;
  CUresult result = drv->cuModuleLoadDataEx(&module.module, image.c_str(), 2,
                                            options, values);
  if (llvm::Error error = drv->check(result, "cuModuleLoadDataEx")) {
    std::string jitLog(log.data());
    if (jitLog.empty())
      return std::move(error);
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::toString(std::move(error)) +
                                       "; PTX JIT log:\n" + jitLog);
  }
  return std::move(module);
}

llvm::Expected<DeviceBuffer> CudaContext::allocate(size_t bytes) const {
  DeviceBuffer buffer;
  buffer.driver = drv;
  if (llvm::Error error =
          drv->check(drv->cuMemAlloc(&buffer.ptr, bytes ? bytes : 1),
                     "cuMemAlloc(" + std::to_string(bytes) + " bytes)"))
    return std::move(error);
  buffer.bytes = bytes;
  return std::move(buffer);
}

llvm::Error CudaContext::launch(CUfunction function, unsigned gridX,
                                unsigned blockX,
                                llvm::ArrayRef<void *> parameters,
                                unsigned sharedBytes) const {
  llvm::SmallVector<void *> params(parameters.begin(), parameters.end());
  return drv->check(drv->cuLaunchKernel(function, gridX, 1, 1, blockX, 1, 1,
                                        sharedBytes, nullptr, params.data(),
                                        nullptr),
                    "cuLaunchKernel");
}

llvm::Error CudaContext::synchronize() const {
  return drv->check(drv->cuCtxSynchronize(), "cuCtxSynchronize");
}

} // namespace ftl::rt::cuda
