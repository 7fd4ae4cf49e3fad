//===- CodegenBench.cpp - Generated fused kernels against memory bandwidth
//-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// One thread, buffers of rows x cols floats (64 MiB each, far beyond the
// caches). bytes_per_second counts every byte a kernel must move (inputs
// read once, results written once) per CPU second (on a shared machine the
// wall time also holds time spent waiting for a core); BM_Memcpy and
// BM_AddLoop (plain C++, auto-vectorised) give the bound for the same
// thread. BM_JitCompile times compileFusedKernels on
// a module of fused step functions (FTL_CODEGEN_BENCH_MLIR, default the
// small GPT-2 input of test/Codegen).
//
//===----------------------------------------------------------------------===//

#include "ftl/Codegen/FusedKernels.h"
#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Pipeline/Pipeline.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/MemoryBuffer.h"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace mlir;

namespace {

constexpr int64_t kRows = 8192, kCols = 2048;

/// A context, a module and its compiled kernels.
struct Compiled {
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<::ftl::codegen::FusedKernels> kernels;
  ::ftl::codegen::RowFn fn = nullptr;

  explicit Compiled(const std::string &text) : ctx(registry()) {
    module = parseSourceString<ModuleOp>(text, &ctx);
    if (!module)
      std::abort();
    PassManager pm(&ctx);
    pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseElementwise());
    if (failed(pm.run(*module)))
      std::abort();
    auto compiled = ::ftl::codegen::compileFusedKernels(*module);
    if (!compiled) {
      llvm::errs() << llvm::toString(compiled.takeError()) << "\n";
      std::abort();
    }
    kernels = std::move(*compiled);
    module->walk([&](ftlt::FusedOp op) { fn = kernels->lookup(op); });
  }

  static DialectRegistry registry() {
    DialectRegistry r;
    ::ftl::registerCompilerDialects(r);
    return r;
  }
};

std::string shaped(const char *pattern) {
  std::string text;
  for (const char *p = pattern; *p; ++p) {
    if (std::strncmp(p, "{R}", 3) == 0) {
      text += std::to_string(kRows);
      p += 2;
    } else if (std::strncmp(p, "{C}", 3) == 0) {
      text += std::to_string(kCols);
      p += 2;
    } else {
      text += *p;
    }
  }
  return text;
}

std::vector<float> randomBuffer(size_t n, uint64_t seed) {
  ::ftl::rt::Rng rng(seed);
  std::vector<float> v(n);
  for (float &x : v)
    x = float(rng.normal());
  return v;
}

/// Runs the compiled group over all rows; `sizes` are the floats of its
/// buffers (inputs then results, in ABI order).
void runGroup(benchmark::State &state, const char *pattern,
              std::vector<size_t> sizes, size_t bytesPerIteration) {
  Compiled compiled(shaped(pattern));
  std::vector<std::vector<float>> buffers;
  std::vector<void *> pointers;
  for (size_t i = 0; i < sizes.size(); ++i) {
    buffers.push_back(randomBuffer(sizes[i], i + 1));
    // Second moments and step sizes must be positive for AdamW.
    for (float &x : buffers.back())
      x = std::fabs(x) * 0.01f + 0.01f;
    pointers.push_back(buffers.back().data());
  }
  for (auto _ : state) {
    compiled.fn(pointers.data(), 0, kRows);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * bytesPerIteration);
}

const size_t kElem = size_t(kRows) * kCols;
const size_t kElemBytes = kElem * sizeof(float);

void BM_Memcpy(benchmark::State &state) {
  std::vector<float> a = randomBuffer(kElem, 1), b(kElem);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), kElemBytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 2 * kElemBytes);
}

/// a + b written to c: the elementwise shape's bound (two streams in, one
/// out) in plain C++.
void BM_AddLoop(benchmark::State &state) {
  std::vector<float> a = randomBuffer(kElem, 1), b = randomBuffer(kElem, 2),
                     c(kElem);
  for (auto _ : state) {
    float *__restrict out = c.data();
    const float *__restrict x = a.data(), *__restrict y = b.data();
    for (size_t i = 0; i < kElem; ++i)
      out[i] = x[i] + y[i];
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 3 * kElemBytes);
}

