//===- PTXTest.cpp - PTX for fused groups, and running it on a GPU --------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// PTX generation runs everywhere (no GPU needed). GpuMatchesCpuJit runs the
// PTX through the CUDA driver and compares with the CPU JIT; it skips itself
// where there is no driver or device.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtil.h"
#include "FusibleOps.h"

#include "ftl/Codegen/FusedKernels.h"
#include "ftl/Codegen/PTX.h"
#include "ftl/Cuda/CudaDriver.h"

#include "llvm/Support/MemoryBuffer.h"

#include <chrono>

using namespace mlir;
using namespace mlir::ftlt;
using namespace ftl::codegen;
using namespace ftl::codegen::test;
using namespace ::ftl::rt::cuda;

namespace {

size_t count(llvm::StringRef text, llvm::StringRef what) {
  return text.count(what);
}

TEST_F(CodegenTest, PTXHasOneEntryPerDistinctGroup) {
  std::string text = instantiate(kFusibleOps[12].text, 8, 64) + // rms_norm_grad
                     instantiate(std::string(kFusibleOps[5].text), 4, 32);
  // Two functions named @f: rename the second.
  size_t second = text.rfind("@f(");
  text.replace(second, 3, "@g(");
  auto module = parseAndFuse(text);
  ASSERT_TRUE(module);
  auto ptx = generatePTX(*module);
  ASSERT_TRUE(bool(ptx)) << llvm::toString(ptx.takeError());
  EXPECT_NE(ptx->find(".target sm_90"), std::string::npos);
  EXPECT_NE(ptx->find(".visible .entry ftl_fused_0("), std::string::npos);
  EXPECT_NE(ptx->find(".visible .entry ftl_fused_1("), std::string::npos);
  EXPECT_EQ(count(*ptx, ".entry"), 2u);
  EXPECT_NE(ptx->find("ld.global.f32"), std::string::npos);
  EXPECT_NE(ptx->find("st.global.f32"), std::string::npos);
  // Row reductions: butterfly shuffles within warps, shared memory across.
  EXPECT_NE(ptx->find("shfl.sync.bfly"), std::string::npos);
  EXPECT_NE(ptx->find("bar.sync"), std::string::npos);
  // Math is inlined (polynomials), no libdevice calls.
  EXPECT_EQ(ptx->find("__nv_"), std::string::npos);
  EXPECT_EQ(ptx->find("call."), std::string::npos);
  EXPECT_EQ(ptx->back(), '\n');
}

TEST_F(CodegenTest, GPUModuleTargetsSm90) {
  auto module = parseAndFuse(instantiate(kFusibleOps[11].text, 2, 16));
  ASSERT_TRUE(module);
  auto text = printGPUModule(*module);
  ASSERT_TRUE(bool(text)) << llvm::toString(text.takeError());
  EXPECT_NE(text->find("#nvvm.target<O = 3, chip = \"sm_90\""),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("gpu.func @ftl_fused_0"), std::string::npos);
  EXPECT_NE(text->find("gpu.all_reduce"), std::string::npos) << *text;
}

TEST_F(CodegenTest, PTXReportsUnsupportedOps) {
  auto module = parse(R"(
func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = ftlt.fused %x attributes {rows = 2 : i64, cols = 4 : i64,
      input_access = ["elem"], result_access = ["elem"]} {
  ^bb0(%a: f32):
    %r = math.atan %a : f32
    ftlt.fused_yield %r : f32
  } : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
})");
  ASSERT_TRUE(module);
  auto ptx = generatePTX(*module);
  ASSERT_FALSE(ptx);
  EXPECT_NE(llvm::toString(ptx.takeError()).find("'math.atan'"),
            std::string::npos);
}

TEST(GpuBlockSize, WarpMultiplesUpTo256) {
  EXPECT_EQ(gpuBlockSize(1), 32u);
  EXPECT_EQ(gpuBlockSize(32), 32u);
  EXPECT_EQ(gpuBlockSize(33), 64u);
  EXPECT_EQ(gpuBlockSize(200), 224u);
  EXPECT_EQ(gpuBlockSize(4097), 256u);
}

//===----------------------------------------------------------------------===//
// On a GPU
//===----------------------------------------------------------------------===//

