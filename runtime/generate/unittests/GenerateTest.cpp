//===- GenerateTest.cpp - Sampling, stopping, batching, determinism -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Sampler.h"
#include "TestUtil.h"

#include "ftl/Kernels/ThreadPool.h"
#include "ftl/Models/Init.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include <limits>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::test;

namespace {

const LoadedModel &llama() { return fixtureModel("tiny-llama"); }

std::vector<std::vector<int32_t>> somePrompts() {
  return {{1, 5, 9, 42}, {100, 7}, {255, 0, 3, 3, 8, 17, 40, 12, 9}};
}

std::vector<Sample> run(const ModelView &view,
                        const std::vector<std::vector<int32_t>> &prompts,
                        const SamplingOptions &options,
                        kernels::ThreadPool *pool, int64_t batchSize = 16) {
  auto tokenizer = makeByteTokenizer();
  auto samples =
      generate(view, *tokenizer, prompts, options, pool, {}, batchSize);
  if (!samples) {
    ADD_FAILURE() << llvm::toString(samples.takeError());
    return {};
  }
  return std::move(*samples);
}

void expectSame(const std::vector<Sample> &a, const std::vector<Sample> &b,
                const std::string &what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt) << what << ", sample " << i;
    EXPECT_EQ(a[i].tokens, b[i].tokens) << what << ", sample " << i;
    EXPECT_EQ(a[i].text, b[i].text) << what << ", sample " << i;
    EXPECT_EQ(a[i].finish, b[i].finish) << what << ", sample " << i;
  }
}

SamplingOptions sampled(uint64_t seed) {
  SamplingOptions o;
  o.temperature = 0.9;
  o.topK = 40;
  o.topP = 0.95;
  o.n = 3;
  o.maxTokens = 24;
  o.seed = seed;
  return o;
}

/// The greedy continuation by repeated full forwards (no cache): the
/// argmax of the last row of forwardLogits(prompt + generated so far).
std::vector<int32_t> greedyByFullForward(const ModelView &view,
                                         std::vector<int32_t> seq,
                                         int64_t count) {
  std::vector<int32_t> out;
  for (int64_t i = 0; i < count; ++i) {
    auto logits = forwardLogits(view, seq, nullptr);
    if (!logits) {
      ADD_FAILURE() << llvm::toString(logits.takeError());
      return out;
    }
    const int64_t V = logits->dim(1);
    const float *last = logits->dataAs<const float>() + (seq.size() - 1) * V;
    int32_t best = 0;
    for (int32_t t = 1; t < V; ++t)
      if (last[t] > last[best])
        best = t;
    out.push_back(best);
    seq.push_back(best);
  }
  return out;
}

TEST(Generate, SamplingIsReproducibleAndDependsOnTheSeed) {
  kernels::ThreadPool pool(2);
  ModelView view = viewOf(llama());
  auto a = run(view, somePrompts(), sampled(5), &pool);
  auto b = run(view, somePrompts(), sampled(5), &pool);
  auto c = run(view, somePrompts(), sampled(6), &pool);
  ASSERT_EQ(a.size(), 9u);
  expectSame(a, b, "same seed");
  int differing = 0;
  for (size_t i = 0; i < a.size(); ++i)
    differing += a[i].tokens != c[i].tokens;
  EXPECT_GE(differing, 7) << "another seed should change almost every sample";
  // The samples of one prompt use different streams.
  EXPECT_NE(a[0].tokens, a[1].tokens);
  EXPECT_NE(a[1].tokens, a[2].tokens);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, i / 3);
    EXPECT_EQ(a[i].tokens.size(), 24u);
    EXPECT_EQ(a[i].finish, "length");
  }
}

TEST(Generate, GreedySamplesOfAPromptAreIdentical) {
  SamplingOptions o;
  o.n = 3;
  o.maxTokens = 10;
  o.seed = 99;
  auto s = run(viewOf(llama()), somePrompts(), o, nullptr, 4);
  ASSERT_EQ(s.size(), 9u);
  for (size_t p = 0; p < 3; ++p) {
    EXPECT_EQ(s[3 * p].tokens, s[3 * p + 1].tokens);
    EXPECT_EQ(s[3 * p].tokens, s[3 * p + 2].tokens);
  }
}

