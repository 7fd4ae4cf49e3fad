//===- ErrorsTest.cpp - Every bad input of forwardLogits and generate -----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Models/Init.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include <cmath>
#include <limits>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::test;

namespace {

const LoadedModel &llama() { return fixtureModel("tiny-llama"); }

std::string generateError(const ModelView &view,
                          std::vector<std::vector<int32_t>> prompts,
                          const SamplingOptions &options,
                          int64_t batchSize = 16) {
  auto tokenizer = makeByteTokenizer();
  auto result =
      generate(view, *tokenizer, prompts, options, nullptr, {}, batchSize);
  if (result)
    return "<no error>";
  return llvm::toString(result.takeError());
}

std::string optionsError(const SamplingOptions &options,
                         int64_t batchSize = 16) {
  return generateError(viewOf(llama()), {{1, 2, 3}}, options, batchSize);
}

std::string forwardError(const ModelView &view,
                         const std::vector<int32_t> &tokens) {
  auto result = forwardLogits(view, tokens, nullptr);
  if (result)
    return "<no error>";
  return llvm::toString(result.takeError());
}

TEST(Errors, Options) {
  SamplingOptions o;
  o.temperature = -0.5;
  EXPECT_EQ(optionsError(o), "generate: 'temperature' must be a finite number "
                             ">= 0 (0 = greedy), found -0.5");
  o.temperature = std::nan("");
  EXPECT_EQ(optionsError(o), "generate: 'temperature' must be a finite number "
                             ">= 0 (0 = greedy), found nan");
  o = SamplingOptions();
  o.topP = 0;
  EXPECT_EQ(optionsError(o),
            "generate: 'top_p' must be in (0, 1] (1 = off), found 0");
  o.topP = 1.5;
  EXPECT_EQ(optionsError(o),
            "generate: 'top_p' must be in (0, 1] (1 = off), found 1.5");
  o = SamplingOptions();
  o.topK = -2;
  EXPECT_EQ(optionsError(o),
            "generate: 'top_k' must be >= 0 (0 = off), found -2");
  o = SamplingOptions();
  o.n = 0;
  EXPECT_EQ(optionsError(o), "generate: 'n' (samples per prompt) must be at "
                             "least 1, found 0");
  o = SamplingOptions();
  o.maxTokens = -1;
  EXPECT_EQ(optionsError(o), "generate: 'max_tokens' must be >= 0, found -1");
  o = SamplingOptions();
  EXPECT_EQ(optionsError(o, 0),
            "generate: the batch size must be at least 1 row, found 0");
  o.stop = {"ok", ""};
  EXPECT_EQ(optionsError(o), "generate: stop string 1 is empty (expected at "
                             "least one character)");
  o = SamplingOptions();
  o.eos = 256;
  EXPECT_EQ(optionsError(o), "generate: the eos token 256 is outside the "
                             "model's vocabulary of 256 tokens (expected "
                             "0..255)");
  o.eos = -1;
  EXPECT_EQ(optionsError(o), "generate: the eos token -1 is outside the "
                             "model's vocabulary of 256 tokens (expected "
                             "0..255)");
}

TEST(Errors, TooManyRows) {
  SamplingOptions o;
  o.n = int64_t(1) << 40;
  EXPECT_EQ(generateError(viewOf(llama()), {{1}, {2}, {3}}, o),
            "generate: 3 prompts x 1099511627776 samples is more than "
            "2147483648 rows");
}

TEST(Errors, Prompts) {
  ModelView view = viewOf(llama());
  SamplingOptions o;
  EXPECT_EQ(generateError(view, {{1}, {}}, o),
            "generate: prompt 1 is empty (expected at least one token)");
  std::vector<int32_t> tooLong(129, 3);
  EXPECT_EQ(generateError(view, {{1}, {2}, tooLong}, o),
            "generate: prompt 2 has 129 tokens but the model's context is "
            "128 tokens");
  EXPECT_EQ(generateError(view, {{1, 2, 300}}, o),
            "generate: prompt 0, position 2: token id 300 is outside the "
            "model's vocabulary of 256 tokens (expected 0..255)");
  EXPECT_EQ(generateError(view, {{4}, {-7, 1}}, o),
            "generate: prompt 1, position 0: token id -7 is outside the "
            "model's vocabulary of 256 tokens (expected 0..255)");
}

TEST(Errors, ForwardLogits) {
  ModelView view = viewOf(llama());
  EXPECT_EQ(forwardError(view, {}), "forwardLogits: the token sequence is "
                                    "empty (expected at least one token)");
  EXPECT_EQ(forwardError(view, std::vector<int32_t>(200, 1)),
            "forwardLogits: the sequence has 200 tokens but the model's "
            "context is 128 tokens");
  EXPECT_EQ(forwardError(view, {1, 256}),
            "forwardLogits: token, position 1: token id 256 is outside the "
            "model's vocabulary of 256 tokens (expected 0..255)");
}

TEST(Errors, ModelView) {
  ModelView empty;
  EXPECT_EQ(forwardError(empty, {1}),
            "the model view has no config (ModelView::config is null)");
  ModelView noWeights;
  noWeights.config = &llama().config;
  EXPECT_EQ(forwardError(noWeights, {1}),
            "the model view has no weights (ModelView::weights is null)");
  EXPECT_EQ(generateError(noWeights, {{1}}, SamplingOptions()),
            "the model view has no weights (ModelView::weights is null)");

  // Weights of another model: checkModelWeights names the first mismatch.
  ModelView mismatched;
  mismatched.config = &llama().config;
  mismatched.weights = &fixtureModel("tiny-gpt2").weights;
  EXPECT_EQ(forwardError(mismatched, {1}),
            "parameter 'layers.0.attn.k.weight' has shape [64, 64], "
            "expected [32, 64]");

  ModelConfig gelu = llama().config;
  gelu.activation = "gelu_new";
  ModelView wrongActivation;
  wrongActivation.config = &gelu;
  wrongActivation.weights = &llama().weights;
  EXPECT_EQ(forwardError(wrongActivation, {1}),
            "model: unsupported activation 'gelu_new' for llama; expected "
            "'silu'");
}

TEST(Errors, LoraDeltas) {
  const ModelConfig &c = llama().config; // dim 64, q 64 x 64, v 32 x 64
  Tensor a = Tensor::zeros(DType::F32, {4, 64});
  Tensor b = Tensor::zeros(DType::F32, {32, 4});
  Tensor bWide = Tensor::zeros(DType::F32, {32, 5});
  Tensor aShort = Tensor::zeros(DType::F32, {4, 63});
  Tensor aHalf = Tensor::zeros(DType::F16, {4, 64});
  Tensor vector = Tensor::zeros(DType::F32, {64});
  ASSERT_EQ(c.dim, 64);
  auto error = [&](const char *name, LoraDelta delta) {
    ModelView view = viewOf(llama());
    view.lora[name] = delta;
    return forwardError(view, {1, 2});
  };
  EXPECT_EQ(error("layers.0.attn.v.weight", {&a, &b, 2.0f}), "<no error>");
  EXPECT_EQ(error("layers.9.attn.q.weight", {&a, &b, 1.0f}),
            "lora delta 'layers.9.attn.q.weight' names no linear layer of "
            "the model (expected a canonical weight name such as "
            "'layers.0.attn.q.weight')");
  EXPECT_EQ(error("layers.0.attn_norm.weight", {&a, &b, 1.0f}),
            "lora delta 'layers.0.attn_norm.weight' names no linear layer of "
            "the model (expected a canonical weight name such as "
            "'layers.0.attn.q.weight')");
  EXPECT_EQ(error("layers.0.attn.v.weight", {&a, nullptr, 1.0f}),
            "lora delta 'layers.0.attn.v.weight': both A and B must be "
            "given, found no B");
  EXPECT_EQ(error("layers.0.attn.v.weight", {nullptr, nullptr, 1.0f}),
            "lora delta 'layers.0.attn.v.weight': both A and B must be "
            "given, found neither");
  EXPECT_EQ(error("layers.0.attn.v.weight", {&aShort, &b, 1.0f}),
            "lora delta 'layers.0.attn.v.weight': A must have shape [r, 64] "
            "(r >= 1, 64 = the layer's input size), found [4, 63]");
  EXPECT_EQ(error("layers.0.attn.v.weight", {&a, &bWide, 1.0f}),
            "lora delta 'layers.0.attn.v.weight': B must have shape [32, 4] "
            "(the layer's output size, A's rank), found [32, 5]");
  EXPECT_EQ(error("layers.1.attn.q.weight", {&a, &b, 1.0f}),
            "lora delta 'layers.1.attn.q.weight': B must have shape [64, 4] "
            "(the layer's output size, A's rank), found [32, 4]");
  EXPECT_EQ(error("layers.0.attn.v.weight", {&aHalf, &b, 1.0f}),
            "lora delta 'layers.0.attn.v.weight': A must be F32, found F16");
  EXPECT_EQ(error("layers.0.attn.v.weight", {&vector, &b, 1.0f}),
            "lora delta 'layers.0.attn.v.weight': A must be a matrix, found "
            "shape [64]");
  EXPECT_EQ(error("layers.0.attn.v.weight",
                  {&a, &b, std::numeric_limits<float>::infinity()}),
            "lora delta 'layers.0.attn.v.weight': the scale must be finite, "
            "found inf");

  // The tied head of qwen2 is the embedding: no delta there.
  ModelView qwen = viewOf(fixtureModel("tiny-qwen2"));
  Tensor headB = Tensor::zeros(DType::F32, {256, 4});
  qwen.lora["head.weight"] = {&a, &headB, 1.0f};
  EXPECT_EQ(forwardError(qwen, {1}),
            "lora delta 'head.weight' names no linear layer of the model "
            "(expected a canonical weight name such as "
            "'layers.0.attn.q.weight'; the head of a tied model cannot take "
            "a delta)");
}

TEST(Errors, CacheLargerThanMemory) {
  // 16 rows x 2^24 positions x 4 layers x 256 channels, keys and values:
  // 2^41 bytes.
  auto config = modelConfigFromArgs("llama", {{"vocab", int64_t(8)},
                                              {"dim", int64_t(256)},
                                              {"layers", int64_t(4)},
                                              {"heads", int64_t(1)},
                                              {"ffn", int64_t(8)},
                                              {"ctx", int64_t(1) << 24}});
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  Rng rng(1);
  ModelWeights weights = initModelWeights(*config, rng);
  ModelView view;
  view.config = &*config;
  view.weights = &weights;
  SamplingOptions o;
  o.maxTokens = int64_t(1) << 30;
  std::vector<std::vector<int32_t>> prompts(16, {1});
  std::string message = generateError(view, prompts, o);
  EXPECT_EQ(message.rfind("generate: the KV cache of 16 rows x 16777216 "
                          "positions needs 2048 GiB but this machine has ",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find("GiB of memory (lower the batch size or "
                         "'max_tokens')"),
            std::string::npos)
      << message;
}

TEST(Errors, LoraOnTheHeadOfAnUntiedModel) {
  // y += s (x A^T) B^T on the LM head: with A = e_0^T and B = c e_j, logit j
  // moves by s * c * x_0 where x is the final-normed hidden state.
  Tensor a = Tensor::zeros(DType::F32, {1, 64});
  Tensor b = Tensor::zeros(DType::F32, {256, 1});
  a.dataAs<float>()[0] = 1.0f;
  b.dataAs<float>()[7] = 3.0f;
  ModelView plain = viewOf(llama());
  ModelView view = viewOf(llama());
  view.lora["head.weight"] = {&a, &b, 0.5f};
  auto base = forwardLogits(plain, {1, 2, 3}, nullptr);
  auto moved = forwardLogits(view, {1, 2, 3}, nullptr);
  ASSERT_TRUE(base && moved);
  int changed = 0;
  for (int64_t i = 0; i < 3 * 256; ++i)
    changed +=
        base->dataAs<const float>()[i] != moved->dataAs<const float>()[i];
  EXPECT_EQ(changed, 3) << "only logit 7 of each position moves";
  EXPECT_NE(base->dataAs<const float>()[7], moved->dataAs<const float>()[7]);
}

} // namespace