/// Runs every fused op of `module` on the GPU with `rowsPerBlock` rows per
/// block and compares with the CPU JIT.
void compareWithCpu(const CudaContext &gpu, ModuleOp module,
                    int64_t rowsPerBlock, double tolerance) {
  auto ptx = generatePTX(module);
  ASSERT_TRUE(bool(ptx)) << llvm::toString(ptx.takeError());
  auto cpu = compileFusedKernels(module);
  ASSERT_TRUE(bool(cpu)) << llvm::toString(cpu.takeError());
  auto loaded = gpu.loadPTX(*ptx);
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  ::ftl::rt::Rng rng(41);
  for (FusedOp op : fusedOps(module)) {
    std::string name = op->getAttrOfType<StringAttr>(kKernelAttrName).str();
    SCOPED_TRACE(name + " rows per block " + std::to_string(rowsPerBlock));
    GroupData data = makeData(op, rng, [](unsigned, ::ftl::rt::Rng &r) {
      return float(0.05 + r.uniform());
    });
    GroupData reference = data;
    runKernel((*cpu)->lookup(op), op, reference);

    int64_t rows = op.getRows(), cols = op.getCols();
    int64_t blocks =
        std::max<int64_t>(1, (rows + rowsPerBlock - 1) / rowsPerBlock);
    std::vector<DeviceBuffer> buffers;
    std::vector<CUdeviceptr> pointers;
    for (auto &input : data.inputs) {
      auto buffer = gpu.allocate(input.size() * sizeof(float));
      ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
      llvm::Error error = buffer->copyFrom(input.data(), buffer->size());
      ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
      pointers.push_back(buffer->pointer());
      buffers.push_back(std::move(*buffer));
    }
    std::vector<bool> colsum;
    for (Attribute attr : op.getResultAccess())
      colsum.push_back(cast<StringAttr>(attr).getValue() == "colsum");
    for (size_t i = 0; i < data.results.size(); ++i) {
      size_t n = colsum[i] ? size_t(blocks * cols) : data.results[i].size();
      auto buffer = gpu.allocate(n * sizeof(float));
      ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
      pointers.push_back(buffer->pointer());
      buffers.push_back(std::move(*buffer));
    }
    std::vector<void *> params;
    for (CUdeviceptr &p : pointers)
      params.push_back(&p);
    params.push_back(&rows);
    params.push_back(&rowsPerBlock);
    auto function = loaded->function(name);
    ASSERT_TRUE(bool(function)) << llvm::toString(function.takeError());
    llvm::Error error =
        gpu.launch(*function, unsigned(blocks), gpuBlockSize(cols), params);
    ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    error = gpu.synchronize();
    ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    for (size_t i = 0; i < data.results.size(); ++i) {
      DeviceBuffer &buffer = buffers[data.inputs.size() + i];
      std::vector<float> out(buffer.size() / sizeof(float));
      error = buffer.copyTo(out.data(), buffer.size());
      ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
      if (colsum[i]) {
        // Partials of the blocks, added in block order.
        std::vector<float> total(cols, 0.0f);
        for (int64_t b = 0; b < blocks; ++b)
          for (int64_t c = 0; c < cols; ++c)
            total[c] += out[b * cols + c];
        out = std::move(total);
      }
      EXPECT_LE(normwiseError(out, reference.results[i]), tolerance)
          << "result " << i;
    }
  }
}

