//===- GradientTest.cpp - Every op's backward against finite differences --===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// For each differentiable ftlt op, a loss `sum(op(inputs) * R)` with a fixed
// random R is differentiated by the autodiff pass, compiled (fusion, buffer
// planning) and executed; every gradient entry (or a sample of them) is
// compared with a central finite difference of the same compiled loss.
// Float32 execution: the step and tolerance are chosen for f32 (h = 1e-2,
// entries compared with atol + rtol * |g|).
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Engine/JitKernels.h"
#include "ftl/Engine/Program.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Pipeline/Pipeline.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include "gtest/gtest.h"

#include <functional>

#include <cmath>

using namespace mlir;
using namespace ::ftl::rt;

namespace {

struct Compiled {
  std::unique_ptr<FusedKernelProvider> kernels;
  std::unique_ptr<Program> program;
};

class GradientTest : public ::testing::Test {
protected:
  GradientTest() {
    DialectRegistry registry;
    ::ftl::registerCompilerDialects(registry);
    context = std::make_unique<MLIRContext>(registry);
    context->loadAllAvailableDialects();
    pool = std::make_unique<::ftl::kernels::ThreadPool>(2);
  }

  /// Parses `body` as the loss function `@f`, returns (loss program,
  /// gradient program) built from two copies of it.
  void compile(const std::string &text) {
    auto parse = [&]() {
      OwningOpRef<ModuleOp> m =
          parseSourceString<ModuleOp>(text, context.get());
      EXPECT_TRUE(m) << "cannot parse test IR";
      return m;
    };
    lossModule = parse();
    gradModule = parse();
    ASSERT_TRUE(lossModule && gradModule);
    // The loss copy: fused like the eval function.
    {
      PassManager pm(context.get());
      pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseElementwise());
      ASSERT_TRUE(succeeded(pm.run(*lossModule)));
    }
    {
      PassManager pm(context.get());
      pm.addPass(mlir::ftl::createAutodiff());
      pm.addPass(createCSEPass());
      pm.addNestedPass<func::FuncOp>(mlir::ftl::createFuseElementwise());
      ASSERT_TRUE(succeeded(pm.run(*gradModule)));
    }
    loss = build(*lossModule);
    grad = build(*gradModule);
  }

  Compiled build(ModuleOp module) {
    Compiled c;
    auto kernels = makeFusedKernels(module);
    EXPECT_TRUE(bool(kernels)) << llvm::toString(kernels.takeError());
    c.kernels = std::move(*kernels);
    auto fn = *module.getOps<func::FuncOp>().begin();
    auto program = Program::build(fn, *c.kernels, pool.get());
    EXPECT_TRUE(bool(program)) << llvm::toString(program.takeError());
    c.program = std::move(*program);
    return c;
  }

  /// Random inputs for every argument (ids within `intMax`).
  void makeInputs(int64_t intMax, uint64_t seed = 1) {
    Rng rng(seed);
    inputs.clear();
    for (const ValueInfo &info : loss.program->arguments()) {
      std::vector<float> data(info.numel());
      if (info.isInt) {
        auto *ids = reinterpret_cast<int32_t *>(data.data());
        for (int64_t i = 0; i < info.numel(); ++i)
          ids[i] = int32_t(rng.below(intMax));
      } else {
        for (float &x : data)
          x = float(rng.normal() * 0.5);
      }
      inputs.push_back(std::move(data));
    }
  }

  float runLoss() {
    float value = 0;
    for (size_t i = 0; i < inputs.size(); ++i)
      loss.program->bindArgument(i, inputs[i].data());
    loss.program->bindResult(0, &value);
    llvm::Error e = loss.program->run();
    EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
    return value;
  }

