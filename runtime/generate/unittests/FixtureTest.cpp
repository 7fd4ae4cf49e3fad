//===- FixtureTest.cpp - forwardLogits and generate vs transformers -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The references were computed by transformers 4.45.2 in float32 from the
// same model folders (scripts/fixtures/make_generate.py): full-forward
// logits, logits of transformers' own KV-cache decode, greedy generate()
// continuations, all with and without random LoRA deltas on q and v.
//
//===----------------------------------------------------------------------===//

#include "Decoder.h"
#include "TestUtil.h"

#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include <cmath>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::test;

namespace {

// Logits are O(1); fp32 rounding of a 2-layer model stays near 1e-6.
constexpr double kAtol = 1e-4, kRtol = 1e-4;

class FixtureTest : public ::testing::TestWithParam<std::string> {
protected:
  const LoadedModel &model() { return fixtureModel(GetParam()); }
  const SafeTensorsFile &ref() { return referenceFile(GetParam()); }
};

void expectLogits(const Tensor &got, const std::vector<float> &want,
                  const std::string &what) {
  ASSERT_EQ(static_cast<size_t>(got.numel()), want.size()) << what;
  Closeness c = compare(got.dataAs<const float>(), want.data(), want.size(),
                        kAtol, kRtol);
  EXPECT_TRUE(c.ok) << what << ": max |diff| " << c.maxAbs;
}

TEST_P(FixtureTest, ForwardLogitsMatchTransformers) {
  kernels::ThreadPool pool(2);
  for (int i = 0; i < 4; ++i) {
    std::string key = "seq." + std::to_string(i);
    std::vector<int32_t> ids = referenceIds(ref(), key + ".ids");
    auto logits = forwardLogits(viewOf(model()), ids, &pool);
    ASSERT_TRUE(bool(logits)) << llvm::toString(logits.takeError());
    EXPECT_EQ(logits->dim(0), static_cast<int64_t>(ids.size()));
    EXPECT_EQ(logits->dim(1), model().config.vocab);
    expectLogits(*logits, referenceFloats(ref(), key + ".logits"), key);
  }
}

TEST_P(FixtureTest, LoraLogitsMatchTransformers) {
  ReferenceLora lora = referenceLora(ref());
  ASSERT_EQ(lora.a.size(), 2 * model().config.layers);
  ASSERT_GT(lora.scale, 0.0f);
  ModelView view = viewOf(model());
  lora.attach(view);
  for (int i : {1, 2}) {
    std::string key = "seq." + std::to_string(i);
    std::vector<int32_t> ids = referenceIds(ref(), key + ".ids");
    auto logits = forwardLogits(view, ids, nullptr);
    ASSERT_TRUE(bool(logits)) << llvm::toString(logits.takeError());
    expectLogits(*logits, referenceFloats(ref(), "lora." + key + ".logits"),
                 "lora " + key);
    // The delta matters: without it the logits are far from these.
    auto plain = forwardLogits(viewOf(model()), ids, nullptr);
    ASSERT_TRUE(bool(plain));
    std::vector<float> loraRef =
        referenceFloats(ref(), "lora." + key + ".logits");
    EXPECT_GT(compare(plain->dataAs<const float>(), loraRef.data(),
                      loraRef.size(), 0, 0)
                  .maxAbs,
              1e-2);
  }
}

// Decoding with the cache, one token per step after a prefix, gives the
// logits of transformers' own cached decode. Through the GEMM path (as
// prompt tokens) the result is bitwise that of our full forward (a token's
// arithmetic never depends on what else is in its step); through the decode
// path (rowGemm) it differs only by rounding.
TEST_P(FixtureTest, CachedDecodeMatchesFullForward) {
  std::vector<int32_t> ids = referenceIds(ref(), "seq.2.ids");
  const int64_t prefix = std::stoll(referenceMeta(ref(), "cache_prefix"));
  std::vector<float> cached = referenceFloats(ref(), "cache.logits");
  const int64_t V = model().config.vocab, L = ids.size();
  ASSERT_EQ(static_cast<int64_t>(cached.size()), (L - prefix) * V);

  auto full = forwardLogits(viewOf(model()), ids, nullptr);
  ASSERT_TRUE(bool(full)) << llvm::toString(full.takeError());
  auto resolved = detail::resolveModel(viewOf(model()));
  ASSERT_TRUE(bool(resolved)) << llvm::toString(resolved.takeError());
  kernels::ThreadPool pool(2);
  for (int64_t decodeTokens : {0, 1}) {
    SCOPED_TRACE(decodeTokens ? "decode path" : "GEMM path");
    // Slot 1 of 3, so the cache addressing of other slots is exercised too.
    detail::Decoder decoder(*resolved, 3, L, prefix, 1, &pool);
    std::vector<detail::StepToken> step;
    for (int64_t p = 0; p < prefix; ++p)
      step.push_back(
          {1, static_cast<int32_t>(p), ids[p], p == prefix - 1 ? 0 : -1});
    decoder.step(step);
    EXPECT_EQ(0, std::memcmp(decoder.logits(0),
                             full->dataAs<const float>() + (prefix - 1) * V,
                             V * sizeof(float)));
    for (int64_t p = prefix; p < L; ++p) {
      detail::StepToken tok{1, static_cast<int32_t>(p), ids[p], 0};
      decoder.step(tok, decodeTokens);
      const float *got = decoder.logits(0);
      Closeness c =
          compare(got, cached.data() + (p - prefix) * V, V, kAtol, kRtol);
      EXPECT_TRUE(c.ok) << "position " << p << ": max |diff| " << c.maxAbs;
      const float *fullRow = full->dataAs<const float>() + p * V;
      if (decodeTokens == 0)
        EXPECT_EQ(0, std::memcmp(got, fullRow, V * sizeof(float)))
            << "position " << p;
      else
        EXPECT_TRUE(compare(got, fullRow, V, 1e-5, 1e-5).ok)
            << "position " << p;
    }
  }
}

// A decode token's logits are bitwise the same whether it is alone in its
// step or shares it with other slots' decode tokens and a prompt chunk.
TEST_P(FixtureTest, DecodeTokenIgnoresTheRestOfItsStep) {
  std::vector<int32_t> ids = referenceIds(ref(), "seq.2.ids");
  std::vector<int32_t> other = referenceIds(ref(), "seq.1.ids");
  const int64_t V = model().config.vocab;
  auto resolved = detail::resolveModel(viewOf(model()));
  ASSERT_TRUE(bool(resolved)) << llvm::toString(resolved.takeError());
  kernels::ThreadPool pool(2);
  auto run = [&](bool crowded, std::vector<float> &out) {
    detail::Decoder decoder(*resolved, 4, 64, 64, 4, &pool);
    std::vector<detail::StepToken> step;
    for (int32_t p = 0; p < 10; ++p) // slot 2 and, crowded, slot 0 read
      for (int32_t slot : {0, 2})    // a 10-token prompt
        if (slot == 2 || crowded)
          step.push_back({slot, p, ids[p], -1});
    decoder.step(step);
    for (int32_t p = 10; p < 20; ++p) {
      step.clear();
      step.push_back({2, p, ids[p], 0});
      if (crowded) {
        step.push_back({0, p, ids[p + 1], 1});
        for (int32_t q = 0; q < 5; ++q) // slot 3 reads a prompt meanwhile
          if (p == 10)
            step.push_back({3, q, other[q], q == 4 ? 2 : -1});
      }
      decoder.step(step, crowded ? 2 : 1);
      out.insert(out.end(), decoder.logits(0), decoder.logits(0) + V);
    }
  };
  std::vector<float> alone, crowded;
  run(false, alone);
  run(true, crowded);
  ASSERT_EQ(alone.size(), crowded.size());
  EXPECT_EQ(0, std::memcmp(alone.data(), crowded.data(),
                           alone.size() * sizeof(float)));
}

std::vector<std::vector<int32_t>> greedyPrompts(const SafeTensorsFile &ref) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 3; ++i)
    prompts.push_back(
        referenceIds(ref, "greedy." + std::to_string(i) + ".prompt"));
  return prompts;
}

