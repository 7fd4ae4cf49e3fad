//===- JitKernels.cpp - JIT-compiled fused groups -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/JitKernels.h"

#include "ftl/Codegen/FusedKernels.h"
#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Engine/InterpretedKernels.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdlib>

using namespace ftl::rt;

JitKernels::JitKernels() = default;
JitKernels::~JitKernels() = default;

llvm::Expected<std::unique_ptr<JitKernels>>
JitKernels::create(mlir::ModuleOp module) {
  auto compiled = codegen::compileFusedKernels(module);
  if (!compiled)
    return compiled.takeError();
  std::unique_ptr<JitKernels> jit(new JitKernels());
  jit->kernels = std::move(*compiled);
  return jit;
}

FusedKernel JitKernels::lookup(mlir::ftlt::FusedOp op) const {
  return {kernels->lookup(op), nullptr};
}

double JitKernels::compileSeconds() const { return kernels->compileSeconds(); }

llvm::Expected<std::unique_ptr<FusedKernelProvider>>
(::ftl::rt::makeFusedKernels)(mlir::ModuleOp module) {
  const char *backend = std::getenv("FTL_FUSED_BACKEND");
  llvm::StringRef which = backend ? backend : "jit";
  if (which == "interpret") {
    auto interpreted = InterpretedKernels::create(module);
    if (!interpreted)
      return interpreted.takeError();
    return std::unique_ptr<FusedKernelProvider>(std::move(*interpreted));
  }
  if (which != "jit" && !which.empty())
    return llvm::createStringError(
        "FTL_FUSED_BACKEND is '" + which.str() +
        "'; expected 'jit' (the default) or 'interpret'");
  auto jit = JitKernels::create(module);
  if (!jit)
    return jit.takeError();
  return std::unique_ptr<FusedKernelProvider>(std::move(*jit));
}
