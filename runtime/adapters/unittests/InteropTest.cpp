//===- InteropTest.cpp - PEFT adapters through ftl's forward pass ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The logits of the tiny models with PEFT-made adapters, computed by
// forwardLogits (runtime/generate), against the logits PEFT itself computed
// (test/fixtures/peft/<name>.logits.safetensors, scripts/fixtures/
// make_peft.py). Built only where FTLGenerate exists.
//
//===----------------------------------------------------------------------===//

#include "AdaptersTestUtil.h"

#include "ftl/Adapters/Peft.h"
#include "ftl/Generate/Generate.h"
#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/ModelIO.h"

#include <cmath>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::test;

namespace {

constexpr double kTolerance = 1e-4;

struct Logits {
  std::vector<int32_t> tokens;
  std::vector<float> values;
};

Logits peftLogits(llvm::StringRef name) {
  auto raw =
      readRawSafeTensors(peftFixture(name.str() + ".logits.safetensors"));
  Logits out;
  const RawTensor &tokens = raw.at("tokens");
  EXPECT_EQ(tokens.dtype, "I64");
  for (size_t i = 0; i < tokens.bytes.size() / 8; ++i) {
    int64_t t;
    std::memcpy(&t, tokens.bytes.data() + 8 * i, 8);
    out.tokens.push_back(static_cast<int32_t>(t));
  }
  out.values = raw.at("logits").values;
  return out;
}

/// Logits with the adapter applied as deltas, or merged into the weights.
std::vector<float> ftlLogits(const LoadedModel &model,
                             const LoraAdapter *adapter,
                             llvm::ArrayRef<int32_t> tokens, bool merge) {
  ModelWeights weights = model.weights;
  ModelView view;
  view.config = &model.config;
  view.weights = &weights;
  if (adapter && merge) {
    EXPECT_EQ(errorText(mergeLora(weights, *adapter)), "");
  } else if (adapter) {
    for (const auto &[name, pair] : adapter->deltas)
      view.lora[name] = {
          &pair.A, &pair.B,
          static_cast<float>(LoraAdapter::scale(pair, adapter->rslora))};
  }
  kernels::ThreadPool pool(2);
  auto logits = forwardLogits(view, tokens, &pool);
  EXPECT_TRUE(bool(logits)) << llvm::toString(logits.takeError());
  return logits ? values(*logits) : std::vector<float>();
}

/// Largest |a - b| and largest |a - b| / max(|b|, 1).
std::pair<double, double> maxDiff(const std::vector<float> &a,
                                  const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  double abs = 0, rel = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    double d = std::fabs(double(a[i]) - b[i]);
    abs = std::max(abs, d);
    rel = std::max(rel, d / std::max(1.0, std::fabs(double(b[i]))));
  }
  return {abs, rel};
}

