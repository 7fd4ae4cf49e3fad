//===- LossBench.cpp - Peak memory of the fused and unfused LM-head loss --===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// One forward and backward of `cross_entropy(linear(h, W))` (and of the
// per-token form the preference losses use) at the shape: vocabulary
// 50257, sequence 512, batch 4, hidden 768. `--mode fused` compiles it the way
// `ftl run` does (the ftlt-fuse-lm-head pass: vocabulary chunks, no
// [tokens x vocab] tensor); `--mode unfused` skips that pass. Each mode runs
// in its own process so its peak RSS is its own; bench/loss/run.sh runs both
// and compares the loss and the gradients.
//
//   ftl-loss-bench --mode fused|unfused [--loss ce|tokens] [--out grads.bin]
//
// Prints: mode, loss, peak RSS (MiB), seconds; --out writes dL/dh then dL/dW
// as raw float32.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/JitKernels.h"
#include "ftl/Engine/Program.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Pipeline/Pipeline.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace mlir;

static constexpr int64_t kTokens = 4 * 512, kDim = 768, kVocab = 50257;

static std::string lossFunction(bool perToken) {
  std::string n = std::to_string(kTokens), d = std::to_string(kDim),
              v = std::to_string(kVocab);
  std::string h = "tensor<" + n + "x" + d + "xf32>",
              w = "tensor<" + v + "x" + d + "xf32>",
              logits = "tensor<" + n + "x" + v + "xf32>",
              vec = "tensor<" + n + "xf32>", ids = "tensor<" + n + "xi32>";
  std::string body =
      "  %logits = ftlt.linear %h, %w : " + h + ", " + w + " -> " + logits +
      "\n";
  if (perToken)
    body += "  %nll, %lse = ftlt.token_nll %logits, %t : " + logits + ", " +
            ids + " -> " + vec + ", " + vec +
            "\n  %wn = ftlt.mul %nll, %weights : " + vec +
            "\n  %l = ftlt.sum %wn : " + vec + " -> tensor<f32>\n";
  else
    body += "  %l, %lse = ftlt.cross_entropy %logits, %t, %weights : " +
            logits + ", " + ids + ", " + vec + " -> tensor<f32>, " + vec +
            "\n";
  return "func.func @f(%h: " + h + " {ftl.trainable}, %w: " + w +
         " {ftl.trainable}, %t: " + ids + ", %weights: " + vec +
         ") -> tensor<f32> attributes {ftl.loss} {\n" + body +
         "  return %l : tensor<f32>\n}\n";
}

int main(int argc, char **argv) {
  std::string mode = "fused", loss = "ce", out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mode" && i + 1 < argc)
      mode = argv[++i];
    else if (a == "--loss" && i + 1 < argc)
      loss = argv[++i];
    else if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else {
      std::fprintf(stderr, "usage: ftl-loss-bench --mode fused|unfused "
                           "[--loss ce|tokens] [--out grads.bin]\n");
      return 2;
    }
  }
  if ((mode != "fused" && mode != "unfused") ||
      (loss != "ce" && loss != "tokens")) {
    std::fprintf(stderr, "unknown --mode or --loss\n");
    return 2;
  }
  DialectRegistry registry;
  ::ftl::registerCompilerDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(lossFunction(loss == "tokens"), &context);
  if (!module)
    return 1;
  // The order of the real pipeline (compiler/lib/Pipeline): the head is
  // fused before autodiff, so the backward never sees the logits.
  PassManager pm(&context);
  if (mode == "fused")
    pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseLMHead());
  pm.addPass(mlir::ftl::createAutodiff());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseElementwise());
  if (failed(pm.run(*module)))
    return 1;
  auto kernels = ::ftl::rt::makeFusedKernels(*module);
  if (!kernels) {
    llvm::errs() << llvm::toString(kernels.takeError()) << "\n";
    return 1;
  }
  ::ftl::kernels::ThreadPool pool(2);
  auto fn = *module->getOps<func::FuncOp>().begin();
  auto program = ::ftl::rt::Program::build(fn, **kernels, &pool);
  if (!program) {
    llvm::errs() << llvm::toString(program.takeError()) << "\n";
    return 1;
  }
  // Inputs: the same for both modes (fixed seed).
  ::ftl::rt::Rng rng(1);
  std::vector<float> h(kTokens * kDim), w(kVocab * kDim), weights(kTokens);
  std::vector<int32_t> targets(kTokens);
  for (float &x : h)
    x = float(rng.normal());
  for (float &x : w)
    x = float(rng.normal() * 0.02);
  for (int64_t i = 0; i < kTokens; ++i) {
    targets[i] = int32_t(rng.below(kVocab));
    weights[i] = i % 7 == 0 ? 0.0f : 1.0f / kTokens; // some masked tokens
  }
  std::vector<float> dh(h.size()), dw(w.size());
  float value = 0;
  (*program)->bindArgument(0, h.data());
  (*program)->bindArgument(1, w.data());
  (*program)->bindArgument(2, targets.data());
  (*program)->bindArgument(3, weights.data());
  (*program)->bindResult(0, &value);
  (*program)->bindResult(1, dh.data());
  (*program)->bindResult(2, dw.data());
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error e = (*program)->run()) {
    llvm::errs() << llvm::toString(std::move(e)) << "\n";
    return 1;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::printf("mode=%s loss=%s value=%.9g peak_rss_mib=%.1f seconds=%.3f "
              "arena_mib=%.1f\n",
              mode.c_str(), loss.c_str(), double(value),
              usage.ru_maxrss / 1024.0, seconds,
              (*program)->arenaBytes() / (1024.0 * 1024.0));
  if (!out.empty()) {
    FILE *f = std::fopen(out.c_str(), "wb");
    if (!f)
      return 1;
    std::fwrite(dh.data(), 4, dh.size(), f);
    std::fwrite(dw.data(), 4, dw.size(), f);
    std::fclose(f);
  }
  return 0;
}