void expectGreedy(const ModelView &view, const SafeTensorsFile &ref,
                  const std::string &prefix, int64_t batchSize,
                  kernels::ThreadPool *pool) {
  auto tokenizer = makeByteTokenizer();
  SamplingOptions options;
  options.maxTokens = std::stoll(referenceMeta(ref, "max_new_tokens"));
  auto prompts = greedyPrompts(ref);
  auto samples =
      generate(view, *tokenizer, prompts, options, pool, {}, batchSize);
  ASSERT_TRUE(bool(samples)) << llvm::toString(samples.takeError());
  ASSERT_EQ(samples->size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Sample &s = (*samples)[i];
    EXPECT_EQ(s.prompt, i);
    EXPECT_EQ(s.tokens, referenceIds(ref, prefix + "greedy." +
                                              std::to_string(i) + ".tokens"))
        << prefix << "prompt " << i << ", batch size " << batchSize;
    EXPECT_EQ(s.finish, "length");
    EXPECT_EQ(s.text, tokenizer->decode(s.tokens));
  }
}

TEST_P(FixtureTest, GreedyMatchesTransformers) {
  kernels::ThreadPool pool(2);
  for (int64_t batch : {1, 2, 16})
    expectGreedy(viewOf(model()), ref(), "", batch, &pool);
  expectGreedy(viewOf(model()), ref(), "", 16, nullptr);
}

TEST_P(FixtureTest, LoraGreedyMatchesTransformers) {
  ReferenceLora lora = referenceLora(ref());
  ModelView view = viewOf(model());
  lora.attach(view);
  kernels::ThreadPool pool(2);
  expectGreedy(view, ref(), "lora.", 16, &pool);
  expectGreedy(view, ref(), "lora.", 1, nullptr);
}

INSTANTIATE_TEST_SUITE_P(Models, FixtureTest,
                         ::testing::Values("tiny-llama", "tiny-gpt2",
                                           "tiny-qwen2"),
                         [](const auto &info) {
                           std::string name = info.param;
                           for (char &ch : name)
                             if (ch == '-')
                               ch = '_';
                           return name;
                         });

} // namespace