TEST(Generate, TopKOneIsGreedy) {
  const SafeTensorsFile &ref = referenceFile("tiny-llama");
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 3; ++i)
    prompts.push_back(
        referenceIds(ref, "greedy." + std::to_string(i) + ".prompt"));
  SamplingOptions o;
  o.temperature = 1.3;
  o.topK = 1;
  o.n = 2;
  o.maxTokens = 16;
  o.seed = 3;
  auto s = run(viewOf(llama()), prompts, o, nullptr);
  ASSERT_EQ(s.size(), 6u);
  for (size_t i = 0; i < s.size(); ++i)
    EXPECT_EQ(s[i].tokens,
              referenceIds(ref, "greedy." + std::to_string(i / 2) + ".tokens"))
        << "sample " << i;
}

TEST(Generate, ThreadCountDoesNotChangeResults) {
  ModelView view = viewOf(llama());
  auto reference = run(view, somePrompts(), sampled(11), nullptr);
  for (int threads : {1, 2, 3}) {
    kernels::ThreadPool pool(threads);
    expectSame(run(view, somePrompts(), sampled(11), &pool), reference,
               std::to_string(threads) + " threads");
  }
}

TEST(Generate, BatchSizeDoesNotChangeResults) {
  // Rows finish early (eos), slots are reused, samples of a prompt share or
  // copy its prefill depending on the batch size: none of it may show.
  ModelView view = viewOf(llama());
  SamplingOptions o = sampled(21);
  o.temperature = 1.5;
  o.topK = 0;
  o.topP = 1.0;
  o.maxTokens = 30;
  o.eos = 7;
  o.n = 4;
  std::vector<std::vector<int32_t>> prompts = somePrompts();
  prompts.push_back({9});
  auto reference = run(view, prompts, o, nullptr, 16);
  int early = 0;
  for (const Sample &s : reference)
    early += s.finish == "eos";
  EXPECT_GE(early, 1) << "pick a seed where some row hits eos";
  kernels::ThreadPool pool(2);
  for (int64_t batch : {1, 2, 3, 5, 7})
    expectSame(run(view, prompts, o, &pool, batch), reference,
               "batch size " + std::to_string(batch));
}

TEST(Generate, EosEndsARowAndStaysInItsTokens) {
  const SafeTensorsFile &ref = referenceFile("tiny-llama");
  std::vector<int32_t> prompt = referenceIds(ref, "greedy.0.prompt");
  std::vector<int32_t> greedy = referenceIds(ref, "greedy.0.tokens");
  ASSERT_GE(greedy.size(), 8u);
  // Stop on the 6th greedy token: generation ends at its first occurrence.
  const int32_t eos = greedy[5];
  size_t first = 0;
  while (greedy[first] != eos)
    ++first;
  SamplingOptions o;
  o.maxTokens = 16;
  o.eos = eos;
  auto s = run(viewOf(llama()), {prompt}, o, nullptr);
  ASSERT_EQ(s.size(), 1u);
  std::vector<int32_t> want(greedy.begin(), greedy.begin() + first + 1);
  EXPECT_EQ(s[0].tokens, want);
  EXPECT_EQ(s[0].finish, "eos");
  auto tokenizer = makeByteTokenizer();
  EXPECT_EQ(s[0].text,
            tokenizer->decode(llvm::ArrayRef<int32_t>(want).drop_back()));
}

