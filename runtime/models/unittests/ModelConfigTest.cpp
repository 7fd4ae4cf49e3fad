//===- ModelConfigTest.cpp - config.json and llama()/gpt2() arguments -----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/ModelConfig.h"

#include "TestUtil.h"

using namespace ftl::rt;
using namespace ftl::test;

namespace {
template <class T>
std::string errorOf(llvm::Expected<T> value) {
  if (value) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return toString(value.takeError());
}

/// A minimal valid Llama config with `extra` fields spliced in.
std::string llamaJson(const std::string &extra = "",
                      const std::string &type = "llama") {
  return R"({"model_type": ")" + type +
         R"(", "vocab_size": 100, "hidden_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string gpt2Json(const std::string &extra = "") {
  return R"({"model_type": "gpt2", "vocab_size": 100, "n_embd": 32,
    "n_layer": 2, "n_head": 4)" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

void expectSameConfig(const ModelConfig &a, const ModelConfig &b) {
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.hfModelType, b.hfModelType);
  EXPECT_EQ(a.vocab, b.vocab);
  EXPECT_EQ(a.dim, b.dim);
  EXPECT_EQ(a.layers, b.layers);
  EXPECT_EQ(a.heads, b.heads);
  EXPECT_EQ(a.kvHeads, b.kvHeads);
  EXPECT_EQ(a.headDim, b.headDim);
  EXPECT_EQ(a.ffn, b.ffn);
  EXPECT_EQ(a.ctx, b.ctx);
  EXPECT_EQ(a.ropeTheta, b.ropeTheta);
  EXPECT_EQ(a.normEps, b.normEps);
  EXPECT_EQ(a.initStd, b.initStd);
  EXPECT_EQ(a.tiedEmbeddings, b.tiedEmbeddings);
  EXPECT_EQ(a.qkvBias, b.qkvBias);
  EXPECT_EQ(a.oBias, b.oBias);
  EXPECT_EQ(a.mlpBias, b.mlpBias);
  EXPECT_EQ(a.activation, b.activation);
  EXPECT_EQ(a.bosId, b.bosId);
  EXPECT_EQ(a.eosId, b.eosId);
  EXPECT_EQ(a.extraEosIds, b.extraEosIds);
  EXPECT_EQ(a.padId, b.padId);
}
} // namespace

TEST(ModelConfig, ParsesTheFixtures) {
  auto llama = loadHFConfig(fixture("tiny-llama/config.json"));
  ASSERT_TRUE(bool(llama)) << toString(llama.takeError());
  EXPECT_EQ(llama->arch, Arch::Llama);
  EXPECT_EQ(llama->hfModelType, "llama");
  EXPECT_EQ(llama->vocab, 256);
  EXPECT_EQ(llama->dim, 64);
  EXPECT_EQ(llama->layers, 2);
  EXPECT_EQ(llama->heads, 4);
  EXPECT_EQ(llama->kvHeads, 2);
  EXPECT_EQ(llama->headDim, 16);
  EXPECT_EQ(llama->ffn, 128);
  EXPECT_EQ(llama->ctx, 128);
  EXPECT_EQ(llama->ropeTheta, 10000.0);
  EXPECT_EQ(llama->normEps, 1e-6);
  EXPECT_EQ(llama->initStd, 0.02);
  EXPECT_FALSE(llama->tiedEmbeddings);
  EXPECT_FALSE(llama->qkvBias || llama->oBias || llama->mlpBias);
  EXPECT_EQ(llama->activation, "silu");
  EXPECT_EQ(llama->bosId, 1);
  EXPECT_EQ(llama->eosId, 2);
  EXPECT_EQ(llama->padId, -1);
  EXPECT_EQ(llama->torchDtype, "float32");
  EXPECT_TRUE(llama->hasGate());
  EXPECT_FALSE(llama->normHasBias());

  auto gpt2 = loadHFConfig(fixture("tiny-gpt2/config.json"));
  ASSERT_TRUE(bool(gpt2)) << toString(gpt2.takeError());
  EXPECT_EQ(gpt2->arch, Arch::GPT2);
  EXPECT_EQ(gpt2->dim, 64);
  EXPECT_EQ(gpt2->heads, 4);
  EXPECT_EQ(gpt2->kvHeads, 4);
  EXPECT_EQ(gpt2->headDim, 16);
  EXPECT_EQ(gpt2->ffn, 256); // n_inner null -> 4 * n_embd
  EXPECT_EQ(gpt2->ctx, 128);
  EXPECT_EQ(gpt2->normEps, 1e-5);
  EXPECT_TRUE(gpt2->tiedEmbeddings);
  EXPECT_TRUE(gpt2->qkvBias && gpt2->oBias && gpt2->mlpBias);
  EXPECT_EQ(gpt2->activation, "gelu_new");
  EXPECT_TRUE(gpt2->hasPositionEmbedding());
  EXPECT_FALSE(gpt2->hasGate());

  auto qwen2 = loadHFConfig(fixture("tiny-qwen2/config.json"));
  ASSERT_TRUE(bool(qwen2)) << toString(qwen2.takeError());
  EXPECT_EQ(qwen2->hfModelType, "qwen2");
  EXPECT_TRUE(qwen2->qkvBias);
  EXPECT_FALSE(qwen2->oBias);
  EXPECT_FALSE(qwen2->mlpBias);
  EXPECT_TRUE(qwen2->tiedEmbeddings);
  EXPECT_EQ(qwen2->kvHeads, 2);
  EXPECT_EQ(qwen2->torchDtype, "bfloat16");
}

