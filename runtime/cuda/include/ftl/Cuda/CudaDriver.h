//===- ftl/Cuda/CudaDriver.h - The CUDA driver API, loaded -*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A small loader for the CUDA driver API: `CudaDriver::open` dlopens
/// libcuda.so.1 and resolves the entry points listed in CudaSymbols.def, so
/// ftl builds and runs without CUDA headers or a GPU (then `open` returns an
/// error saying the driver is unavailable). Every CUresult becomes an
/// llvm::Error that names the call and the CUDA error
/// ("cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX (...)").
/// `CudaContext` holds a device's primary context and loads PTX, allocates,
/// copies and launches.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_CUDA_CUDADRIVER_H
#define FTL_CUDA_CUDADRIVER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ftl::rt::cuda {

// The driver API's handle types, declared here so no CUDA header is needed
// (layout-compatible with cuda.h).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
using CUcontext = CUctx_st *;
struct CUmod_st;
using CUmodule = CUmod_st *;
struct CUfunc_st;
using CUfunction = CUfunc_st *;
struct CUstream_st;
using CUstream = CUstream_st *;

/// An error for a failed driver call: "<call> failed: <NAME> (<text>)".
/// `name`/`text` may be null (then the numeric code is shown).
llvm::Error cudaError(llvm::StringRef call, CUresult result, const char *name,
                      const char *text);

/// The loaded driver library and its entry points.
class CudaDriver {
public:
  /// Loads `library` (libcuda.so.1 by default), resolves every entry point
  /// and calls cuInit. Fails with "the CUDA driver is unavailable: ..." when
  /// the library cannot be loaded or lacks a symbol, and with the CUDA error
  /// when cuInit fails (e.g. no device).
  static llvm::Expected<std::unique_ptr<CudaDriver>>
  open(llvm::StringRef library = "libcuda.so.1");

  ~CudaDriver();
  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;

  /// Success, or an error naming `call` and the CUDA error.
  llvm::Error check(CUresult result, llvm::StringRef call) const;

  /// The driver version (e.g. 13000 for CUDA 13.0).
  int version() const { return driverVersion; }

#define FTL_CUDA_SYMBOL(member, name, params)                                  \
  CUresult(*member) params = nullptr;
#include "ftl/Cuda/CudaSymbols.def"

private:
  CudaDriver() = default;
  void *handle = nullptr;
  int driverVersion = 0;
};

class CudaContext;

/// Device memory, freed on destruction.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&other);
  DeviceBuffer &operator=(DeviceBuffer &&other);
  ~DeviceBuffer();

  CUdeviceptr pointer() const { return ptr; }
  size_t size() const { return bytes; }

  llvm::Error copyFrom(const void *host, size_t count);
  llvm::Error copyTo(void *host, size_t count) const;

private:
  friend class CudaContext;
  const CudaDriver *driver = nullptr;
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
};

/// A loaded module (unloaded on destruction).
class CudaModule {
public:
  CudaModule() = default;
  CudaModule(CudaModule &&other);
  CudaModule &operator=(CudaModule &&other);
  ~CudaModule();

  /// The kernel with this entry name.
  llvm::Expected<CUfunction> function(llvm::StringRef name) const;

private:
  friend class CudaContext;
  const CudaDriver *driver = nullptr;
  CUmodule module = nullptr;
};

/// The primary context of one device, current on the creating thread.
class CudaContext {
public:
  static llvm::Expected<std::unique_ptr<CudaContext>>
  create(const CudaDriver &driver, int ordinal = 0);
  ~CudaContext();

  const CudaDriver &driver() const { return *drv; }
  /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
  std::string deviceName() const;

  /// JIT-compiles PTX text; the error carries the JIT's log.
  llvm::Expected<CudaModule> loadPTX(llvm::StringRef ptx) const;
  llvm::Expected<DeviceBuffer> allocate(size_t bytes) const;
  /// Launches `function` with the parameter pointers `parameters` (one per
  /// kernel parameter, each pointing at the value).
  llvm::Error launch(CUfunction function, unsigned gridX, unsigned blockX,
                     llvm::ArrayRef<void *> parameters,
                     unsigned sharedBytes = 0) const;
  llvm::Error synchronize() const;

private:
  CudaContext() = default;
  const CudaDriver *drv = nullptr;
  CUdevice device = 0;
  CUcontext context = nullptr;
};

} // namespace ftl::rt::cuda

#endif // FTL_CUDA_CUDADRIVER_H