  /// Runs the gradient program; grads[i] for each trainable argument.
  std::vector<std::vector<float>> runGrad(float &value) {
    for (size_t i = 0; i < inputs.size(); ++i)
      grad.program->bindArgument(i, inputs[i].data());
    std::vector<std::vector<float>> grads;
    for (size_t r = 1; r < grad.program->results().size(); ++r)
      grads.emplace_back(grad.program->results()[r].numel());
    grad.program->bindResult(0, &value);
    for (size_t r = 1; r < grad.program->results().size(); ++r)
      grad.program->bindResult(r, grads[r - 1].data());
    llvm::Error e = grad.program->run();
    EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
    return grads;
  }

  /// Checks every trainable argument's gradient against central differences
  /// on up to `samples` entries each.
  void checkGradients(int64_t intMax, int samples = 24, double h = 1e-2,
                      double atol = 2e-3, double rtol = 2e-2) {
    makeInputs(intMax);
    if (adjustInputs)
      adjustInputs(inputs);
    float value = 0;
    auto grads = runGrad(value);
    float plain = runLoss();
    EXPECT_NEAR(value, plain, 1e-5 * (1 + std::fabs(plain)))
        << "the gradient program's loss differs from the loss program's";
    std::vector<unsigned> trainable;
    for (unsigned i = 0; i < loss.program->arguments().size(); ++i)
      if (loss.program->arguments()[i].trainable)
        trainable.push_back(i);
    ASSERT_EQ(trainable.size(), grads.size());
    Rng pick(99);
    for (size_t t = 0; t < trainable.size(); ++t) {
      std::vector<float> &x = inputs[trainable[t]];
      int64_t n = int64_t(x.size());
      for (int s = 0; s < std::min<int64_t>(samples, n); ++s) {
        int64_t i = n <= samples ? s : int64_t(pick.below(n));
        float saved = x[i];
        x[i] = saved + float(h);
        double up = runLoss();
        x[i] = saved - float(h);
        double down = runLoss();
        x[i] = saved;
        double fd = (up - down) / (2 * h);
        double g = grads[t][i];
        EXPECT_NEAR(g, fd, atol + rtol * std::fabs(fd))
            << "argument " << trainable[t] << " entry " << i;
      }
    }
  }

public:
  // For the free helper functions below.
  void compileForTest(const std::string &text) { compile(text); }
  std::vector<std::vector<float>> &inputsForTest() { return inputs; }
  float runLossForTest() { return runLoss(); }

protected:
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<::ftl::kernels::ThreadPool> pool;
  OwningOpRef<ModuleOp> lossModule, gradModule;
  Compiled loss, grad;
  std::vector<std::vector<float>> inputs;
  /// Called on the random inputs before a gradient check (e.g. to give a
  /// mask exact zeros).
  std::function<void(std::vector<std::vector<float>> &)> adjustInputs;
};

/// Wraps `body` (which computes %y from the arguments) into a loss function
/// sum(%y * %r).
std::string lossFunction(const std::string &args, const std::string &body,
                         const std::string &yType) {
  return "func.func @f(" + args + ", %r: " + yType +
         ") -> tensor<f32> attributes {ftl.loss} {\n" + body +
         "  %p = ftlt.mul %y, %r : " + yType + "\n" +
         "  %s = ftlt.sum %p : " + yType + " -> tensor<f32>\n" +
         "  return %s : tensor<f32>\n}\n";
}

const char *T = "{ftl.trainable}";

TEST_F(GradientTest, Linear) {
  compile(lossFunction(
      std::string("%x: tensor<5x7xf32> ") + T + ", %w: tensor<3x7xf32> " + T +
          ", %b: tensor<3xf32> " + T,
      "  %y = ftlt.linear %x, %w bias %b : tensor<5x7xf32>, tensor<3x7xf32>, "
      "tensor<3xf32> -> tensor<5x3xf32>\n",
      "tensor<5x3xf32>"));
  checkGradients(1);
}

TEST_F(GradientTest, Embedding) {
  compile(lossFunction(
      std::string("%table: tensor<11x4xf32> ") + T + ", %ids: tensor<9xi32>",
      "  %y = ftlt.embedding %table, %ids : tensor<11x4xf32>, tensor<9xi32> "
      "-> tensor<9x4xf32>\n",
      "tensor<9x4xf32>"));
  checkGradients(11, 44);
}

