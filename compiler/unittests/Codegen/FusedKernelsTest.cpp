//===- FusedKernelsTest.cpp - The CPU JIT against the interpreter ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Every fusible op alone and the fused chains of real models run through the
// JIT and through the double-precision interpreter. Tolerances (see
// docs/codegen.md): normwise error (max |jit - ref| / max |ref| per result)
// below 2e-6 for the ops (1e-5 with 4097-column reductions), 2e-5 for the
// model chains; polynomial approximations within the per-function ulp bounds
// of MathApproximationError.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtil.h"
#include "FusibleOps.h"

#include "ftl/Codegen/FusedKernels.h"
#include "ftl/Codegen/Interpreter.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace mlir::ftlt;
using namespace ftl::codegen;
using namespace ftl::codegen::test;

namespace {

std::unique_ptr<FusedKernels> compileOrFail(ModuleOp module,
                                            CodegenOptions options = {}) {
  auto kernels = compileFusedKernels(module, options);
  EXPECT_TRUE(bool(kernels)) << llvm::toString(kernels.takeError());
  return kernels ? std::move(*kernels) : nullptr;
}

bool sameBits(llvm::ArrayRef<float> a, llvm::ArrayRef<float> b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

//===----------------------------------------------------------------------===//
// Every fusible op alone, at odd sizes
//===----------------------------------------------------------------------===//

struct Shape {
  int64_t rows, cols;
};

class FusibleOpTest
    : public CodegenTest,
      public ::testing::WithParamInterface<std::tuple<int, Shape>> {};

TEST_P(FusibleOpTest, MatchesInterpreter) {
  const FusibleOpCase &op = kFusibleOps[std::get<0>(GetParam())];
  Shape shape = std::get<1>(GetParam());
  SCOPED_TRACE(std::string(op.name) + " " + std::to_string(shape.rows) + "x" +
               std::to_string(shape.cols));
  auto module = parseAndFuse(instantiate(op.text, shape.rows, shape.cols));
  ASSERT_TRUE(module);
  std::vector<FusedOp> ops = fusedOps(*module);
  ASSERT_EQ(ops.size(), 1u);
  auto kernels = compileOrFail(*module);
  ASSERT_TRUE(kernels);
  ASSERT_EQ(kernels->size(), 1u);

  ::ftl::rt::Rng rng = ::ftl::rt::Rng(7).derive(op.name);
  GroupData jit = makeData(ops[0], rng, op.values);
  GroupData ref = jit;
  runKernel(kernels->lookup(ops[0]), ops[0], jit);
  runInterpreter(ops[0], ref);
  // Inputs are O(1): errors are relative to max(max |ref|, 1).
  double tolerance = shape.cols > 1000 ? 1e-5 : 2e-6;
  for (size_t i = 0; i < jit.results.size(); ++i)
    EXPECT_LE(normwiseError(jit.results[i], ref.results[i], 1.0), tolerance)
        << "result " << i;

  // Splitting the rows gives the same bits for elem and row results.
  if (shape.rows > 1) {
    GroupData split = jit;
    runKernel(kernels->lookup(ops[0]), ops[0], split,
              {0, 1, shape.rows / 2 + 1, shape.rows});
    auto access = ops[0].getResultAccess();
    for (size_t i = 0; i < jit.results.size(); ++i) {
      if (cast<StringAttr>(access[i]).getValue() == "colsum")
        EXPECT_LE(normwiseError(split.results[i], ref.results[i], 1.0),
                  tolerance);
      else
        EXPECT_TRUE(sameBits(split.results[i], jit.results[i]))
            << "result " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllOps, FusibleOpTest,
    ::testing::Combine(::testing::Range(0, int(std::size(kFusibleOps))),
                       ::testing::Values(Shape{5, 17}, Shape{1, 1}, Shape{5, 1},
                                         Shape{1, 3}, Shape{5, 3}, Shape{2, 64},
                                         Shape{5, 4097})),
    [](const auto &info) {
      Shape s = std::get<1>(info.param);
      return std::string(kFusibleOps[std::get<0>(info.param)].name) + "_" +
             std::to_string(s.rows) + "x" + std::to_string(s.cols);
    });

//===----------------------------------------------------------------------===//
// Hand-written groups: row results, max reductions, every input access
//===----------------------------------------------------------------------===//

// Softmax with its log-sum-exp as a row result; inputs of all four kinds.
const char *kSoftmax = R"(
func.func @f(%x: tensor<{R}x{C}xf32>, %t: tensor<{R}xf32>, %s: tensor<f32>, %bias: tensor<{C}xf32>) -> (tensor<{R}x{C}xf32>, tensor<{R}xf32>) {
  %p, %lse = ftlt.fused %x, %t, %s, %bias attributes {rows = {R} : i64, cols = {C} : i64,
      input_access = ["elem", "row", "scalar", "col"], result_access = ["elem", "row"]} {
  ^bb0(%a: f32, %temp: f32, %scale: f32, %b: f32):
    %z0 = arith.mulf %a, %scale : f32
    %z1 = arith.addf %z0, %b : f32
    %z = arith.divf %z1, %temp : f32
    %m = ftlt.row_reduce "max" %z : f32
    %d = arith.subf %z, %m : f32
    %e = math.exp %d : f32
    %sum = ftlt.row_reduce "sum" %e : f32
    %prob = arith.divf %e, %sum : f32
    %l = math.log %sum : f32
    %lse = arith.addf %l, %m : f32
    ftlt.fused_yield %prob, %lse : f32, f32
  } : (tensor<{R}x{C}xf32>, tensor<{R}xf32>, tensor<f32>, tensor<{C}xf32>) -> (tensor<{R}x{C}xf32>, tensor<{R}xf32>)
  return %p, %lse : tensor<{R}x{C}xf32>, tensor<{R}xf32>
})";

class HandWrittenTest : public CodegenTest,
                        public ::testing::WithParamInterface<Shape> {};

TEST_P(HandWrittenTest, SoftmaxWithRowResult) {
  Shape shape = GetParam();
  auto module = parse(instantiate(kSoftmax, shape.rows, shape.cols));
  ASSERT_TRUE(module);
  FusedOp op = fusedOps(*module)[0];
  auto kernels = compileOrFail(*module);
  ASSERT_TRUE(kernels);
  ::ftl::rt::Rng rng(11);
  GroupData jit = makeData(op, rng, [](unsigned i, ::ftl::rt::Rng &r) {
    return i == 1 ? float(0.5 + r.uniform()) : float(3 * r.normal());
  });
  GroupData ref = jit;
  runKernel(kernels->lookup(op), op, jit);
  runInterpreter(op, ref);
  EXPECT_LE(normwiseError(jit.results[0], ref.results[0]), 2e-6);
  EXPECT_LE(normwiseError(jit.results[1], ref.results[1]), 2e-6);
  // Probabilities of a row add up to one.
  for (int64_t r = 0; r < shape.rows; ++r) {
    double total = 0;
    for (int64_t c = 0; c < shape.cols; ++c)
      total += jit.results[0][r * shape.cols + c];
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
  GroupData split = jit;
  runKernel(kernels->lookup(op), op, split, {0, shape.rows / 2, shape.rows});
  EXPECT_TRUE(sameBits(split.results[0], jit.results[0]));
  EXPECT_TRUE(sameBits(split.results[1], jit.results[1]));
}

INSTANTIATE_TEST_SUITE_P(Shapes, HandWrittenTest,
                         ::testing::Values(Shape{1, 1}, Shape{5, 3},
                                           Shape{5, 17}, Shape{1, 4097},
                                           Shape{5, 4097}),
                         [](const auto &info) {
                           return std::to_string(info.param.rows) + "x" +
                                  std::to_string(info.param.cols);
                         });

// A colsum result, a row result and an elem result from one group; the
// call overwrites its colsum partial with the sum over its own rows.
TEST_F(CodegenTest, ColSumPartialsCoverTheirRows) {
  const char *text = R"(
func.func @f(%x: tensor<7x33xf32>) -> (tensor<33xf32>, tensor<7xf32>, tensor<7x33xf32>) {
  %cs, %rs, %y = ftlt.fused %x attributes {rows = 7 : i64, cols = 33 : i64,
      input_access = ["elem"], result_access = ["colsum", "row", "elem"]} {
  ^bb0(%a: f32):
    %sq = arith.mulf %a, %a : f32
    %s = ftlt.row_reduce "sum" %sq : f32
    %y = arith.divf %a, %s : f32
    ftlt.fused_yield %sq, %s, %y : f32, f32, f32
  } : (tensor<7x33xf32>) -> (tensor<33xf32>, tensor<7xf32>, tensor<7x33xf32>)
  return %cs, %rs, %y : tensor<33xf32>, tensor<7xf32>, tensor<7x33xf32>
})";
  auto module = parse(text);
  ASSERT_TRUE(module);
  FusedOp op = fusedOps(*module)[0];
  auto kernels = compileOrFail(*module);
  ASSERT_TRUE(kernels);
  RowFn fn = kernels->lookup(op);
  ::ftl::rt::Rng rng(5);
  GroupData data = makeData(op, rng);
  std::vector<float> partial(33, 99.0f), rowSums(7, -1.0f), y(7 * 33, -1.0f);
  void *buffers[] = {data.inputs[0].data(), partial.data(), rowSums.data(),
                     y.data()};
  fn(buffers, 2, 5);
  for (int64_t c = 0; c < 33; ++c) {
    double expected = 0;
    for (int64_t r = 2; r < 5; ++r)
      expected +=
          double(data.inputs[0][r * 33 + c]) * data.inputs[0][r * 33 + c];
    EXPECT_NEAR(partial[c], expected, 1e-5 * expected);
  }
  // Rows outside [2, 5) are untouched.
  EXPECT_EQ(rowSums[1], -1.0f);
  EXPECT_EQ(rowSums[5], -1.0f);
  EXPECT_NE(rowSums[2], -1.0f);
  EXPECT_EQ(y[1 * 33 + 32], -1.0f);
  EXPECT_EQ(y[5 * 33], -1.0f);
  // An empty range writes zeros to the partial and nothing else.
  fn(buffers, 3, 3);
  for (float v : partial)
    EXPECT_EQ(v, 0.0f);

  GroupData jit = data, ref = data;
  runKernel(fn, op, jit, {0, 3, 7});
  runInterpreter(op, ref);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_LE(normwiseError(jit.results[i], ref.results[i]), 2e-6);
}

//===----------------------------------------------------------------------===//
// Polynomial approximations
//===----------------------------------------------------------------------===//

struct MathCase {
  const char *op;
  float lo, hi;
  int64_t maxUlp;    ///< documented in docs/codegen.md
  double maxAbs = 0; ///< if set, bound the absolute error instead
};

class MathApproximation : public CodegenTest,
                          public ::testing::WithParamInterface<MathCase> {};

// Max error in float ulps against the correctly rounded double result, over
// 20000 inputs spread over the range (and its end points).
TEST_P(MathApproximation, MaxUlpError) {
  MathCase mc = GetParam();
  std::string text = std::string(R"(
func.func @f(%x: tensor<1x20000xf32>) -> tensor<1x20000xf32> {
  %y = ftlt.fused %x attributes {rows = 1 : i64, cols = 20000 : i64,
      input_access = ["elem"], result_access = ["elem"]} {
  ^bb0(%a: f32):
    %r = )") + mc.op +
                     R"( %a : f32
    ftlt.fused_yield %r : f32
  } : (tensor<1x20000xf32>) -> tensor<1x20000xf32>
  return %y : tensor<1x20000xf32>
})";
  auto module = parse(text);
  ASSERT_TRUE(module);
  FusedOp op = fusedOps(*module)[0];
  auto kernels = compileOrFail(*module);
  ASSERT_TRUE(kernels);
  ::ftl::rt::Rng rng(3);
  GroupData jit = makeData(op, rng, [&](unsigned, ::ftl::rt::Rng &r) {
    return float(mc.lo + (double(mc.hi) - mc.lo) * r.uniformDouble());
  });
  jit.inputs[0][0] = mc.lo;
  jit.inputs[0][1] = mc.hi;
  GroupData ref = jit;
  runKernel(kernels->lookup(op), op, jit);
  runInterpreter(op, ref);
  int64_t worst = 0;
  double worstAbs = 0;
  float worstAt = 0;
  for (size_t i = 0; i < jit.results[0].size(); ++i) {
    int64_t d = ulpDistance(jit.results[0][i], ref.results[0][i]);
    worstAbs = std::max(
        worstAbs, std::fabs(double(jit.results[0][i]) - ref.results[0][i]));
    if (d > worst) {
      worst = d;
      worstAt = jit.inputs[0][i];
    }
  }
  std::printf("  %-10s [%g, %g]: max %lld ulp, max abs error %.3g\n", mc.op,
              mc.lo, mc.hi, (long long)worst, worstAbs);
  // sin and cos keep an absolute error bound (their float argument
  // reduction loses the relative accuracy near their zeros).
  if (mc.maxAbs > 0)
    EXPECT_LE(worstAbs, mc.maxAbs) << mc.op;
  else
    EXPECT_LE(worst, mc.maxUlp) << mc.op << " at " << worstAt;
}

INSTANTIATE_TEST_SUITE_P(
    Functions, MathApproximation,
    ::testing::Values(
        MathCase{"math.exp", -87, 88, 2}, MathCase{"math.exp2", -126, 127, 2},
        MathCase{"math.expm1", -10, 10, 3}, MathCase{"math.tanh", -10, 10, 5},
        MathCase{"math.log", 1e-30f, 1e30f, 2},
        MathCase{"math.log2", 1e-30f, 1e30f, 2},
        MathCase{"math.log1p", -0.99f, 100, 3}, MathCase{"math.erf", -4, 4, 5},
        MathCase{"math.sin", -10, 10, 0, 1e-6},
        MathCase{"math.cos", -10, 10, 0, 1e-6},
        MathCase{"math.sqrt", 0, 1e30f, 0},
        MathCase{"math.rsqrt", 1e-30f, 1e30f, 1}),
    [](const auto &info) {
      return std::string(llvm::StringRef(info.param.op).drop_front(5));
    });

//===----------------------------------------------------------------------===//
// Real models: the fused groups of small Llama (LoRA) and GPT-2 steps
//===----------------------------------------------------------------------===//

class ModelChainTest : public CodegenTest,
                       public ::testing::WithParamInterface<const char *> {};

TEST_P(ModelChainTest, EveryGroupMatchesInterpreter) {
  std::string path =
      sourcePath(std::string("test/Codegen/Inputs/") + GetParam());
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(buffer)) << "cannot read " << path;
  auto module = parse((*buffer)->getBuffer());
  ASSERT_TRUE(module);
  std::vector<FusedOp> ops = fusedOps(*module);
  ASSERT_GT(ops.size(), 10u);
  auto kernels = compileOrFail(*module);
  ASSERT_TRUE(kernels);
  EXPECT_EQ(kernels->numGroups(), ops.size());
  EXPECT_LT(kernels->size(), ops.size()); // some groups are identical
  std::printf("  %s: %zu groups, %zu kernels, JIT %.3f s\n", GetParam(),
              ops.size(), kernels->size(), kernels->compileSeconds());
  ::ftl::rt::Rng rng(17);
  for (auto [index, op] : llvm::enumerate(ops)) {
    SCOPED_TRACE("group " + std::to_string(index) + " (" +
                 op->getAttrOfType<StringAttr>(kKernelAttrName).str() + ")");
    // Optimizer groups read bias corrections and second moments: keep them
    // positive like the runtime does (uniform in (0.05, 1]).
    GroupData jit = makeData(
        op, rng, [](unsigned, ::ftl::rt::Rng &r) { return float(r.normal()); });
    if (op.getResultAccess().size() == 3 && op.getInputs().size() >= 7)
      for (auto &input : jit.inputs)
        for (float &x : input)
          x = 0.05f + 0.95f * std::fabs(x) / (1.0f + std::fabs(x));
    GroupData ref = jit;
    runKernel(kernels->lookup(op), op, jit,
              {0, op.getRows() / 3, op.getRows()});
    runInterpreter(op, ref);
    for (size_t i = 0; i < jit.results.size(); ++i)
      EXPECT_LE(normwiseError(jit.results[i], ref.results[i]), 2e-5)
          << "result " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Inputs, ModelChainTest,
                         ::testing::Values("llama-lora.fused.mlir",
                                           "gpt2.fused.mlir",
                                           "objectives.fused.mlir"),
                         [](const auto &info) {
                           std::string name = info.param;
                           name = name.substr(0, name.find('.'));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

//===----------------------------------------------------------------------===//
// Deduplication, lookup, determinism, in-place updates
//===----------------------------------------------------------------------===//

TEST_F(CodegenTest, IdenticalGroupsShareAKernel) {
  std::string text;
  // Two silu groups of 8 columns with different rows, one with 16 columns,
  // one gelu.
  for (auto [name, rows, cols] :
       {std::tuple<const char *, int, int>{"silu", 3, 8},
        {"silu", 5, 8},
        {"silu", 3, 16},
        {"gelu", 3, 8}}) {
    text +=
        instantiate(std::string(R"(
func.func @f_)") + name +
                        "_{R}_{C}" +
                        R"((%a: tensor<{R}x{C}xf32>) -> tensor<{R}x{C}xf32> {
  %r = ftlt.)" + name + R"( %a : tensor<{R}x{C}xf32>
  return %r : tensor<{R}x{C}xf32>
})",
                    rows, cols);
  }
  auto module = parseAndFuse(text);
  ASSERT_TRUE(module);
  std::vector<FusedOp> ops = fusedOps(*module);
  ASSERT_EQ(ops.size(), 4u);
  auto kernels = compileOrFail(*module);
  ASSERT_TRUE(kernels);
  EXPECT_EQ(kernels->numGroups(), 4u);
  EXPECT_EQ(kernels->size(), 3u);
  EXPECT_EQ(kernels->lookup(ops[0]), kernels->lookup(ops[1]));
  EXPECT_NE(kernels->lookup(ops[0]), kernels->lookup(ops[2]));
  EXPECT_NE(kernels->lookup(ops[0]), kernels->lookup(ops[3]));
  EXPECT_EQ(kernels->lookup("no_such_kernel"), nullptr);

  // The kernel names survive cloning the module.
  OwningOpRef<ModuleOp> clone = cast<ModuleOp>((*module)->clone());
  std::vector<FusedOp> cloned = fusedOps(*clone);
  for (size_t i = 0; i < ops.size(); ++i)
    EXPECT_EQ(kernels->lookup(cloned[i]), kernels->lookup(ops[i]));
  // An op without the attribute has no kernel.
  cloned[0]->removeAttr(kKernelAttrName);
  EXPECT_EQ(kernels->lookup(cloned[0]), nullptr);
}

TEST_F(CodegenTest, ResultsAreReproducibleAcrossCompilations) {
  auto module = parseAndFuse(instantiate(kFusibleOps[13].text, 6, 301));
  ASSERT_TRUE(module);
  ASSERT_STREQ(kFusibleOps[13].name, "layer_norm");
  FusedOp op = fusedOps(*module)[0];
  auto first = compileOrFail(*module);
  auto second = compileOrFail(*module);
  ASSERT_TRUE(first && second);
  ::ftl::rt::Rng rng(23);
  GroupData a = makeData(op, rng), b = a, c = a;
  runKernel(first->lookup(op), op, a);
  runKernel(second->lookup(op), op, b);
  runKernel(first->lookup(op), op, c, {0, 1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(sameBits(a.results[0], b.results[0]));
  EXPECT_TRUE(sameBits(a.results[0], c.results[0]));
}

// A learning-rate scale of 1 steps bitwise as no scale; a scale of 0 leaves
// p, m and v bitwise as they were (no decay, no moment update).
TEST_F(CodegenTest, AdamWLrScaleOneIsUnscaledAndZeroIsFrozen) {
  const FusibleOpCase &plain = kFusibleOps[15];
  ASSERT_STREQ(plain.name, "adamw");
  auto scaledCase = llvm::find_if(kFusibleOps, [](const FusibleOpCase &c) {
    return llvm::StringRef(c.name) == "adamw_lr_scale";
  });
  ASSERT_NE(scaledCase, std::end(kFusibleOps));
  auto unscaled = parseAndFuse(instantiate(plain.text, 3, 257));
  auto scaled = parseAndFuse(instantiate(scaledCase->text, 3, 257));
  ASSERT_TRUE(unscaled && scaled);
  FusedOp plainOp = fusedOps(*unscaled)[0], scaledOp = fusedOps(*scaled)[0];
  auto plainKernels = compileOrFail(*unscaled);
  auto scaledKernels = compileOrFail(*scaled);
  ASSERT_TRUE(plainKernels && scaledKernels);
  ::ftl::rt::Rng rng(31);
  GroupData a = makeData(plainOp, rng, plain.values);
  GroupData b = makeData(scaledOp, rng, scaledCase->values);
  for (unsigned i = 0; i < 7; ++i)
    b.inputs[i] = a.inputs[i];
  b.inputs[7] = {1.0f};
  runKernel(plainKernels->lookup(plainOp), plainOp, a);
  runKernel(scaledKernels->lookup(scaledOp), scaledOp, b);
  for (unsigned r = 0; r < 3; ++r)
    EXPECT_TRUE(sameBits(a.results[r], b.results[r])) << "result " << r;
  b.inputs[7] = {0.0f};
  runKernel(scaledKernels->lookup(scaledOp), scaledOp, b);
  EXPECT_TRUE(sameBits(b.results[0], b.inputs[0]));
  EXPECT_TRUE(sameBits(b.results[1], b.inputs[2]));
  EXPECT_TRUE(sameBits(b.results[2], b.inputs[3]));
  // The interpreter agrees.
  GroupData c = b;
  runInterpreter(scaledOp, c);
  for (unsigned r = 0; r < 3; ++r)
    EXPECT_TRUE(sameBits(c.results[r], b.results[r])) << "result " << r;
}

// AdamW updates p, m and v in place (results alias inputs after buffer
// planning): the same bits as writing elsewhere.
TEST_F(CodegenTest, InPlaceUpdateMatchesOutOfPlace) {
  const FusibleOpCase &adamw = kFusibleOps[15];
  ASSERT_STREQ(adamw.name, "adamw");
  auto module = parseAndFuse(instantiate(adamw.text, 4, 1000));
  ASSERT_TRUE(module);
  FusedOp op = fusedOps(*module)[0];
  auto kernels = compileOrFail(*module);
  ASSERT_TRUE(kernels);
  ::ftl::rt::Rng rng(29);
  GroupData data = makeData(op, rng, adamw.values);
  GroupData outOfPlace = data;
  runKernel(kernels->lookup(op), op, outOfPlace);
  // Results 0, 1, 2 (p, m, v) over inputs 0, 2, 3.
  std::vector<void *> buffers;
  for (auto &v : data.inputs)
    buffers.push_back(v.data());
  buffers.push_back(data.inputs[0].data());
  buffers.push_back(data.inputs[2].data());
  buffers.push_back(data.inputs[3].data());
  kernels->lookup(op)(buffers.data(), 0, 4);
  EXPECT_TRUE(sameBits(data.inputs[0], outOfPlace.results[0]));
  EXPECT_TRUE(sameBits(data.inputs[2], outOfPlace.results[1]));
  EXPECT_TRUE(sameBits(data.inputs[3], outOfPlace.results[2]));
}

TEST_F(CodegenTest, MainLoopIsVectorised) {
  auto module = parseAndFuse(instantiate(kFusibleOps[11].text, 8, 768));
  ASSERT_TRUE(module);
  ASSERT_STREQ(kFusibleOps[11].name, "rms_norm");
  CodegenOptions options;
  options.keepLLVMIR = true;
  auto kernels = compileOrFail(*module, options);
  ASSERT_TRUE(kernels);
  std::string ir = kernels->llvmIR();
  EXPECT_NE(ir.find("define void @ftl_fused_0(ptr"), std::string::npos);
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    EXPECT_NE(ir.find("<16 x float>"), std::string::npos);
  else if (features.lookup("avx2"))
    EXPECT_NE(ir.find("<8 x float>"), std::string::npos);
  // The reduction is a vector accumulation with one final horizontal sum.
  EXPECT_NE(ir.find("llvm.vector.reduce.fadd"), std::string::npos);
  // No alias checks: the column loops are declared parallel.
  EXPECT_EQ(ir.find("LVerDomain"), std::string::npos);
}

// The loop nest before lowering: one pass for the reduction, one for the
// stores, the reduction's accumulation reassociable.
TEST_F(CodegenTest, KernelMLIRHasOneLoopPerPass) {
  auto module = parseAndFuse(instantiate(kFusibleOps[11].text, 4, 8));
  ASSERT_TRUE(module);
  auto text = printKernelMLIR(*module);
  ASSERT_TRUE(bool(text)) << llvm::toString(text.takeError());
  const std::string &ir = *text;
  llvm::StringRef view = ir;
  EXPECT_TRUE(view.contains("func.func @ftl_fused_0(%arg0: !llvm.ptr, "
                            "%arg1: i64, %arg2: i64)"))
      << ir;
  EXPECT_EQ(view.count("scf.for"), 3u) << ir; // rows, pass 0, final pass
  EXPECT_TRUE(view.contains("fastmath<reassoc,contract>")) << ir;
  EXPECT_EQ(view.count("math.rsqrt"), 1u) << ir; // once per row
  EXPECT_EQ(view.count("llvm.store"), 1u) << ir;
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST_F(CodegenTest, UnsupportedBodyOpIsReported) {
  auto module = parse(R"(
func.func @f(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = ftlt.fused %x attributes {rows = 2 : i64, cols = 4 : i64,
      input_access = ["elem"], result_access = ["elem"]} {
  ^bb0(%a: f32):
    %r = math.powf %a, %a : f32
    ftlt.fused_yield %r : f32
  } : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
})");
  ASSERT_TRUE(module);
  auto kernels = compileFusedKernels(*module);
  ASSERT_FALSE(kernels);
  std::string message = llvm::toString(kernels.takeError());
  EXPECT_NE(message.find("'math.powf' in a fused group is not supported by "
                         "the code generator; expected f32 arith/math ops "
                         "and ftlt.row_reduce"),
            std::string::npos)
      << message;
  GroupData data;
  data.inputs.assign(1, std::vector<float>(8, 1.0f));
  data.results.assign(1, std::vector<float>(8, 0.0f));
  llvm::Error error = interpretFused(fusedOps(*module)[0], data.inputPointers(),
                                     data.resultPointers());
  EXPECT_NE(llvm::toString(std::move(error)).find("'math.powf'"),
            std::string::npos);
}

TEST_F(CodegenTest, VaryingRowResultIsReported) {
  auto module = parse(R"(
func.func @f(%x: tensor<2x4xf32>) -> tensor<2xf32> {
  %y = ftlt.fused %x attributes {rows = 2 : i64, cols = 4 : i64,
      input_access = ["elem"], result_access = ["row"]} {
  ^bb0(%a: f32):
    %r = arith.mulf %a, %a : f32
    ftlt.fused_yield %r : f32
  } : (tensor<2x4xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
})");
  ASSERT_TRUE(module);
  auto kernels = compileFusedKernels(*module);
  ASSERT_FALSE(kernels);
  // The message starts at the op's location.
  std::string message = llvm::toString(kernels.takeError());
  EXPECT_TRUE(llvm::StringRef(message).starts_with("-:3:8: "));
  EXPECT_TRUE(llvm::StringRef(message).ends_with(
      "fused result 0 has access 'row' but its value changes along the "
      "row; a row result may depend only on row reductions and row or "
      "scalar inputs"))
      << message;
}

TEST_F(CodegenTest, InterpreterChecksBufferCounts) {
  auto module = parseAndFuse(instantiate(kFusibleOps[0].text, 2, 3));
  ASSERT_TRUE(module);
  float x[6] = {};
  llvm::Error error = interpretFused(fusedOps(*module)[0], {x}, {});
  std::string message = llvm::toString(std::move(error));
  EXPECT_TRUE(llvm::StringRef(message).ends_with(
      "fused group has 2 inputs and 1 results; the interpreter got 1 and 0"))
      << message;
}

// The interpreter against rms_norm written out by hand.
TEST_F(CodegenTest, InterpreterComputesRmsNorm) {
  auto module = parseAndFuse(instantiate(kFusibleOps[11].text, 2, 2));
  ASSERT_TRUE(module);
  float x[4] = {3, 4, -1, 0.5f}, w[2] = {1, 2}, y[4] = {};
  llvm::Error error = interpretFused(fusedOps(*module)[0], {x, w}, {y});
  ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
  // eps is the f32 constant nearest 1e-5, as the body holds it.
  double eps = double(1e-5f);
  double r0 = 1 / std::sqrt((9 + 16) / 2.0 + eps);
  double r1 = 1 / std::sqrt((1 + 0.25) / 2.0 + eps);
  EXPECT_FLOAT_EQ(y[0], float(3 * r0 * 1));
  EXPECT_FLOAT_EQ(y[1], float(4 * r0 * 2));
  EXPECT_FLOAT_EQ(y[2], float(-1 * r1 * 1));
  EXPECT_FLOAT_EQ(y[3], float(0.5 * r1 * 2));
}

} // namespace
