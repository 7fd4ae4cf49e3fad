//===- CodegenTestUtil.cpp - Helpers for the code generator tests ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtil.h"

#include "ftl/Codegen/Interpreter.h"
#include "ftl/Pipeline/Pipeline.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::ftlt;

namespace ftl::codegen::test {

static DialectRegistry compilerDialects() {
  DialectRegistry registry;
  ::ftl::registerCompilerDialects(registry);
  return registry;
}

CodegenTest::CodegenTest() : ctx(compilerDialects()) {
  ctx.loadAllAvailableDialects();
}

OwningOpRef<ModuleOp> CodegenTest::parse(llvm::StringRef text) {
  std::string errors;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    errors += d.str() + "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  EXPECT_TRUE(module) << errors;
  return module;
}

OwningOpRef<ModuleOp> CodegenTest::parseAndFuse(llvm::StringRef text) {
  OwningOpRef<ModuleOp> module = parse(text);
  if (!module)
    return module;
  PassManager pm(&ctx);
  pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseElementwise());
  EXPECT_TRUE(succeeded(pm.run(*module)));
  return module;
}

std::string instantiate(llvm::StringRef pattern, int64_t rows, int64_t cols) {
  std::string text;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.substr(i).starts_with("{R}")) {
      text += std::to_string(rows);
      i += 2;
    } else if (pattern.substr(i).starts_with("{C}")) {
      text += std::to_string(cols);
      i += 2;
    } else {
      text += pattern[i];
    }
  }
  return text;
}

std::vector<FusedOp> fusedOps(ModuleOp module) {
  std::vector<FusedOp> ops;
  module.walk([&](FusedOp op) { ops.push_back(op); });
  return ops;
}

size_t bufferSize(Access access, int64_t rows, int64_t cols) {
  switch (access) {
  case Access::Elem:
    return size_t(rows * cols);
  case Access::Col:
  case Access::ColSum:
    return size_t(cols);
  case Access::Row:
    return size_t(rows);
  case Access::Scalar:
    return 1;
  }
  return 0;
}

static Access accessOf(Attribute attr) {
  return *parseAccess(cast<StringAttr>(attr).getValue());
}

std::vector<const float *> GroupData::inputPointers() const {
  std::vector<const float *> pointers;
  for (const auto &v : inputs)
    pointers.push_back(v.data());
  return pointers;
}

std::vector<float *> GroupData::resultPointers() {
  std::vector<float *> pointers;
  for (auto &v : results)
    pointers.push_back(v.data());
  return pointers;
}

GroupData makeData(FusedOp op, ::ftl::rt::Rng &rng,
                   std::function<float(unsigned, ::ftl::rt::Rng &)> value) {
  GroupData data;
  int64_t rows = op.getRows(), cols = op.getCols();
  for (auto [i, attr] : llvm::enumerate(op.getInputAccess())) {
    std::vector<float> v(bufferSize(accessOf(attr), rows, cols));
    for (float &x : v)
      x = value ? value(i, rng) : float(rng.normal());
    data.inputs.push_back(std::move(v));
  }
  for (Attribute attr : op.getResultAccess())
    data.results.emplace_back(bufferSize(accessOf(attr), rows, cols), 0.0f);
  return data;
}

void runKernel(RowFn fn, FusedOp op, GroupData &data,
               llvm::ArrayRef<int64_t> splits) {
  ASSERT_NE(fn, nullptr);
  std::vector<int64_t> bounds(splits.begin(), splits.end());
  if (bounds.empty())
    bounds = {0, op.getRows()};
  int64_t cols = op.getCols();
  std::vector<bool> colsum;
  for (Attribute attr : op.getResultAccess())
    colsum.push_back(accessOf(attr) == Access::ColSum);
  for (size_t i = 0; i < colsum.size(); ++i)
    if (colsum[i])
      std::fill(data.results[i].begin(), data.results[i].end(), 0.0f);
  for (size_t piece = 0; piece + 1 < bounds.size(); ++piece) {
    std::vector<std::vector<float>> partials;
    std::vector<void *> buffers;
    for (auto &v : data.inputs)
      buffers.push_back(v.data());
    for (size_t i = 0; i < colsum.size(); ++i) {
      if (colsum[i]) {
        // Filled with garbage: the kernel must overwrite it.
        partials.emplace_back(cols, 12345.0f);
        buffers.push_back(partials.back().data());
      } else {
        partials.emplace_back();
        buffers.push_back(data.results[i].data());
      }
    }
    fn(buffers.data(), bounds[piece], bounds[piece + 1]);
    for (size_t i = 0; i < colsum.size(); ++i)
      if (colsum[i])
        for (int64_t c = 0; c < cols; ++c)
          data.results[i][c] += partials[i][c];
  }
}

void runInterpreter(FusedOp op, GroupData &data) {
  llvm::Error error =
      interpretFused(op, data.inputPointers(), data.resultPointers());
  ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
}

double normwiseError(llvm::ArrayRef<float> a, llvm::ArrayRef<float> reference,
                     double floor) {
  double maxDiff = 0, maxRef = floor;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(reference[i]))
      return INFINITY;
    if (std::isnan(a[i]))
      continue;
    maxDiff = std::max(maxDiff, std::fabs(double(a[i]) - reference[i]));
    maxRef = std::max(maxRef, std::fabs(double(reference[i])));
  }
  if (maxDiff == 0)
    return 0;
  return maxRef == 0 ? INFINITY : maxDiff / maxRef;
}

int64_t ulpDistance(float a, float b) {
  auto ordered = [](float x) {
    int32_t bits;
    std::memcpy(&bits, &x, sizeof(bits));
    return bits < 0 ? int64_t(INT32_MIN) - bits : int64_t(bits);
  };
  return std::llabs(ordered(a) - ordered(b));
}

std::string sourcePath(llvm::StringRef relative) {
  const char *root = std::getenv("FTL_SOURCE_DIR");
  return std::string(root ? root : FTL_SOURCE_DIR) + "/" + relative.str();
}

} // namespace ftl::codegen::test