TEST_F(GradientTest, RmsNorm) {
  compile(lossFunction(
      std::string("%x: tensor<6x8xf32> ") + T + ", %w: tensor<8xf32> " + T,
      "  %y = ftlt.rms_norm %x, %w {eps = 1.0e-05 : f64} : tensor<6x8xf32>, "
      "tensor<8xf32> -> tensor<6x8xf32>\n",
      "tensor<6x8xf32>"));
  checkGradients(1, 48);
}

TEST_F(GradientTest, LayerNorm) {
  compile(lossFunction(
      std::string("%x: tensor<6x8xf32> ") + T + ", %w: tensor<8xf32> " + T +
          ", %b: tensor<8xf32> " + T,
      "  %y = ftlt.layer_norm %x, %w, %b {eps = 1.0e-05 : f64} : "
      "tensor<6x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<6x8xf32>\n",
      "tensor<6x8xf32>"));
  checkGradients(1, 48);
}

TEST_F(GradientTest, Rope) {
  compile(lossFunction(
      std::string("%x: tensor<6x8xf32> ") + T + ", %pos: tensor<6xi32>",
      "  %y = ftlt.rope %x, %pos {theta = 1.0e+04 : f64, head_dim = 4 : i64} : "
      "tensor<6x8xf32>, tensor<6xi32> -> tensor<6x8xf32>\n",
      "tensor<6x8xf32>"));
  checkGradients(7, 48);
}

TEST_F(GradientTest, AttentionWithSegmentsAndGroupedHeads) {
  // batch 2, seq 4, 2 heads sharing 1 kv head, head_dim 4.
  compile(lossFunction(
      std::string("%q: tensor<8x8xf32> ") + T + ", %k: tensor<8x4xf32> " + T +
          ", %v: tensor<8x4xf32> " + T + ", %seg: tensor<8xi32>",
      "  %y, %lse = ftlt.attention %q, %k, %v, %seg {batch = 2 : i64, seq = 4 "
      ": i64, heads = 2 : i64, kv_heads = 1 : i64, head_dim = 4 : i64} : "
      "tensor<8x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<8xi32> -> "
      "tensor<8x8xf32>, tensor<2x2x4xf32>\n",
      "tensor<8x8xf32>"));
  checkGradients(2, 64);
}

TEST_F(GradientTest, ElementwiseChain) {
  compile(lossFunction(
      std::string("%a: tensor<4x6xf32> ") + T + ", %b: tensor<4x6xf32> " + T +
          ", %c: tensor<f32> " + T,
      "  %0 = ftlt.silu %a : tensor<4x6xf32>\n"
      "  %1 = ftlt.gelu %b : tensor<4x6xf32>\n"
      "  %2 = ftlt.mul %0, %1 : tensor<4x6xf32>\n"
      "  %3 = ftlt.sub %2, %a : tensor<4x6xf32>\n"
      "  %4 = ftlt.scale %3 {factor = 1.5 : f64} : tensor<4x6xf32>\n"
      "  %5 = ftlt.add %4, %b : tensor<4x6xf32>\n"
      "  %y = ftlt.scale_by %5, %c : tensor<4x6xf32>, tensor<f32>\n",
      "tensor<4x6xf32>"));
  checkGradients(1, 24);
}

TEST_F(GradientTest, AbsoluteValue) {
  // An L1 penalty |a - b| weighted by c; the random inputs keep every
  // sampled entry away from the kink by more than the step.
  compile(lossFunction(std::string("%a: tensor<4x6xf32> ") + T +
                           ", %b: tensor<4x6xf32>, " + "%c: tensor<4x6xf32> " +
                           T,
                       "  %0 = ftlt.sub %a, %b : tensor<4x6xf32>\n"
                       "  %1 = ftlt.abs %0 : tensor<4x6xf32>\n"
                       "  %y = ftlt.mul %1, %c : tensor<4x6xf32>\n",
                       "tensor<4x6xf32>"));
  checkGradients(1, 24, 1e-3);
}

