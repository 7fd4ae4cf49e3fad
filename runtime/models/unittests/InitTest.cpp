//===- InitTest.cpp - Fresh model weights ---------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/Init.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace ftl::rt;

namespace {
ModelConfig makeConfig(llvm::StringRef family, int64_t layers,
                       int64_t padId = -1) {
  std::vector<ModelArg> args = {{"vocab", int64_t(512)},
                                {"dim", int64_t(128)},
                                {"layers", layers},
                                {"heads", int64_t(4)}};
  if (family == "llama")
    args.push_back({"kv_heads", int64_t(2)});
  auto config = modelConfigFromArgs(family, args);
  EXPECT_TRUE(bool(config));
  config->padId = padId;
  return *config;
}

struct Moments {
  double mean, std, withinOneStd;
};

Moments moments(const Tensor &t) {
  const float *v = t.dataAs<float>();
  int64_t n = t.numel();
  double sum = 0, squares = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += v[i];
    squares += static_cast<double>(v[i]) * v[i];
  }
  double mean = sum / n;
  double std = std::sqrt(squares / n - mean * mean);
  int64_t within = 0;
  for (int64_t i = 0; i < n; ++i)
    within += std::fabs(v[i] - mean) <= std;
  return {mean, std, static_cast<double>(within) / n};
}

/// What transformers' _init_weights draws for each canonical parameter.
double expectedStd(const ModelConfig &c, llvm::StringRef name) {
  if (name.ends_with(".bias") || name.ends_with("norm.weight"))
    return 0;
  if (c.isGPT2() &&
      (name.ends_with("attn.o.weight") || name.ends_with("mlp.down.weight")))
    return 0.02 / std::sqrt(2.0 * c.layers);
  return 0.02;
}

void expectTransformersStatistics(const ModelConfig &c, const ModelWeights &w) {
  ASSERT_FALSE(bool(checkModelWeights(c, w)));
  for (const auto &[name, t] : w) {
    llvm::StringRef n = name;
    const float *v = t.dataAs<float>();
    if (n.ends_with(".bias")) {
      for (int64_t i = 0; i < t.numel(); ++i)
        ASSERT_EQ(v[i], 0.0f) << name;
      continue;
    }
    if (n.ends_with("norm.weight")) {
      for (int64_t i = 0; i < t.numel(); ++i)
        ASSERT_EQ(v[i], 1.0f) << name;
      continue;
    }
    double want = expectedStd(c, n);
    Moments m = moments(t);
    double count = static_cast<double>(t.numel());
    // Five standard errors of the mean and of the standard deviation.
    EXPECT_LT(std::fabs(m.mean), 5 * want / std::sqrt(count)) << name;
    EXPECT_LT(std::fabs(m.std - want), 5 * want / std::sqrt(2 * count)) << name;
    // Normal, not uniform: P(|x| <= sigma) = 0.6827 (uniform gives 0.577).
    EXPECT_NEAR(m.withinOneStd, 0.6827, 5 * 0.466 / std::sqrt(count)) << name;
  }
}
} // namespace

TEST(Init, LlamaMatchesTransformersDistributions) {
  ModelConfig c = makeConfig("llama", 2);
  Rng rng(1234);
  ModelWeights w = initModelWeights(c, rng);
  EXPECT_EQ(w.size(), canonicalParams(c).size());
  expectTransformersStatistics(c, w);
}

TEST(Init, GPT2ScalesResidualProjections) {
  ModelConfig c = makeConfig("gpt2", 8);
  Rng rng(99);
  ModelWeights w = initModelWeights(c, rng);
  expectTransformersStatistics(c, w);
  // 0.02 / sqrt(16) = 0.005 for c_proj, 0.02 elsewhere.
  EXPECT_NEAR(moments(*w.find("layers.3.attn.o.weight")).std, 0.005, 3e-4);
  EXPECT_NEAR(moments(*w.find("layers.3.mlp.down.weight")).std, 0.005, 3e-4);
  EXPECT_NEAR(moments(*w.find("layers.3.mlp.up.weight")).std, 0.02, 1e-3);
  EXPECT_NEAR(moments(*w.find("pos_embed.weight")).std, 0.02, 1e-3);
}

TEST(Init, SameSeedSameBitsDifferentSeedDifferentBits) {
  ModelConfig c = makeConfig("llama", 2);
  Rng a(7), b(7), other(8);
  ModelWeights wa = initModelWeights(c, a);
  ModelWeights wb = initModelWeights(c, b);
  ModelWeights wo = initModelWeights(c, other);
  EXPECT_TRUE(wa.bitwiseEqual(wb));
  for (const auto &[name, t] : wa) {
    if (expectedStd(c, name) == 0)
      continue;
    EXPECT_FALSE(t.bitwiseEqual(*wo.find(name))) << name;
  }
  // Tensors are drawn from independent streams: q and k of one layer, or q
  // of two layers, are not copies of each other.
  const float *q0 = wa.find("layers.0.attn.q.weight")->dataAs<float>();
  const float *q1 = wa.find("layers.1.attn.q.weight")->dataAs<float>();
  const float *k0 = wa.find("layers.0.attn.k.weight")->dataAs<float>();
  EXPECT_NE(q0[0], q1[0]);
  EXPECT_NE(q0[0], k0[0]);
}

TEST(Init, TensorsDoNotDependOnOtherTensors) {
  // A deeper model with the same sizes draws the same values for the
  // parameters both have, and initParam reproduces any single tensor.
  ModelConfig small = makeConfig("llama", 2), deep = makeConfig("llama", 5);
  Rng r1(42), r2(42);
  ModelWeights ws = initModelWeights(small, r1);
  ModelWeights wd = initModelWeights(deep, r2);
  for (const auto &[name, t] : ws)
    EXPECT_TRUE(t.bitwiseEqual(*wd.find(name))) << name;
  Rng r3(42);
  for (const ParamSpec &spec : canonicalParams(deep))
    EXPECT_TRUE(initParam(deep, spec.name, spec.shape, r3)
                    .bitwiseEqual(*wd.find(spec.name)))
        << spec.name;
}

TEST(Init, LlamaZeroesThePaddingRow) {
  ModelConfig c = makeConfig("llama", 1, /*padId=*/3);
  Rng rng(5);
  ModelWeights w = initModelWeights(c, rng);
  const float *embed = w.find("embed.weight")->dataAs<float>();
  for (int64_t j = 0; j < c.dim; ++j) {
    EXPECT_EQ(embed[3 * c.dim + j], 0.0f);
    EXPECT_NE(embed[2 * c.dim + j], 0.0f);
  }
  // The head of an untied model is not touched by padding.
  const float *head = w.find("head.weight")->dataAs<float>();
  EXPECT_NE(head[3 * c.dim], 0.0f);
}