TEST(Generate, StopStringsCutTheText) {
  const SafeTensorsFile &ref = referenceFile("tiny-llama");
  std::vector<int32_t> prompt = referenceIds(ref, "greedy.0.prompt");
  std::vector<int32_t> greedy = referenceIds(ref, "greedy.0.tokens");
  // The fixture's greedy text starts "@iiii" (ids 64, 105, ...): ASCII
  // bytes, one token per character.
  ASSERT_EQ(std::vector<int32_t>(greedy.begin(), greedy.begin() + 5),
            (std::vector<int32_t>{'@', 'i', 'i', 'i', 'i'}));
  SamplingOptions o;
  o.maxTokens = 16;

  // A stop string spanning two tokens: both tokens stay, the text is cut.
  o.stop = {"ii"};
  auto s = run(viewOf(llama()), {prompt}, o, nullptr);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].tokens, (std::vector<int32_t>{'@', 'i', 'i'}));
  EXPECT_EQ(s[0].text, "@");
  EXPECT_EQ(s[0].finish, "stop");

  // Several stop strings: the first to appear wins; the cut is at the
  // earliest match in the text.
  o.stop = {"iiii", "@i", "zz"};
  s = run(viewOf(llama()), {prompt}, o, nullptr);
  EXPECT_EQ(s[0].tokens, (std::vector<int32_t>{'@', 'i'}));
  EXPECT_EQ(s[0].text, "");
  EXPECT_EQ(s[0].finish, "stop");

  o.stop = {"iii"};
  s = run(viewOf(llama()), {prompt}, o, nullptr);
  EXPECT_EQ(s[0].tokens, (std::vector<int32_t>{'@', 'i', 'i', 'i'}));
  EXPECT_EQ(s[0].text, "@");

  // Never matched: runs to the length limit with the whole text.
  o.stop = {"never"};
  s = run(viewOf(llama()), {prompt}, o, nullptr);
  EXPECT_EQ(s[0].tokens, greedy);
  EXPECT_EQ(s[0].finish, "length");
  auto tokenizer = makeByteTokenizer();
  EXPECT_EQ(s[0].text, tokenizer->decode(greedy));
}

TEST(Generate, TheContextLimitEndsRowsWithLength) {
  const int64_t ctx = llama().config.ctx;
  ModelView view = viewOf(llama());
  std::vector<int32_t> nearlyFull(static_cast<size_t>(ctx - 3));
  for (size_t i = 0; i < nearlyFull.size(); ++i)
    nearlyFull[i] = static_cast<int32_t>((i * 37 + 11) % 256);
  std::vector<int32_t> full(static_cast<size_t>(ctx), 5);
  SamplingOptions o;
  o.maxTokens = 10;
  auto s = run(view, {nearlyFull, full, {1, 2}}, o, nullptr);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].tokens.size(), 3u);
  EXPECT_EQ(s[0].finish, "length");
  EXPECT_EQ(s[0].tokens, greedyByFullForward(view, nearlyFull, 3));
  EXPECT_TRUE(s[1].tokens.empty());
  EXPECT_EQ(s[1].finish, "length");
  EXPECT_EQ(s[1].text, "");
  EXPECT_EQ(s[2].tokens.size(), 10u);
}

TEST(Generate, HugeMaxTokensStopsAtTheContext) {
  SamplingOptions o;
  o.maxTokens = std::numeric_limits<int64_t>::max();
  o.temperature = 1.0;
  auto s = run(viewOf(llama()), {{1, 2, 3}, std::vector<int32_t>(120, 9)}, o,
               nullptr);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].tokens.size(), 125u);
  EXPECT_EQ(s[1].tokens.size(), 8u);
  EXPECT_EQ(s[0].finish, "length");
}

TEST(Generate, GPT2PositionsUpToTheContext) {
  const LoadedModel &gpt2 = fixtureModel("tiny-gpt2");
  ModelView view = viewOf(gpt2);
  std::vector<int32_t> prompt(static_cast<size_t>(gpt2.config.ctx - 9));
  for (size_t i = 0; i < prompt.size(); ++i)
    prompt[i] = static_cast<int32_t>((i * 91 + 3) % 256);
  SamplingOptions o;
  o.maxTokens = 20;
  kernels::ThreadPool pool(2);
  auto s = run(view, {prompt, {4, 4, 4}}, o, &pool, 2);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].tokens, greedyByFullForward(view, prompt, 9));
  EXPECT_EQ(s[1].tokens, greedyByFullForward(view, {4, 4, 4}, 20));
}

