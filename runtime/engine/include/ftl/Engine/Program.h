//===- ftl/Engine/Program.h - Running a compiled step function --*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A `Program` executes one ftlt function at the fused level on the CPU. It
/// plans memory once (every intermediate tensor gets an offset in one arena,
/// reused by liveness), turns each op into an instruction with resolved
/// pointers (tuned kernels for GEMM, attention and the fused LM head; the
/// JIT-compiled code for `ftlt.fused` groups; small loops for the rest) and
/// then runs that list as often as asked. Arguments and results live in
/// memory the caller binds (parameters, gradients, batches); a result bound
/// to an argument's memory is computed in place.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_ENGINE_PROGRAM_H
#define FTL_ENGINE_PROGRAM_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
namespace func {
class FuncOp;
}
namespace ftlt {
class FusedOp;
}
} // namespace mlir

namespace ftl::kernels {
class ThreadPool;
}

namespace ftl::rt {

/// The C ABI of a JIT-compiled fused group: `buffers` holds the inputs' then
/// the results' base pointers; elem and row buffers are indexed with the
/// absolute row; a colsum result points at a [cols] partial the call
/// overwrites with the sum over its rows.
using FusedRowFn = void (*)(void **buffers, int64_t rowBegin, int64_t rowEnd);

/// A runnable fused group: the function, and a context pointer the executor
/// stores at `buffers[-1]` (null for JIT code, which never reads it; an
/// interpreter finds its state there).
struct FusedKernel {
  FusedRowFn fn = nullptr;
  void *context = nullptr;
};

/// Where compiled fused groups come from (the CPU JIT, or the interpreter).
class FusedKernelProvider {
public:
  virtual ~FusedKernelProvider();
  virtual FusedKernel lookup(mlir::ftlt::FusedOp op) const = 0;
};

/// One argument or result of the function.
struct ValueInfo {
  llvm::SmallVector<int64_t, 2> shape;
  bool isInt = false;   ///< i32 (token ids, positions, segments)
  std::string param;    ///< `ftl.param` name, if any
  std::string batch;    ///< `ftl.batch` name, if any
  std::string gradAcc;  ///< `ftl.grad_acc` name, if any
  bool trainable = false;
  int64_t numel() const;
  size_t bytes() const { return size_t(numel()) * 4; }
};

class Program {
public:
  ~Program();

  /// Plans `fn` (which must be at the fused level). The function may be
  /// destroyed afterwards: the program keeps what it needs.
  static llvm::Expected<std::unique_ptr<Program>>
  build(mlir::func::FuncOp fn, const FusedKernelProvider &kernels,
        kernels::ThreadPool *pool);

  llvm::ArrayRef<ValueInfo> arguments() const { return args; }
  llvm::ArrayRef<ValueInfo> results() const { return resultInfos; }
  /// Index of the argument with `ftl.param`/`ftl.batch`/`ftl.grad_acc` name.
  int findArgument(llvm::StringRef param, llvm::StringRef batch = {},
                   llvm::StringRef gradAcc = {}) const;

  /// Binds caller memory (at least the value's bytes, 4-byte aligned; 64 for
  /// speed). Every argument and result must be bound before run(). A result
  /// may be bound to the memory of an argument the same op reads (in-place
  /// update, e.g. gradient accumulation or an optimizer step).
  void bindArgument(unsigned i, void *data);
  void bindResult(unsigned i, void *data);

  /// Runs the instructions; bitwise reproducible for the same inputs.
  llvm::Error run();

  /// Bytes of the arena for intermediate tensors (after reuse).
  size_t arenaBytes() const { return arenaSize; }
  /// Sum of the intermediate tensors' sizes (without reuse).
  size_t unplannedBytes() const { return unplannedSize; }
  size_t numInstructions() const;
  /// One line per instruction (kind, shapes, arena offsets), for debugging.
  std::string describe() const;

  struct Instruction;
  struct Slot;

private:
  Program();
  llvm::Error resolve();

  std::vector<ValueInfo> args, resultInfos;
  std::vector<Slot> slots;
  std::vector<Instruction> instructions;
  std::vector<void *> argData, resultData;
  void *arena = nullptr;
  size_t arenaSize = 0, unplannedSize = 0;
  kernels::ThreadPool *pool = nullptr;
  bool resolved = false;
};

} // namespace ftl::rt

#endif // FTL_ENGINE_PROGRAM_H
