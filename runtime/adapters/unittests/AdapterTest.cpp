//===- AdapterTest.cpp - LoRA scale and merging ---------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "AdaptersTestUtil.h"

#include "ftl/Adapters/Adapter.h"
#include "ftl/Adapters/Peft.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Models/ModelWeights.h"

#include <cmath>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::test;

namespace {

ModelWeights smallWeights(Rng &rng) {
  ModelWeights w;
  w.set("a.weight", randomTensor(rng, {6, 5}));
  w.set("b.weight", randomTensor(rng, {3, 7}));
  w.set("norm.weight", randomTensor(rng, {5}));
  return w;
}

TEST(LoraScale, StandardAndRankStabilized) {
  LoraAdapter::Pair p;
  p.rank = 4;
  p.alpha = 8;
  EXPECT_EQ(LoraAdapter::scale(p, false), 2.0);
  EXPECT_EQ(LoraAdapter::scale(p, true), 4.0); // 8 / sqrt(4)
  p.rank = 3;
  p.alpha = 1;
  EXPECT_DOUBLE_EQ(LoraAdapter::scale(p, false), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(LoraAdapter::scale(p, true), 1.0 / std::sqrt(3.0));
}

TEST(MergeLora, MatchesNaiveMatmul) {
  for (bool rslora : {false, true}) {
    Rng rng(7);
    ModelWeights weights = smallWeights(rng);
    ModelWeights original;
    for (const auto &[name, t] : weights)
      original.set(name, t.clone());
    LoraAdapter adapter;
    adapter.rslora = rslora;
    adapter.deltas["a.weight"] = randomPair(rng, 6, 5, 2, 3.0);
    adapter.deltas["b.weight"] = randomPair(rng, 3, 7, 5, 16.0);
    ASSERT_EQ(errorText(mergeLora(weights, adapter)), "");
    for (const char *name : {"a.weight", "b.weight"}) {
      const LoraAdapter::Pair &p = adapter.deltas[name];
      double scale = rslora ? p.alpha / std::sqrt(double(p.rank))
                            : p.alpha / double(p.rank);
      std::vector<double> delta = naiveDelta(p.A, p.B, scale);
      std::vector<float> before = values(*original.find(name));
      std::vector<float> after = values(*weights.find(name));
      ASSERT_EQ(after.size(), delta.size());
      double worst = 0;
      for (size_t i = 0; i < after.size(); ++i)
        worst = std::max(worst, std::fabs(after[i] - (before[i] + delta[i])));
      EXPECT_LT(worst, 1e-6) << name << " rslora " << rslora;
      EXPECT_GT(std::fabs(delta[0]), 1e-3) << "the delta should matter";
    }
    // Untouched weights keep their tensor.
    EXPECT_TRUE(weights.find("norm.weight")
                    ->bitwiseEqual(*original.find("norm.weight")));
  }
}

TEST(MergeLora, LeavesSharedTensorsAlone) {
  Rng rng(8);
  ModelWeights weights = smallWeights(rng);
  Tensor shared = *weights.find("a.weight");
  Tensor copy = shared.clone();
  LoraAdapter adapter;
  adapter.deltas["a.weight"] = randomPair(rng, 6, 5, 2, 4.0);
  ASSERT_EQ(errorText(mergeLora(weights, adapter)), "");
  EXPECT_TRUE(shared.bitwiseEqual(copy));
  EXPECT_FALSE(weights.find("a.weight")->bitwiseEqual(copy));
}

TEST(MergeLora, ZeroBIsANoOp) {
  Rng rng(9);
  ModelWeights weights = smallWeights(rng);
  Tensor before = weights.find("b.weight")->clone();
  LoraAdapter adapter;
  adapter.deltas["b.weight"] = randomPair(rng, 3, 7, 2, 4.0);
  adapter.deltas["b.weight"].B = Tensor::zeros(DType::F32, {3, 2});
  ASSERT_EQ(errorText(mergeLora(weights, adapter)), "");
  EXPECT_TRUE(weights.find("b.weight")->bitwiseEqual(before));
}

TEST(MergeLora, ErrorsLeaveWeightsUnchanged) {
  Rng rng(10);
  struct Case {
    const char *what;
    std::function<void(LoraAdapter &)> edit;
    const char *message;
  };
  std::vector<Case> cases = {
      {"unknown weight",
       [&](LoraAdapter &a) {
         a.deltas["c.weight"] = randomPair(rng, 2, 2, 1, 1);
       },
       "LoRA delta on 'c.weight', which is not a weight of the model"},
      {"A shape",
       [&](LoraAdapter &a) {
         a.deltas["b.weight"].A = randomTensor(rng, {2, 6});
       },
       "LoRA A of 'b.weight': expected shape [2, 7] (rank 2, weight [3, 7]), "
       "found [2, 6]"},
      {"B shape",
       [&](LoraAdapter &a) {
         a.deltas["b.weight"].B = randomTensor(rng, {4, 2});
       },
       "LoRA B of 'b.weight': expected shape [3, 2] (rank 2, weight [3, 7]), "
       "found [4, 2]"},
      {"rank", [&](LoraAdapter &a) { a.deltas["b.weight"].rank = 3; },
       "LoRA A of 'b.weight': expected shape [3, 7] (rank 3, weight [3, 7]), "
       "found [2, 7]"},
      {"zero rank", [&](LoraAdapter &a) { a.deltas["b.weight"].rank = 0; },
       "LoRA delta on 'b.weight': expected a positive rank, found 0"},
      {"missing B", [&](LoraAdapter &a) { a.deltas["b.weight"].B = Tensor(); },
       "LoRA delta on 'b.weight' lacks its B tensor"},
      {"dtype",
       [&](LoraAdapter &a) {
         a.deltas["b.weight"].A = a.deltas["b.weight"].A.to(DType::BF16);
       },
       "LoRA delta on 'b.weight': expected F32 tensors, found A BF16 and B "
       "F32"},
      {"vector weight",
       [&](LoraAdapter &a) {
         a.deltas["norm.weight"] = randomPair(rng, 5, 1, 1, 1);
       },
       "'norm.weight' is not a matrix (shape [5]), so LoRA cannot adapt it"},
      {"alpha", [&](LoraAdapter &a) { a.deltas["b.weight"].alpha = NAN; },
       "LoRA delta on 'b.weight' has a non-finite alpha"},
  };
  for (const Case &c : cases) {
    ModelWeights weights = smallWeights(rng);
    ModelWeights original;
    for (const auto &[name, t] : weights)
      original.set(name, t.clone());
    LoraAdapter adapter;
    adapter.deltas["a.weight"] = randomPair(rng, 6, 5, 2, 4.0);
    adapter.deltas["b.weight"] = randomPair(rng, 3, 7, 2, 4.0);
    c.edit(adapter);
    EXPECT_EQ(errorText(mergeLora(weights, adapter)), c.message) << c.what;
    EXPECT_TRUE(weights.bitwiseEqual(original)) << c.what;
  }
}

/// Merging a PEFT adapter gives PEFT's own merge_and_unload weights.
void expectMergeMatchesPeft(llvm::StringRef model, llvm::StringRef adapterName,
                            size_t expectedTensors) {
  auto loaded = loadHFModelFolder(modelFixture(model));
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  auto adapter = loadPeftLora(peftFixture(adapterName), loaded->config);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  ModelWeights merged = loaded->weights;
  ASSERT_EQ(errorText(mergeLora(merged, *adapter)), "");
  auto exported = exportHFTensors(loaded->config, merged);
  ASSERT_TRUE(bool(exported)) << llvm::toString(exported.takeError());
  auto reference = readRawSafeTensors(
      peftFixture((adapterName + ".merged.safetensors").str()));
  ASSERT_EQ(reference.size(), expectedTensors);
  auto base = exportHFTensors(loaded->config, loaded->weights);
  ASSERT_TRUE(bool(base));
  size_t compared = 0;
  for (size_t i = 0; i < exported->size(); ++i) {
    const auto &[name, tensor] = (*exported)[i];
    auto it = reference.find(name);
    if (it == reference.end())
      continue;
    ++compared;
    ASSERT_EQ(shapeOf(tensor), it->second.shape) << name;
    std::vector<float> mine = values(tensor),
                       before = values((*base)[i].second);
    double worst = 0, change = 0;
    for (size_t j = 0; j < mine.size(); ++j) {
      worst =
          std::max(worst, double(std::fabs(mine[j] - it->second.values[j])));
      change = std::max(change, double(std::fabs(mine[j] - before[j])));
    }
    EXPECT_LT(worst, 2e-6) << name;
    EXPECT_GT(change, 1e-2) << name << ": the adapter should change it";
  }
  EXPECT_EQ(compared, expectedTensors);
}

TEST(MergeLora, MatchesPeftMergeLlama) {
  expectMergeMatchesPeft("tiny-llama", "tiny-llama-lora", 4);
}

TEST(MergeLora, MatchesPeftMergeWithPatternsAndRsLora) {
  expectMergeMatchesPeft("tiny-llama", "tiny-llama-lora-pattern", 6);
}

TEST(MergeLora, MatchesPeftMergeGPT2FusedQKV) {
  // c_attn (q, k and v from one LoRA) and c_fc in both layers.
  expectMergeMatchesPeft("tiny-gpt2", "tiny-gpt2-lora", 4);
}

} // namespace
