//===- CodegenTestUtil.h - Helpers for the code generator tests -*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_UNITTESTS_CODEGEN_CODEGENTESTUTIL_H
#define FTL_UNITTESTS_CODEGEN_CODEGENTESTUTIL_H

#include "ftl/Codegen/FusedKernels.h"
#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Runtime/Rng.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "gtest/gtest.h"

#include <functional>
#include <string>
#include <vector>

namespace ftl::codegen::test {

/// A context with the dialects of fused step functions.
class CodegenTest : public ::testing::Test {
protected:
  CodegenTest();
  /// Parses MLIR text (fails the test on errors).
  mlir::OwningOpRef<mlir::ModuleOp> parse(llvm::StringRef text);
  /// Parses and runs ftlt-fuse-elementwise on every function.
  mlir::OwningOpRef<mlir::ModuleOp> parseAndFuse(llvm::StringRef text);

  mlir::MLIRContext ctx;
};

/// Replaces every "{R}" by `rows` and "{C}" by `cols`.
std::string instantiate(llvm::StringRef pattern, int64_t rows, int64_t cols);

/// The fused ops of a module, in walk order.
std::vector<mlir::ftlt::FusedOp> fusedOps(mlir::ModuleOp module);

/// Number of floats a buffer of this access kind holds.
size_t bufferSize(mlir::ftlt::Access access, int64_t rows, int64_t cols);

/// Inputs and results of one group in the kernels' layout.
struct GroupData {
  std::vector<std::vector<float>> inputs, results;
  std::vector<const float *> inputPointers() const;
  std::vector<float *> resultPointers();
};

/// Random inputs (`value(input index, rng)`, standard normal by default)
/// and zeroed results.
GroupData makeData(mlir::ftlt::FusedOp op, ftl::rt::Rng &rng,
                   std::function<float(unsigned, ftl::rt::Rng &)> value = {});

/// Runs `fn` over the rows in pieces [splits[i], splits[i + 1]) (the whole
/// range if `splits` is empty), adding colsum partials in piece order.
void runKernel(RowFn fn, mlir::ftlt::FusedOp op, GroupData &data,
               llvm::ArrayRef<int64_t> splits = {});

/// Runs the reference interpreter into `data.results`.
void runInterpreter(mlir::ftlt::FusedOp op, GroupData &data);

/// max |a - b| / max(max |reference|, floor) over the elements. A floor of
/// the inputs' scale keeps ill-conditioned results that are tiny (such as
/// rms_norm_grad over one column, where dx is a cancellation) from counting
/// rounding noise as a large relative error.
double normwiseError(llvm::ArrayRef<float> a, llvm::ArrayRef<float> reference,
                     double floor = 0);

/// Distance in units in the last place between two finite floats.
int64_t ulpDistance(float a, float b);

/// The source tree (FTL_SOURCE_DIR).
std::string sourcePath(llvm::StringRef relative);

} // namespace ftl::codegen::test

#endif // FTL_UNITTESTS_CODEGEN_CODEGENTESTUTIL_H