TEST_F(GradientTest, AbsoluteValueHasSubgradientZeroAtZero) {
  // At a == b the penalty's subgradient is 0: the convention that leaves a
  // parameter at its initial value untouched by l1(to_init: true).
  compile(lossFunction(std::string("%a: tensor<2x3xf32> ") + T +
                           ", %b: tensor<2x3xf32>",
                       "  %0 = ftlt.sub %a, %b : tensor<2x3xf32>\n"
                       "  %y = ftlt.abs %0 : tensor<2x3xf32>\n",
                       "tensor<2x3xf32>"));
  makeInputs(1);
  inputs[1] = inputs[0];
  inputs[1][4] -= 0.5f; // one entry above its reference
  inputs[1][5] += 0.5f; // one below
  std::fill(inputs[2].begin(), inputs[2].end(), 1.0f); // the loss's %r
  float value = 0;
  auto grads = runGrad(value);
  ASSERT_EQ(grads.size(), 1u);
  EXPECT_EQ(grads[0], (std::vector<float>{0, 0, 0, 0, 1, -1}));
  EXPECT_FLOAT_EQ(value, 1.0f);
}

TEST_F(GradientTest, CrossEntropy) {
  std::string text =
      std::string("func.func @f(%logits: tensor<5x7xf32> ") + T +
      ", %t: tensor<5xi32>, %w: tensor<5xf32>) -> tensor<f32> attributes "
      "{ftl.loss} {\n"
      "  %l, %lse = ftlt.cross_entropy %logits, %t, %w : tensor<5x7xf32>, "
      "tensor<5xi32>, tensor<5xf32> -> tensor<f32>, tensor<5xf32>\n"
      "  return %l : tensor<f32>\n}\n";
  compile(text);
  checkGradients(7, 35);
}

TEST_F(GradientTest, LinearCrossEntropyMatchesUnfused) {
  std::string text =
      std::string("func.func @f(%h: tensor<6x5xf32> ") + T +
      ", %head: tensor<9x5xf32> " + T +
      ", %t: tensor<6xi32>, %w: tensor<6xf32>) -> tensor<f32> attributes "
      "{ftl.loss} {\n"
      "  %l, %lse = ftlt.linear_cross_entropy %h, %head, %t, %w {chunk = 4 : "
      "i64} : tensor<6x5xf32>, tensor<9x5xf32>, tensor<6xi32>, tensor<6xf32> "
      "-> tensor<f32>, tensor<6xf32>\n"
      "  return %l : tensor<f32>\n}\n";
  compile(text);
  checkGradients(9, 45);
}

TEST_F(GradientTest, TokenNll) {
  compile(lossFunction(
      std::string("%logits: tensor<5x7xf32> ") + T + ", %t: tensor<5xi32>",
      "  %y, %lse = ftlt.token_nll %logits, %t : tensor<5x7xf32>, "
      "tensor<5xi32> -> tensor<5xf32>, tensor<5xf32>\n",
      "tensor<5xf32>"));
  checkGradients(7, 35);
}

TEST_F(GradientTest, LinearTokenNll) {
  compile(lossFunction(
      std::string("%h: tensor<6x5xf32> ") + T + ", %head: tensor<9x5xf32> " +
          T + ", %t: tensor<6xi32>",
      "  %y, %lse = ftlt.linear_token_nll %h, %head, %t {chunk = 4 : i64} : "
      "tensor<6x5xf32>, tensor<9x5xf32>, tensor<6xi32> -> tensor<6xf32>, "
      "tensor<6xf32>\n",
      "tensor<6xf32>"));
  checkGradients(9, 45);
}