TEST(ModelConfig, WritesConfigJsonExactlyAsTransformers) {
  // transformers wrote these files; writing the parsed config back must give
  // the same bytes (sorted keys, indent 2, Python float spelling).
  for (const char *name : {"tiny-llama", "tiny-gpt2", "tiny-qwen2"}) {
    std::string path = fixture(std::string(name) + "/config.json");
    auto config = loadHFConfig(path);
    ASSERT_TRUE(bool(config)) << toString(config.takeError());
    EXPECT_EQ(toHFConfigJson(*config), readBytes(path)) << name;
  }
}

TEST(ModelConfig, ConfigJsonRoundTrips) {
  std::vector<std::string> texts = {
      llamaJson(R"("num_key_value_heads": 2, "rope_theta": 500000.0,
                  "eos_token_id": [2, 7, 9], "pad_token_id": 0,
                  "tie_word_embeddings": true, "attention_bias": true,
                  "mlp_bias": true, "head_dim": 16, "rms_norm_eps": 1e-5)"),
      llamaJson(R"("sliding_window": null)", "mistral"),
      llamaJson(R"("num_key_value_heads": 1)", "qwen2"),
      gpt2Json(R"("n_inner": 100, "activation_function": "gelu_pytorch_tanh")"),
  };
  for (const std::string &text : texts) {
    auto config = parseHFConfig(text, "in.json");
    ASSERT_TRUE(bool(config)) << toString(config.takeError()) << text;
    std::string written = toHFConfigJson(*config);
    auto again = parseHFConfig(written, "out.json");
    ASSERT_TRUE(bool(again)) << toString(again.takeError()) << written;
    expectSameConfig(*config, *again);
    // Without the source text, too (a config built from arguments).
    ModelConfig bare = *config;
    bare.sourceJson.clear();
    auto fresh = parseHFConfig(toHFConfigJson(bare), "bare.json");
    ASSERT_TRUE(bool(fresh)) << toString(fresh.takeError());
    expectSameConfig(*config, *fresh);
  }
  auto llama = parseHFConfig(texts[0], "in.json");
  EXPECT_EQ(llama->eosId, 2);
  EXPECT_EQ(llama->extraEosIds, (std::vector<int64_t>{7, 9}));
  EXPECT_TRUE(llama->qkvBias && llama->oBias && llama->mlpBias);
  EXPECT_EQ(llama->padId, 0);
  // Unknown fields of the source survive.
  auto withExtra = parseHFConfig(llamaJson(R"("my_field": [1, "two"])"), "x");
  ASSERT_TRUE(bool(withExtra));
  EXPECT_NE(toHFConfigJson(*withExtra)
                .find("\"my_field\": [\n    1,\n    "
                      "\"two\"\n  ]"),
            std::string::npos);
}

TEST(ModelConfig, AcceptsHarmlessSlidingWindows) {
  // Mistral's window only matters when it is shorter than the context.
  EXPECT_TRUE(bool(parseHFConfig(
      llamaJson(R"("max_position_embeddings": 4096)", "mistral"), "m.json")));
  EXPECT_TRUE(bool(parseHFConfig(
      llamaJson(R"("max_position_embeddings": 512, "sliding_window": 512)",
                "mistral"),
      "m.json")));
  EXPECT_TRUE(bool(parseHFConfig(
      llamaJson(R"("use_sliding_window": false, "sliding_window": 64)",
                "qwen2"),
      "q.json")));
}

