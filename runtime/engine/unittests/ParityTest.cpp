//===- ParityTest.cpp - Loss and gradients equal transformers' ------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The tiny Llama and GPT-2 fixtures, one fixed batch: ftl's compiled step
// (lowering, LM-head fusion, autodiff, fusion, executor) gives the loss and
// every parameter gradient of transformers within 1e-4 relative (fp32).
// Reference values: scripts/fixtures/make_parity.py.
//
//===----------------------------------------------------------------------===//

#include "ftl/Engine/JitKernels.h"
#include "ftl/Engine/Program.h"
#include "ftl/Engine/Run.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Models/SafeTensors.h"
#include "ftl/Pipeline/Pipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace ::ftl::rt;

namespace {

std::string fixture(llvm::StringRef rel) {
  return std::string(FTL_SOURCE_DIR) + "/test/fixtures/" + rel.str();
}

double relativeError(const float *a, const float *b, int64_t n) {
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

class ParityTest : public ::testing::TestWithParam<const char *> {};

TEST_P(ParityTest, LossAndGradientsMatchTransformers) {
  std::string name = GetParam();
  std::string modelDir = fixture("models/" + name);
  auto reference = SafeTensorsFile::open(fixture("parity/" + name +
                                                 ".safetensors"));
  ASSERT_TRUE(bool(reference)) << llvm::toString(reference.takeError());
  auto names = reference->names();
  ASSERT_TRUE(llvm::is_contained(names, "input_ids"));
  Tensor idsTensor = reference->get("input_ids");
  const Tensor *ids = &idsTensor;
  const int64_t B = ids->dim(0), T = ids->dim(1), N = B * T;

  mlir::DialectRegistry registry;
  ::ftl::registerCompilerDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::string text =
      "module {\n"
      "  %m = ftl.model.load \"" + modelDir + "\" as \"m\" : !ftl.model\n"
      "  %d = ftl.data.source \"text\" \"unused.txt\" : !ftl.data\n"
      "  %l = ftl.loss \"lm\"(%d) {operand_names = [\"d\"]} : (!ftl.data) -> "
      "!ftl.objective\n"
      "  ftl.train %m with %l {steps = 1 : i64, batch = " + std::to_string(B) +
      " : i64, seq = " + std::to_string(T) + " : i64}\n}\n";
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module);
  ASSERT_FALSE(bool(resolveModelConfigs(*module, "")));
  ASSERT_TRUE(mlir::succeeded(::ftl::lowerTo(*module, ::ftl::Level::Fused)));
  mlir::func::FuncOp gradFn;
  module->walk([&](mlir::func::FuncOp fn) {
    if (fn->hasAttr("ftl.grad"))
      gradFn = fn;
  });
  ASSERT_TRUE(gradFn);

  auto kernels = makeFusedKernels(*module);
  ASSERT_TRUE(bool(kernels));
  ::ftl::kernels::ThreadPool pool(2);
  auto program = Program::build(gradFn, **kernels, &pool);
  ASSERT_TRUE(bool(program)) << llvm::toString(program.takeError());
  Program &p = **program;

  auto loaded = loadHFModelFolder(modelDir);
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  ModelWeights &weights = loaded->weights;

  // The batch: next-token targets within each row, weight 1.
  const int32_t *tok = ids->dataAs<const int32_t>();
  std::vector<int32_t> input(tok, tok + N), targets(N, -1), positions(N),
      segments(N, 0);
  std::vector<float> tokenWeights(N, 0.0f);
  int64_t count = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      positions[b * T + t] = int32_t(t);
      if (t + 1 < T) {
        targets[b * T + t] = tok[b * T + t + 1];
        tokenWeights[b * T + t] = 1.0f;
        ++count;
      }
    }
  float scale = 1.0f / float(count);

  std::map<std::string, std::vector<float>> acc;
  std::vector<std::string> trainable;
  for (auto [i, info] : llvm::enumerate(p.arguments())) {
    if (!info.gradAcc.empty()) {
      acc[info.gradAcc].assign(info.numel(), 0.0f);
      p.bindArgument(i, acc[info.gradAcc].data());
    } else if (!info.param.empty()) {
      Tensor *w = weights.find(info.param);
      ASSERT_TRUE(w) << info.param;
      *w = w->clone();
      p.bindArgument(i, w->mutableData());
      if (info.trainable)
        trainable.push_back(info.param);
    } else if (info.batch == "0.ids") {
      p.bindArgument(i, input.data());
    } else if (info.batch == "0.targets") {
      p.bindArgument(i, targets.data());
    } else if (info.batch == "0.weights") {
      p.bindArgument(i, tokenWeights.data());
    } else if (info.batch == "0.positions") {
      p.bindArgument(i, positions.data());
    } else if (info.batch == "0.segments") {
      p.bindArgument(i, segments.data());
    } else if (info.batch == "0.scale") {
      p.bindArgument(i, &scale);
    }
  }
  float loss = 0;
  p.bindResult(0, &loss);
  for (size_t r = 0; r < trainable.size(); ++r)
    p.bindResult(r + 1, acc[trainable[r]].data());
  llvm::Error error = p.run();
  ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));

  float refLoss = reference->get("loss").dataAs<const float>()[0];
  EXPECT_NEAR(loss, refLoss, 1e-5 * std::fabs(refLoss));

  // Gradients under Hugging Face names (GPT-2's fused, transposed c_attn
  // included), compared tensor by tensor.
  ModelWeights grads;
  for (const std::string &name : trainable) {
    Tensor g = Tensor::zeros(DType::F32, weights.find(name)->shape());
    std::copy(acc[name].begin(), acc[name].end(), g.dataAs<float>());
    grads.set(name, g);
  }
  auto exported = exportHFTensors(loaded->config, grads);
  ASSERT_TRUE(bool(exported)) << llvm::toString(exported.takeError());
  int compared = 0;
  double worst = 0;
  for (auto &[hfName, g] : *exported) {
    ASSERT_TRUE(llvm::is_contained(names, "grad." + hfName))
        << "no reference gradient for " << hfName;
    Tensor wantTensor = reference->get("grad." + hfName);
    const Tensor *want = &wantTensor;
    ASSERT_EQ(g.numel(), want->numel()) << hfName;
    double err = relativeError(g.dataAs<const float>(),
                               want->dataAs<const float>(), g.numel());
    worst = std::max(worst, err);
    EXPECT_LT(err, 1e-4) << hfName;
    ++compared;
  }
  EXPECT_GT(compared, 10);
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("%s: loss %.7f (transformers %.7f), %d gradients, worst "
              "relative error %.2e\n",
              name.c_str(), loss, refLoss, compared, worst);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ParityTest,
                         ::testing::Values("tiny-llama", "tiny-gpt2"));

} // namespace