// The reference's hidden states and head take no gradient (not trainable);
// the trained model's do, through the fused KL kernel.
TEST_F(GradientTest, LinearKl) {
  compile(lossFunction(
      std::string("%h: tensor<6x5xf32> ") + T + ", %head: tensor<9x5xf32> " +
          T + ", %rh: tensor<6x4xf32>, %rhead: tensor<9x4xf32>, " +
          "%w: tensor<6xf32>",
      "  %y, %lse, %rlse = ftlt.linear_kl %h, %head, %rh, %rhead, %w "
      "{chunk = 4 : i64} : tensor<6x5xf32>, tensor<9x5xf32>, tensor<6x4xf32>, "
      "tensor<9x4xf32>, tensor<6xf32> -> tensor<f32>, tensor<6xf32>, "
      "tensor<6xf32>\n",
      "tensor<f32>"));
  checkGradients(1, 45);
}

// Rows with mask 0 and 1 alternate: kept rows pass the gradient through,
// zeroed rows pass none (finite differences of the same compiled op).
TEST_F(GradientTest, MaskRows) {
  for (bool keep : {true, false}) {
    compile(lossFunction(
        std::string("%x: tensor<6x5xf32> ") + T + ", %m: tensor<6xf32>",
        std::string("  %y = ftlt.mask_rows %x, %m {keep = ") +
            (keep ? "true" : "false") + "} : tensor<6x5xf32>, tensor<6xf32>\n",
        "tensor<6x5xf32>"));
    adjustInputs = [](std::vector<std::vector<float>> &in) {
      for (size_t i = 0; i < in[1].size(); ++i)
        in[1][i] = i % 2 ? 0.0f : 1.0f;
    };
    checkGradients(1, 30);
    adjustInputs = nullptr;
  }
}

// The denominator is kept in [1, 2) so central differences stay accurate.
TEST_F(GradientTest, Div) {
  compile(lossFunction(
      std::string("%x: tensor<4x3xf32> ") + T + ", %d: tensor<4x3xf32> " + T,
      "  %y = ftlt.div %x, %d : tensor<4x3xf32>\n", "tensor<4x3xf32>"));
  adjustInputs = [](std::vector<std::vector<float>> &in) {
    for (float &v : in[1])
      v = 1.0f + std::fabs(v) - std::floor(std::fabs(v));
  };
  checkGradients(1, 24);
  adjustInputs = nullptr;
}

TEST_F(GradientTest, ScaleCols) {
  compile(lossFunction(std::string("%x: tensor<5x4xf32> ") + T +
                           ", %f: tensor<4xf32> " + T,
                       "  %y = ftlt.scale_cols %x, %f : tensor<5x4xf32>, "
                       "tensor<4xf32>\n",
                       "tensor<5x4xf32>"));
  checkGradients(1, 24);
}

// The mask is fixed by the seed (an input), so dropout is linear in x and
// central differences see exactly the kept entries.
TEST_F(GradientTest, Dropout) {
  compile(lossFunction(std::string("%x: tensor<6x5xf32> ") + T +
                           ", %seed: tensor<1xi32>",
                       "  %y = ftlt.dropout %x, %seed {rate = 3.0e-01 : f64, "
                       "salt = 11 : i64} : tensor<6x5xf32>, tensor<1xi32>\n",
                       "tensor<6x5xf32>"));
  checkGradients(1000, 30);
}

TEST_F(GradientTest, UnlikelihoodOfTokenNll) {
  compile(lossFunction(
      std::string("%logits: tensor<5x7xf32> ") + T + ", %t: tensor<5xi32>",
      "  %nll, %lse = ftlt.token_nll %logits, %t : tensor<5x7xf32>, "
      "tensor<5xi32> -> tensor<5xf32>, tensor<5xf32>\n"
      "  %y = ftlt.unlikelihood %nll : tensor<5xf32>\n",
      "tensor<5xf32>"));
  checkGradients(7, 35);
}