TEST_F(CodegenTest, GpuMatchesCpuJit) {
  auto driver = CudaDriver::open();
  if (!driver)
    GTEST_SKIP() << llvm::toString(driver.takeError());
  auto gpu = CudaContext::create(**driver);
  if (!gpu)
    GTEST_SKIP() << llvm::toString(gpu.takeError());
  std::printf("  device: %s, driver %d\n", (*gpu)->deviceName().c_str(),
              (*driver)->version());

  for (const FusibleOpCase &op : kFusibleOps) {
    for (auto [rows, cols] :
         {std::pair<int64_t, int64_t>{5, 17}, {3, 1}, {9, 4097}, {70, 300}}) {
      SCOPED_TRACE(std::string(op.name) + " " + std::to_string(rows) + "x" +
                   std::to_string(cols));
      auto module = parseAndFuse(instantiate(op.text, rows, cols));
      ASSERT_TRUE(module);
      for (int64_t rowsPerBlock : {1, 4})
        compareWithCpu(**gpu, *module, rowsPerBlock, 2e-5);
    }
  }
  for (const char *input :
       {"llama-lora.fused.mlir", "gpt2.fused.mlir", "objectives.fused.mlir"}) {
    SCOPED_TRACE(input);
    auto buffer = llvm::MemoryBuffer::getFile(
        sourcePath(std::string("test/Codegen/Inputs/") + input));
    ASSERT_TRUE(bool(buffer));
    auto module = parse((*buffer)->getBuffer());
    ASSERT_TRUE(module);
    for (int64_t rowsPerBlock : {1, 3})
      compareWithCpu(**gpu, *module, rowsPerBlock, 2e-5);
  }
}

// Not a check: prints the bandwidth of a few large groups on the device
// (bytes every kernel must move / time, host-timed over 20 launches).
TEST_F(CodegenTest, GpuBandwidth) {
  auto driver = CudaDriver::open();
  if (!driver)
    GTEST_SKIP() << llvm::toString(driver.takeError());
  auto gpu = CudaContext::create(**driver);
  if (!gpu)
    GTEST_SKIP() << llvm::toString(gpu.takeError());
  const int64_t rows = 16384, cols = 4096;
  for (int index : {0, 5, 11, 12, 15}) { // add, silu, rms_norm(_grad), adamw
    const FusibleOpCase &op = kFusibleOps[index];
    auto module = parseAndFuse(instantiate(op.text, rows, cols));
    ASSERT_TRUE(module);
    auto ptx = generatePTX(*module);
    ASSERT_TRUE(bool(ptx)) << llvm::toString(ptx.takeError());
    auto loaded = (*gpu)->loadPTX(*ptx);
    ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
    FusedOp fused = fusedOps(*module)[0];
    auto function = loaded->function("ftl_fused_0");
    ASSERT_TRUE(bool(function));
    std::vector<DeviceBuffer> buffers;
    std::vector<CUdeviceptr> pointers;
    size_t bytes = 0;
    int64_t rowsPerBlock = 1;
    auto add = [&](size_t floats, bool counted) {
      auto buffer = (*gpu)->allocate(floats * sizeof(float));
      ASSERT_TRUE(bool(buffer));
      std::vector<float> init(floats, 0.5f);
      llvm::Error error = buffer->copyFrom(init.data(), buffer->size());
      ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
      pointers.push_back(buffer->pointer());
      buffers.push_back(std::move(*buffer));
      if (counted)
        bytes += floats * sizeof(float);
    };
    for (Attribute attr : fused.getInputAccess())
      add(bufferSize(*parseAccess(cast<StringAttr>(attr).getValue()), rows,
                     cols),
          true);
    // Groups with a colsum result take 16 rows per block (fewer partials).
    for (Attribute attr : fused.getResultAccess())
      if (cast<StringAttr>(attr).getValue() == "colsum")
        rowsPerBlock = 16;
    int64_t blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
    for (Attribute attr : fused.getResultAccess()) {
      Access access = *parseAccess(cast<StringAttr>(attr).getValue());
      add(access == Access::ColSum ? size_t(blocks * cols)
                                   : bufferSize(access, rows, cols),
          true);
    }
    std::vector<void *> params;
    for (CUdeviceptr &p : pointers)
      params.push_back(&p);
    int64_t rowsArg = rows;
    params.push_back(&rowsArg);
    params.push_back(&rowsPerBlock);
    auto launch = [&] {
      return (*gpu)->launch(*function, unsigned(blocks), gpuBlockSize(cols),
                            params);
    };
    llvm::Error error = launch();
    ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    error = (*gpu)->synchronize();
    ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    const int iterations = 20;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) {
      error = launch();
      ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    }
    error = (*gpu)->synchronize();
    ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count() /
        iterations;
    std::printf("  %-14s %lldx%lld: %.3f ms, %.0f GB/s\n", op.name,
                (long long)rows, (long long)cols, seconds * 1e3,
                double(bytes) / seconds * 1e-9);
  }
}

} // namespace