class PeftLogits
    : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(PeftLogits, ForwardLogitsMatchPeft) {
  const auto &[modelName, adapterName] = GetParam();
  auto model = loadHFModelFolder(modelFixture(modelName));
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto adapter = loadPeftLora(peftFixture(adapterName), model->config);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  Logits want = peftLogits(adapterName);
  ASSERT_EQ(want.values.size(), want.tokens.size() * model->config.vocab);

  std::vector<float> base = ftlLogits(*model, nullptr, want.tokens, false);
  std::vector<float> deltas = ftlLogits(*model, &*adapter, want.tokens, false);
  std::vector<float> merged = ftlLogits(*model, &*adapter, want.tokens, true);
  auto [absD, relD] = maxDiff(deltas, want.values);
  auto [absM, relM] = maxDiff(merged, want.values);
  auto [absB, relB] = maxDiff(base, want.values);
  std::printf("  %s: max |ftl - peft| %.3g (rel %.3g) as deltas, %.3g (rel "
              "%.3g) merged; the adapter moves logits by up to %.3g\n",
              adapterName.c_str(), absD, relD, absM, relM, absB);
  EXPECT_LT(relD, kTolerance);
  EXPECT_LT(relM, kTolerance);
  EXPECT_GT(absB, 100 * kTolerance) << "the adapter should matter";

  // An ftl-saved copy gives the same logits.
  TempDir tmp;
  ASSERT_EQ(errorText(savePeftLora(*adapter, model->config, tmp.file("a"))),
            "");
  auto again = loadPeftLora(tmp.file("a"), model->config);
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_EQ(ftlLogits(*model, &*again, want.tokens, false), deltas);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, PeftLogits,
    ::testing::Values(std::make_pair("tiny-llama", "tiny-llama-lora"),
                      std::make_pair("tiny-llama", "tiny-llama-lora-pattern"),
                      std::make_pair("tiny-gpt2", "tiny-gpt2-lora")),
    [](const auto &info) {
      std::string name = info.param.second;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// A PEFT prompt-tuning adapter through the decoder's virtual tokens: the
// fixture holds PEFT's logits for the 5 virtual positions and then the
// tokens; forwardLogits returns the tokens' rows only.
TEST(PeftPromptLogits, ForwardLogitsMatchPeft) {
  auto model = loadHFModelFolder(modelFixture("tiny-llama"));
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto prompt = loadPeftPrompt(peftFixture("tiny-llama-prompt"), model->config);
  ASSERT_TRUE(bool(prompt)) << llvm::toString(prompt.takeError());
  Logits want = peftLogits("tiny-llama-prompt");
  const int64_t V = model->config.vocab, P = prompt->embeddings.dim(0);
  ASSERT_EQ(int64_t(want.values.size()), (P + int64_t(want.tokens.size())) * V);
  std::vector<float> tokensOnly(want.values.begin() + P * V, want.values.end());

  ModelView view;
  view.config = &model->config;
  view.weights = &model->weights;
  view.virtualTokens.count = P;
  view.virtualTokens.prompt = &prompt->embeddings;
  kernels::ThreadPool pool(2);
  auto logits = forwardLogits(view, want.tokens, &pool);
  ASSERT_TRUE(bool(logits)) << llvm::toString(logits.takeError());
  auto [abs, rel] = maxDiff(values(*logits), tokensOnly);
  std::vector<float> base = ftlLogits(*model, nullptr, want.tokens, false);
  auto [absB, relB] = maxDiff(base, tokensOnly);
  std::printf("  tiny-llama-prompt: max |ftl - peft| %.3g (rel %.3g); the "
              "prompt moves logits by up to %.3g\n",
              abs, rel, absB);
  EXPECT_LT(rel, kTolerance);
  EXPECT_GT(absB, 100 * kTolerance) << "the prompt should matter";
}

TEST(PeftLogitsGPT2, BlockDiagonalCAttnKeepsTheLogits) {
  // Separate q and v deltas (ftl's own form) saved as one fused c_attn LoRA
  // and read back without ftl's record (as any other reader would): the
  // logits do not change beyond rounding.
  auto model = loadHFModelFolder(modelFixture("tiny-gpt2"));
  ASSERT_TRUE(bool(model));
  Rng rng(21);
  LoraAdapter adapter;
  for (int layer = 0; layer < 2; ++layer) {
    std::string L = "layers." + std::to_string(layer) + ".";
    adapter.deltas[L + "attn.q.weight"] = randomPair(rng, 64, 64, 4, 8);
    adapter.deltas[L + "attn.v.weight"] = randomPair(rng, 64, 64, 4, 8);
  }
  std::vector<int32_t> tokens = {1, 5, 9, 42, 100, 7, 255, 0};
  std::vector<float> direct = ftlLogits(*model, &adapter, tokens, false);
  TempDir tmp;
  ASSERT_EQ(errorText(savePeftLora(adapter, model->config, tmp.file("g"))), "");
  {
    std::vector<NamedTensor> tensors;
    auto file = SafeTensorsFile::open(tmp.file("g/adapter_model.safetensors"));
    ASSERT_TRUE(bool(file));
    for (auto &[name, t] : file->tensors())
      tensors.emplace_back(name, t.clone());
    ASSERT_EQ(errorText(writeSafeTensors(
                  llvm::StringRef(tmp.file("g/adapter_model.safetensors")),
                  tensors, {{"format", "pt"}})),
              "");
  }
  auto fused = loadPeftLora(tmp.file("g"), model->config);
  ASSERT_TRUE(bool(fused)) << llvm::toString(fused.takeError());
  EXPECT_EQ(fused->deltas.size(), 6u); // q, k, v of both layers, rank 8
  std::vector<float> viaFused = ftlLogits(*model, &*fused, tokens, false);
  auto [abs, rel] = maxDiff(viaFused, direct);
  EXPECT_LT(rel, 1e-5);
  std::vector<float> base = ftlLogits(*model, nullptr, tokens, false);
  EXPECT_GT(maxDiff(base, direct).first, 1e-2);
}

} // namespace