/// Sequence sums, chosen-minus-rejected and a preference loss, as the DPO
/// lowering chains them.
std::string preferenceChain(const std::string &kind, double beta,
                            double smoothing) {
  return lossFunction(
      std::string("%x: tensor<12xf32> ") + T,
      "  %sums = ftlt.seq_sum %x {seq = 3 : i64} : tensor<12xf32> -> "
      "tensor<4xf32>\n"
      "  %d = ftlt.pair_diff %sums : tensor<4xf32> -> tensor<2xf32>\n"
      "  %y = ftlt.preference_loss %d {kind = \"" +
          kind + "\", beta = " + std::to_string(beta) +
          " : f64, label_smoothing = " + std::to_string(smoothing) +
          " : f64} : tensor<2xf32>\n",
      "tensor<2xf32>");
}

TEST_F(GradientTest, PreferenceSigmoid) {
  compile(preferenceChain("sigmoid", 0.7, 0.0));
  checkGradients(1, 12);
}

TEST_F(GradientTest, PreferenceSigmoidWithLabelSmoothing) {
  compile(preferenceChain("sigmoid", 1.3, 0.2));
  checkGradients(1, 12);
}

TEST_F(GradientTest, PreferenceIpo) {
  compile(preferenceChain("ipo", 0.5, 0.0));
  checkGradients(1, 12);
}

TEST_F(GradientTest, PreferenceHinge) {
  // beta small enough that 1 - beta * h stays away from the kink at 0.
  compile(preferenceChain("hinge", 0.05, 0.0));
  checkGradients(1, 12);
}

//===----------------------------------------------------------------------===//
// Loss values against naive double-precision references
//===----------------------------------------------------------------------===//

/// log softmax of one row at `target`, in double.
double logProb(const float *row, int64_t vocab, int32_t target) {
  double max = row[0];
  for (int64_t j = 1; j < vocab; ++j)
    max = std::max(max, double(row[j]));
  double sum = 0;
  for (int64_t j = 0; j < vocab; ++j)
    sum += std::exp(double(row[j]) - max);
  return double(row[target]) - max - std::log(sum);
}

double logSigmoid(double x) { return -std::log1p(std::exp(-x)); }