TEST(ModelConfig, RejectsBadConfigs) {
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {R"({"model_type": "bert"})",
       "unknown architecture 'bert' in cfg.json; supported: llama, mistral, "
       "qwen2, gpt2"},
      {R"({"vocab_size": 3})", "'cfg.json' has no 'model_type'; supported: "
                               "llama, mistral, qwen2, gpt2"},
      {R"({"model_type": 5})", "'model_type' in 'cfg.json' must be a string"},
      {"{oops", "'cfg.json' is not valid JSON"},
      {"[1]", "'cfg.json' must be a JSON object"},
      {R"({"model_type": "llama", "vocab_size": 10})",
       "'cfg.json' has no 'hidden_size'; expected an integer"},
      {llamaJson(R"("hidden_size": "32")").replace(0, 0, ""),
       "must be an integer"},
      {R"({"model_type": "llama", "vocab_size": 100, "hidden_size": 30,
          "num_hidden_layers": 2, "num_attention_heads": 4,
          "intermediate_size": 64})",
       "num_attention_heads (4) must divide hidden_size (30)"},
      {llamaJson(R"("num_key_value_heads": 3)"),
       "kv_heads (3) must divide heads (4)"},
      {llamaJson(R"("num_hidden_layers": 0)").replace(0, 0, ""),
       "layers must be positive, found 0"},
      {llamaJson(R"("rope_scaling": {"type": "linear", "factor": 2.0})"),
       "sets 'rope_scaling' to an object; ftl supports only plain RoPE"},
      {llamaJson(R"("hidden_act": "gelu")"),
       "unsupported activation 'gelu' for llama; expected 'silu'"},
      {llamaJson(R"("head_dim": 7)"), "head_dim (7) must be even"},
      {llamaJson(R"("rope_theta": -1)"), "rope_theta must be a positive"},
      {llamaJson(R"("rms_norm_eps": 0)"), "epsilon must be a positive"},
      {llamaJson(R"("tie_word_embeddings": "yes")"),
       "'tie_word_embeddings' in 'cfg.json' must be true or false"},
      {llamaJson(R"("eos_token_id": [2, "x"])"),
       "'eos_token_id' in 'cfg.json' must be an integer or a list of integers"},
      {llamaJson(R"("vocab_size": 100000000000)"),
       "vocab = 100000000000 is absurdly large"},
      {llamaJson("", "mistral"),
       "sliding attention window of 4096 tokens (smaller than "
       "max_position_embeddings = 131072)"},
      {llamaJson(R"("sliding_window": 16, "max_position_embeddings": 64)",
                 "mistral"),
       "expected 'sliding_window': null"},
      {llamaJson(R"("use_sliding_window": true)", "qwen2"),
       "sets 'use_sliding_window' to true"},
      {gpt2Json(R"("n_head": 5)"), "n_head (5) must divide n_embd (32)"},
      {gpt2Json(R"("activation_function": "relu")"),
       "unsupported activation 'relu' for gpt2"},
      {gpt2Json(R"("tie_word_embeddings": false)"),
       "gpt2 models always tie the output head"},
      {gpt2Json(R"("scale_attn_by_inverse_layer_idx": true)"),
       "sets 'scale_attn_by_inverse_layer_idx' to true; ftl supports only "
       "false"},
      {gpt2Json(R"("reorder_and_upcast_attn": true)"),
       "'reorder_and_upcast_attn'"},
      {gpt2Json(R"("n_embd": -32)"), "must be positive"},
  };
  for (const Case &c : cases) {
    std::string message = errorOf(parseHFConfig(c.text, "cfg.json"));
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << "got: " << message << "\nfor: " << c.text;
    EXPECT_NE(message.find("cfg.json"), std::string::npos) << message;
  }
  std::string missing = errorOf(loadHFConfig("/nonexistent/config.json"));
  EXPECT_NE(missing.find("cannot read model config '/nonexistent/config.json'"),
            std::string::npos)
      << missing;
}