TEST(Generate, NothingToGenerate) {
  SamplingOptions o;
  o.maxTokens = 0;
  o.n = 2;
  auto s = run(viewOf(llama()), somePrompts(), o, nullptr);
  ASSERT_EQ(s.size(), 6u);
  for (const Sample &x : s) {
    EXPECT_TRUE(x.tokens.empty());
    EXPECT_EQ(x.finish, "length");
  }
  o.maxTokens = 5;
  EXPECT_TRUE(run(viewOf(llama()), {}, o, nullptr).empty());
}

TEST(Generate, ProgressCountsEveryToken) {
  auto tokenizer = makeByteTokenizer();
  SamplingOptions o = sampled(1);
  o.maxTokens = 12;
  std::vector<int64_t> seen;
  auto s = generate(
      viewOf(llama()), *tokenizer, somePrompts(), o, nullptr,
      [&](int64_t n) { seen.push_back(n); }, 4);
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  int64_t total = 0;
  for (const Sample &x : *s)
    total += static_cast<int64_t>(x.tokens.size());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), total);
  for (size_t i = 1; i < seen.size(); ++i)
    EXPECT_LE(seen[i - 1], seen[i]);
  // 9 rows of 12 tokens in 4 slots: at least ceil(9 / 4) * 12 steps.
  EXPECT_GE(seen.size(), 36u);
}

// A larger context than the fixtures: prompts longer than one step's prompt
// budget (256 tokens) are read in chunks while other rows decode.
TEST(Generate, LongPromptsAreReadInChunks) {
  auto config = modelConfigFromArgs("llama", {{"vocab", int64_t(61)},
                                              {"dim", int64_t(32)},
                                              {"layers", int64_t(2)},
                                              {"heads", int64_t(4)},
                                              {"kv_heads", int64_t(1)},
                                              {"ctx", int64_t(700)},
                                              {"init_std", 0.5}});
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  Rng rng(17);
  ModelWeights weights = initModelWeights(*config, rng);
  ModelView view;
  view.config = &*config;
  view.weights = &weights;

  std::vector<int32_t> longPrompt(600), mid(300), shortPrompt{3, 1, 4};
  for (size_t i = 0; i < longPrompt.size(); ++i)
    longPrompt[i] = static_cast<int32_t>((i * 13 + 5) % 61);
  for (size_t i = 0; i < mid.size(); ++i)
    mid[i] = static_cast<int32_t>((i * 7 + 2) % 61);
  SamplingOptions o;
  o.maxTokens = 6;
  kernels::ThreadPool pool(2);
  auto s = run(view, {shortPrompt, longPrompt, mid}, o, &pool, 2);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].tokens, greedyByFullForward(view, shortPrompt, 6));
  EXPECT_EQ(s[1].tokens, greedyByFullForward(view, longPrompt, 6));
  EXPECT_EQ(s[2].tokens, greedyByFullForward(view, mid, 6));

  SamplingOptions t = sampled(8);
  t.maxTokens = 6;
  expectSame(run(view, {shortPrompt, longPrompt, mid}, t, &pool, 2),
             run(view, {shortPrompt, longPrompt, mid}, t, nullptr, 9),
             "sampled, batch 2 vs 9");
}

TEST(Generate, NoAllocationPerToken) {
  ModelView view = viewOf(llama());
  kernels::ThreadPool pool(2);
  auto count = [&](int64_t maxTokens) {
    SamplingOptions o = sampled(4);
    o.maxTokens = maxTokens;
    o.n = 2;
    auto tokenizer = makeByteTokenizer();
    int64_t before = allocationCount();
    auto s = generate(view, *tokenizer, somePrompts(), o, &pool, {}, 4);
    int64_t used = allocationCount() - before;
    EXPECT_TRUE(bool(s));
    if (!s)
      llvm::consumeError(s.takeError());
    return used;
  };
  count(4); // warm-up: per-thread GEMM workspaces grow once
  int64_t few = count(8), many = count(72);
  // 6 rows x 64 more tokens: one allocation per token (or per row and
  // step) would add at least 384; decoding the longer texts adds a few
  // string growths per row.
  EXPECT_LT(many - few, 6 * 64 / 4) << few << " vs " << many;
}

} // namespace