void BM_FusedAdd(benchmark::State &state) {
  runGroup(state, R"(
func.func @f(%a: tensor<{R}x{C}xf32>, %b: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.add %a, %b : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
           {kElem, kElem, kElem}, 3 * kElemBytes);
}

// SwiGLU as the Llama MLP fuses it: silu(gate) and silu(gate) * up.
void BM_FusedSwiGLU(benchmark::State &state) {
  runGroup(state, R"(
func.func @f(%g: tensor<{R}x{C}xf32>, %u: tensor<{R}x{C}xf32>) -> (tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>) {
  %s = ftlt.silu %g : tensor<{R}x{C}xf32>
  %r = ftlt.mul %s, %u : tensor<{R}x{C}xf32>
  return %s, %r : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>
})",
           {kElem, kElem, kElem, kElem}, 4 * kElemBytes);
}

void BM_FusedGelu(benchmark::State &state) {
  runGroup(state, R"(
func.func @f(%a: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.gelu %a : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
           {kElem, kElem}, 2 * kElemBytes);
}

// Two passes over each row (the second from cache): x read once from
// memory, y written once.
void BM_FusedRmsNorm(benchmark::State &state) {
  runGroup(state, R"(
func.func @f(%x: tensor<{R}x{C}xf32>, %w: tensor<{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<{R}x{C}xf32>, tensor<{C}xf32> -> tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
           {kElem, size_t(kCols), kElem}, 2 * kElemBytes);
}

// Three passes per row, a colsum result.
void BM_FusedRmsNormGrad(benchmark::State &state) {
  runGroup(state, R"(
func.func @f(%dy: tensor<{R}x{C}xf32>, %x: tensor<{R}x{C}xf32>, %w: tensor<{C}xf32>) -> (tensor<{R}x{C}xf32>, tensor<{C}xf32>) {
  %dx, %dw = ftlt.rms_norm_grad %dy, %x, %w {eps = 1.0e-05 : f64} : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{C}xf32> -> tensor<{R}x{C}xf32>, tensor<{C}xf32>
  return %dx, %dw : tensor<{R}x{C}xf32>, tensor<{C}xf32>
})",
           {kElem, kElem, size_t(kCols), kElem, size_t(kCols)}, 3 * kElemBytes);
}

// Four streams in, three out (in the runtime the results alias p, m, v).
void BM_FusedAdamW(benchmark::State &state) {
  runGroup(state, R"(
func.func @f(%p: tensor<{R}x{C}xf32>, %g: tensor<{R}x{C}xf32>, %m: tensor<{R}x{C}xf32>, %v: tensor<{R}x{C}xf32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>) -> (tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>) {
  %p2, %m2, %v2 = ftlt.adamw %p, %g, %m, %v, %lr, %b1, %b2 {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, wd = 0.01 : f64} : tensor<{R}x{C}xf32>, tensor<f32>
  return %p2, %m2, %v2 : tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>, tensor<{R}x{C}xf32>
})",
           {kElem, kElem, kElem, kElem, 1, 1, 1, kElem, kElem, kElem},
           7 * kElemBytes);
}

void BM_JitCompile(benchmark::State &state) {
  const char *env = std::getenv("FTL_CODEGEN_BENCH_MLIR");
  std::string path = env ? env
                         : std::string(FTL_SOURCE_DIR) +
                               "/test/Codegen/Inputs/gpt2.fused.mlir";
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    state.SkipWithError(("cannot read " + path).c_str());
    return;
  }
  MLIRContext ctx(Compiled::registry());
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>((*buffer)->getBuffer(), &ctx);
  if (!module) {
    state.SkipWithError(("cannot parse " + path).c_str());
    return;
  }
  size_t groups = 0, kernels = 0;
  double seconds = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    auto compiled = ::ftl::codegen::compileFusedKernels(*module);
    if (!compiled) {
      state.SkipWithError(llvm::toString(compiled.takeError()).c_str());
      return;
    }
    groups = (*compiled)->numGroups();
    kernels = (*compiled)->size();
    seconds += (*compiled)->compileSeconds();
    ++runs;
  }
  state.counters["groups"] = double(groups);
  state.counters["kernels"] = double(kernels);
  if (runs && kernels)
    state.counters["ms_per_kernel"] = 1e3 * seconds / double(runs) / kernels;
}

} // namespace

BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AddLoop)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FusedAdd)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FusedSwiGLU)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FusedGelu)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FusedRmsNorm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FusedRmsNormGrad)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FusedAdamW)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JitCompile)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
