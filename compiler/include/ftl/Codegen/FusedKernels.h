//===- ftl/Codegen/FusedKernels.h - JIT-compiled fused groups ---*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// CPU code generation for `ftlt.fused` kernel groups. Every group in a module
/// becomes one native function (identical groups share one) with the C ABI
///
///     void fn(void **buffers, int64_t rowBegin, int64_t rowEnd);
///
/// `buffers` holds the base pointer of each input, then of each result, in
/// the op's order. elem buffers are [rows * cols] row-major and row buffers
/// [rows], both indexed with the absolute row, so callers may split the rows
/// of one group across threads; col buffers are [cols]; scalar buffers hold
/// one float. A colsum result's pointer is a [cols] partial buffer that the
/// call overwrites with the sum over its rows [rowBegin, rowEnd). See
/// docs/codegen.md for the loop structure and the tolerances.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_CODEGEN_FUSEDKERNELS_H
#define FTL_CODEGEN_FUSEDKERNELS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>

namespace mlir {
class ExecutionEngine;
class ModuleOp;
namespace ftlt {
class FusedOp;
} // namespace ftlt
} // namespace mlir

namespace ftl::codegen {

/// The attribute that names a fused op's kernel (set by code generation).
constexpr llvm::StringLiteral kKernelAttrName = "ftl.kernel";

/// Settings of the CPU code generator.
struct CodegenOptions {
  /// LLVM optimisation level of the generated code (0 to 3).
  unsigned optLevel = 3;
  /// Lower exp, tanh, log, erf, ... to MLIR's polynomial approximations
  /// (vectorisable) instead of libm calls.
  bool approximateMath = true;
  /// The vector width the loop vectoriser should prefer, in bits (0: the
  /// target's default; many AVX-512 targets default to 256).
  unsigned preferVectorWidth = 512;
  /// Keep the optimised LLVM IR text for `FusedKernels::llvmIR()`.
  bool keepLLVMIR = false;
};

/// The native entry point of one kernel.
using RowFn = void (*)(void **buffers, int64_t rowBegin, int64_t rowEnd);

/// The JIT-compiled kernels of one module.
class FusedKernels {
public:
  ~FusedKernels();

  /// The kernel of `op` (by its `ftl.kernel` attribute, so a clone of the
  /// compiled module works too); null if the op has none or it is unknown.
  RowFn lookup(mlir::ftlt::FusedOp op) const;
  /// The kernel with this name; null if unknown.
  RowFn lookup(llvm::StringRef kernelName) const;

  /// The optimised LLVM IR of all kernels (empty unless
  /// `CodegenOptions::keepLLVMIR`).
  std::string llvmIR() const { return ir; }

  /// Number of distinct kernels (after deduplication).
  size_t size() const { return functions.size(); }
  /// Fused ops seen in the module (before deduplication).
  size_t numGroups() const { return groups; }
  /// Seconds spent building, lowering and JIT-compiling.
  double compileSeconds() const { return seconds; }

private:
  friend llvm::Expected<std::unique_ptr<FusedKernels>>
  compileFusedKernels(mlir::ModuleOp module, const CodegenOptions &options);
  FusedKernels();

  std::unique_ptr<mlir::ExecutionEngine> engine;
  llvm::StringMap<RowFn> functions;
  std::string ir;
  size_t groups = 0;
  double seconds = 0;
};

/// Generates and JIT-compiles a kernel for every `ftlt.fused` op in the
/// module's functions, deduplicating identical groups (same body, access
/// kinds and cols; rows is a run-time argument). Sets `ftl.kernel` on every
/// fused op.
llvm::Expected<std::unique_ptr<FusedKernels>>
compileFusedKernels(mlir::ModuleOp module, const CodegenOptions &options = {});

/// The MLIR of the kernels before lowering (func + scf + arith/math + llvm
/// pointer ops), for tests and debugging. Sets `ftl.kernel` like
/// `compileFusedKernels`.
llvm::Expected<std::string> printKernelMLIR(mlir::ModuleOp module);

} // namespace ftl::codegen

#endif // FTL_CODEGEN_FUSEDKERNELS_H