/// The DPO lowering's composition on [2B * S, V] logits; the value is
/// compared with the formula evaluated naively.
void checkPreferenceValue(GradientTest &test, const std::string &kind,
                          double beta, double smoothing) {
  const int64_t pairs = 2, seq = 3, vocab = 5, n = 2 * pairs * seq;
  std::string tn = "tensor<" + std::to_string(n) + "xf32>";
  std::string ti = "tensor<" + std::to_string(n) + "xi32>";
  std::string text =
      "func.func @f(%logits: tensor<12x5xf32> {ftl.trainable}, %t: " + ti +
      ", %w: " + tn +
      ", %ref: tensor<4xf32>) -> tensor<f32> attributes {ftl.loss} {\n"
      "  %nll, %lse = ftlt.token_nll %logits, %t : tensor<12x5xf32>, " +
      ti + " -> " + tn + ", " + tn +
      "\n"
      "  %wn = ftlt.mul %nll, %w : " +
      tn +
      "\n"
      "  %sn = ftlt.seq_sum %wn {seq = 3 : i64} : " +
      tn +
      " -> tensor<4xf32>\n"
      "  %lp = ftlt.scale %sn {factor = -1.0 : f64} : tensor<4xf32>\n"
      "  %ratio = ftlt.sub %lp, %ref : tensor<4xf32>\n"
      "  %h = ftlt.pair_diff %ratio : tensor<4xf32> -> tensor<2xf32>\n"
      "  %l = ftlt.preference_loss %h {kind = \"" +
      kind + "\", beta = " + std::to_string(beta) +
      " : f64, label_smoothing = " + std::to_string(smoothing) +
      " : f64} : tensor<2xf32>\n"
      "  %s = ftlt.sum %l : tensor<2xf32> -> tensor<f32>\n"
      "  return %s : tensor<f32>\n}\n";
  test.compileForTest(text);
  std::vector<std::vector<float>> &in = test.inputsForTest();
  in.assign(4, {});
  Rng rng(7);
  in[0].resize(n * vocab);
  for (float &x : in[0])
    x = float(rng.normal() * 2.0);
  in[1].resize(n);
  auto *t = reinterpret_cast<int32_t *>(in[1].data());
  in[2].resize(n);
  for (int64_t i = 0; i < n; ++i) {
    t[i] =
        i % seq == 0 ? -1 : int32_t(rng.below(vocab)); // a masked first token
    in[2][i] = i % seq == 1 ? 0.0f : 1.0f;             // and a zero weight
  }
  in[3] = {-3.1f, -2.2f, -4.0f, -1.5f};
  double expected = 0;
  std::vector<double> logp(2 * pairs, 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (t[i] >= 0)
      logp[i / seq] += in[2][i] * logProb(&in[0][i * vocab], vocab, t[i]);
  for (int64_t p = 0; p < pairs; ++p) {
    double h = (logp[p] - in[3][p]) - (logp[pairs + p] - in[3][pairs + p]);
    double u = beta * h;
    if (kind == "sigmoid")
      expected += -(1 - smoothing) * logSigmoid(u) - smoothing * logSigmoid(-u);
    else if (kind == "ipo")
      expected += (h - 1 / (2 * beta)) * (h - 1 / (2 * beta));
    else
      expected += std::max(0.0, 1 - u);
  }
  double got = test.runLossForTest();
  EXPECT_NEAR(got, expected, 1e-5 * (1 + std::fabs(expected))) << kind;
}

TEST_F(GradientTest, PreferenceValuesMatchTheFormulas) {
  checkPreferenceValue(*this, "sigmoid", 0.1, 0.0);
  checkPreferenceValue(*this, "sigmoid", 0.5, 0.25);
  checkPreferenceValue(*this, "ipo", 0.3, 0.0);
  // beta 2 puts one pair on each side of the hinge for these inputs.
  checkPreferenceValue(*this, "hinge", 2.0, 0.0);
}

TEST_F(GradientTest, UnlikelihoodValueMatchesTheFormula) {
  const int64_t n = 6, vocab = 4;
  compileForTest(
      "func.func @f(%logits: tensor<6x4xf32> {ftl.trainable}, %t: "
      "tensor<6xi32>, %w: tensor<6xf32>) -> tensor<f32> attributes {ftl.loss} "
      "{\n"
      "  %nll, %lse = ftlt.token_nll %logits, %t : tensor<6x4xf32>, "
      "tensor<6xi32> -> tensor<6xf32>, tensor<6xf32>\n"
      "  %u = ftlt.unlikelihood %nll : tensor<6xf32>\n"
      "  %wu = ftlt.mul %u, %w : tensor<6xf32>\n"
      "  %s = ftlt.sum %wu : tensor<6xf32> -> tensor<f32>\n"
      "  return %s : tensor<f32>\n}\n");
  std::vector<std::vector<float>> &in = inputsForTest();
  in.assign(3, {});
  Rng rng(3);
  in[0].resize(n * vocab);
  for (float &x : in[0])
    x = float(rng.normal() * 3.0);
  in[0][5 * vocab + 2] = 60.0f; // p(target) ~ 1: the floor applies
  in[1].resize(n);
  auto *t = reinterpret_cast<int32_t *>(in[1].data());
  for (int64_t i = 0; i < n; ++i)
    t[i] = int32_t(rng.below(vocab));
  t[5] = 2;
  t[0] = -1;
  in[2] = {1.0f, 0.5f, 1.0f, 0.0f, 2.0f, 1.0f};
  double expected = 0;
  for (int64_t i = 0; i < n; ++i) {
    double p =
        t[i] >= 0 ? std::exp(logProb(&in[0][i * vocab], vocab, t[i])) : 1.0;
    expected += in[2][i] * -std::log(std::max(1 - p, 1e-5));
  }
  EXPECT_NEAR(runLossForTest(), expected, 1e-4 * (1 + std::fabs(expected)));
}

} // namespace