TEST(ModelConfig, FromArgsBuildsLlamaAndGPT2) {
  auto llama = modelConfigFromArgs("llama", {{"vocab", int64_t(512)},
                                             {"dim", int64_t(128)},
                                             {"layers", int64_t(4)},
                                             {"heads", int64_t(4)},
                                             {"kv_heads", int64_t(2)},
                                             {"ctx", int64_t(256)},
                                             {"rope_theta", int64_t(500000)},
                                             {"tied", true}});
  ASSERT_TRUE(bool(llama)) << toString(llama.takeError());
  EXPECT_EQ(llama->arch, Arch::Llama);
  EXPECT_EQ(llama->ffn, 344); // ceil(8 * 128 / 3) = 342 -> multiple of 8
  EXPECT_EQ(llama->kvHeads, 2);
  EXPECT_EQ(llama->headDim, 32);
  EXPECT_EQ(llama->ctx, 256);
  EXPECT_EQ(llama->ropeTheta, 500000.0);
  EXPECT_TRUE(llama->tiedEmbeddings);
  EXPECT_EQ(llama->activation, "silu");
  auto reparsed = parseHFConfig(toHFConfigJson(*llama), "x");
  ASSERT_TRUE(bool(reparsed)) << toString(reparsed.takeError());
  expectSameConfig(*llama, *reparsed);

  auto defaults = modelConfigFromArgs("llama", {{"vocab", int64_t(100)},
                                                {"dim", int64_t(64)},
                                                {"layers", int64_t(1)},
                                                {"heads", int64_t(2)}});
  ASSERT_TRUE(bool(defaults));
  EXPECT_EQ(defaults->kvHeads, 2);
  EXPECT_EQ(defaults->ffn, 176); // ceil(512 / 3) = 171 -> 176
  EXPECT_EQ(defaults->ctx, 2048);
  EXPECT_EQ(defaults->ropeTheta, 10000.0);
  EXPECT_FALSE(defaults->tiedEmbeddings);

  auto gpt2 = modelConfigFromArgs("gpt2", {{"vocab", int64_t(256)},
                                           {"dim", int64_t(64)},
                                           {"layers", int64_t(2)},
                                           {"heads", int64_t(4)},
                                           {"ctx", int64_t(128)}});
  ASSERT_TRUE(bool(gpt2)) << toString(gpt2.takeError());
  EXPECT_EQ(gpt2->arch, Arch::GPT2);
  EXPECT_EQ(gpt2->ffn, 256);
  EXPECT_EQ(gpt2->ctx, 128);
  EXPECT_TRUE(gpt2->tiedEmbeddings && gpt2->qkvBias && gpt2->mlpBias);
  EXPECT_EQ(gpt2->activation, "gelu_new");
  auto gpt2Again = parseHFConfig(toHFConfigJson(*gpt2), "x");
  ASSERT_TRUE(bool(gpt2Again)) << toString(gpt2Again.takeError());
  expectSameConfig(*gpt2, *gpt2Again);
}

TEST(ModelConfig, FromArgsRejectsBadArguments) {
  std::vector<ModelArg> base = {{"vocab", int64_t(100)},
                                {"dim", int64_t(64)},
                                {"layers", int64_t(2)},
                                {"heads", int64_t(4)}};
  auto with = [&](std::vector<ModelArg> extra) {
    std::vector<ModelArg> args = base;
    for (ModelArg &arg : extra) {
      auto it = std::find_if(args.begin(), args.end(), [&](const ModelArg &a) {
        return a.name == arg.name;
      });
      if (it != args.end())
        *it = arg;
      else
        args.push_back(arg);
    }
    return args;
  };
  struct Case {
    std::string family;
    std::vector<ModelArg> args;
    std::string expected;
  } cases[] = {
      {"bert", base,
       "unknown model family 'bert'; expected llama(...) or gpt2(...)"},
      {"llama", with({{"width", int64_t(3)}}),
       "llama(...): unknown argument 'width'; expected one of vocab, dim"},
      {"gpt2", with({{"kv_heads", int64_t(2)}}),
       "gpt2(...): unknown argument 'kv_heads'"},
      {"llama",
       {{"dim", int64_t(64)}, {"layers", int64_t(2)}, {"heads", int64_t(4)}},
       "llama(...): missing argument 'vocab' (an integer)"},
      {"llama", with({{"dim", 64.5}}),
       "argument 'dim' must be an integer, found a number with a fraction"},
      {"llama", with({{"layers", true}}),
       "argument 'layers' must be an integer, found a boolean"},
      {"llama", with({{"tied", int64_t(1)}}),
       "argument 'tied' must be true or false"},
      {"llama", with({{"rope_theta", false}}),
       "argument 'rope_theta' must be a number"},
      {"llama", with({{"heads", int64_t(3)}}),
       "heads (3) must divide dim (64)"},
      {"llama", with({{"kv_heads", int64_t(3)}}),
       "kv_heads (3) must divide heads (4)"},
      {"llama", with({{"layers", int64_t(-1)}}),
       "llama(...): layers must be positive, found -1"},
      {"llama", with({{"ctx", int64_t(0)}}), "ctx must be positive"},
      {"llama", with({{"eos", int64_t(100)}}),
       "bos and eos must be token ids below vocab (100)"},
      {"llama", with({{"rope_theta", 0.0}}), "rope_theta must be a positive"},
  };
  for (const Case &c : cases) {
    std::string message = errorOf(modelConfigFromArgs(c.family, c.args));
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << "got: " << message;
  }
  std::vector<ModelArg> twice = base;
  twice.push_back({"dim", int64_t(64)});
  EXPECT_NE(errorOf(modelConfigFromArgs("llama", twice))
                .find("argument 'dim' is given more than once"),
            std::string::npos);
}
