//===- CudaDriverTest.cpp - The CUDA driver loader ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The error paths run everywhere against stand-in driver libraries; the
// GPU test at the end runs only where libcuda.so.1 and a device exist.
//
//===----------------------------------------------------------------------===//

#include "ftl/Cuda/CudaDriver.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <vector>

using namespace ftl::rt::cuda;

namespace {

std::string errorText(llvm::Error error) {
  return llvm::toString(std::move(error));
}

TEST(CudaDriverTest, MissingLibraryIsUnavailable) {
  auto driver = CudaDriver::open("/nonexistent/libcuda.so.1");
  ASSERT_FALSE(driver);
  std::string message = errorText(driver.takeError());
  EXPECT_NE(message.find("the CUDA driver is unavailable"), std::string::npos)
      << message;
  EXPECT_NE(message.find("'/nonexistent/libcuda.so.1'"), std::string::npos)
      << message;
}

TEST(CudaDriverTest, MissingSymbolIsNamed) {
  auto driver = CudaDriver::open(FTL_FAKE_CUDA_INCOMPLETE);
  ASSERT_FALSE(driver);
  std::string message = errorText(driver.takeError());
  EXPECT_NE(message.find("unavailable"), std::string::npos) << message;
  EXPECT_NE(message.find("no symbol 'cuLaunchKernel'"), std::string::npos)
      << message;
}

TEST(CudaDriverTest, InitFailureCarriesTheCudaErrorName) {
  unsetenv("FTL_FAKE_CUDA_INIT");
  auto driver = CudaDriver::open(FTL_FAKE_CUDA);
  ASSERT_FALSE(driver);
  EXPECT_EQ(errorText(driver.takeError()),
            "the CUDA driver is unavailable: cuInit failed: "
            "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)");
}

TEST(CudaDriverTest, ResultsBecomeErrors) {
  setenv("FTL_FAKE_CUDA_INIT", "ok", 1);
  auto driver = CudaDriver::open(FTL_FAKE_CUDA);
  unsetenv("FTL_FAKE_CUDA_INIT");
  ASSERT_TRUE(bool(driver)) << errorText(driver.takeError());
  EXPECT_EQ((*driver)->version(), 13000);
  llvm::Error ok = (*driver)->check(0, "cuCtxSynchronize");
  EXPECT_FALSE(bool(ok));
  EXPECT_EQ(errorText((*driver)->check(700, "cuLaunchKernel")),
            "cuLaunchKernel failed: CUDA_ERROR_ILLEGAL_ADDRESS (an illegal "
            "memory access was encountered)");
  // A code the driver cannot name is shown as a number.
  EXPECT_EQ(errorText((*driver)->check(999, "cuMemAlloc")),
            "cuMemAlloc failed: CUDA error 999");
  // The stand-in has no devices.
  auto context = CudaContext::create(**driver, 0);
  ASSERT_FALSE(context);
  EXPECT_EQ(errorText(context.takeError()),
            "CUDA device 0 does not exist; 0 device(s) found");
}

TEST(CudaDriverTest, CudaErrorFormatting) {
  EXPECT_EQ(errorText(cudaError("cuInit", 3, "CUDA_ERROR_NOT_INITIALIZED",
                                "initialization error")),
            "cuInit failed: CUDA_ERROR_NOT_INITIALIZED (initialization error)");
  EXPECT_EQ(errorText(cudaError("cuInit", 3, nullptr, nullptr)),
            "cuInit failed: CUDA error 3");
}

// A real driver: round-trips memory and reports bad PTX with the JIT log.
TEST(CudaDriverTest, RealDevice) {
  auto driver = CudaDriver::open();
  if (!driver)
    GTEST_SKIP() << errorText(driver.takeError());
  auto context = CudaContext::create(**driver);
  if (!context)
    GTEST_SKIP() << errorText(context.takeError());
  std::vector<float> host = {1, 2, 3, 4}, back(4, 0);
  auto buffer = (*context)->allocate(host.size() * sizeof(float));
  ASSERT_TRUE(bool(buffer)) << errorText(buffer.takeError());
  llvm::Error error = buffer->copyFrom(host.data(), 16);
  ASSERT_FALSE(bool(error)) << errorText(std::move(error));
  error = buffer->copyTo(back.data(), 16);
  ASSERT_FALSE(bool(error)) << errorText(std::move(error));
  EXPECT_EQ(back, host);
  EXPECT_EQ(errorText(buffer->copyFrom(host.data(), 17)),
            "copy of 17 bytes into a device buffer of 16");
  auto module = (*context)->loadPTX(".version 7.8\n.target sm_90\n"
                                    ".address_size 64\nnot ptx at all\n");
  ASSERT_FALSE(module);
  std::string message = errorText(module.takeError());
  EXPECT_NE(message.find("cuModuleLoadDataEx failed"), std::string::npos)
      << message;
}

} // namespace
