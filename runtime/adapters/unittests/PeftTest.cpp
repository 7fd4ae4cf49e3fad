//===- PeftTest.cpp - PEFT-compatible adapter folders ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "AdaptersTestUtil.h"

#include "ftl/Adapters/Peft.h"
#include "ftl/Models/ModelConfig.h"
#include "ftl/Models/ModelIO.h"
#include "ftl/Models/ModelWeights.h"
#include "ftl/Models/SafeTensors.h"

#include <cmath>
#include <set>

using namespace ftl;
using namespace ftl::rt;
using namespace ftl::test;

namespace {

ModelConfig fixtureConfig(llvm::StringRef model) {
  auto config = loadHFConfig(modelFixture(model) + "/config.json");
  EXPECT_TRUE(bool(config)) << llvm::toString(config.takeError());
  return config ? *config : ModelConfig();
}

const std::string kPrefix = "base_model.model.";

std::string loraKey(llvm::StringRef module, bool isA) {
  return kPrefix + module.str() + (isA ? ".lora_A.weight" : ".lora_B.weight");
}

void expectSameValues(const Tensor &t, const RawTensor &raw,
                      const std::string &what) {
  EXPECT_EQ(shapeOf(t), raw.shape) << what;
  EXPECT_EQ(values(t), raw.values) << what;
}

/// Rows [row, row + rows) of a raw [R, C] tensor, as a flat list.
std::vector<float> rawRows(const RawTensor &raw, int64_t row, int64_t rows) {
  int64_t cols = raw.shape[1];
  return {raw.values.begin() + row * cols,
          raw.values.begin() + (row + rows) * cols};
}

void expectSameAdapters(const LoraAdapter &a, const LoraAdapter &b) {
  EXPECT_EQ(a.rslora, b.rslora);
  EXPECT_EQ(a.dropout, b.dropout);
  EXPECT_EQ(a.baseModel, b.baseModel);
  ASSERT_EQ(a.deltas.size(), b.deltas.size());
  for (const auto &[name, p] : a.deltas) {
    auto it = b.deltas.find(name);
    ASSERT_NE(it, b.deltas.end()) << name;
    EXPECT_EQ(p.rank, it->second.rank) << name;
    EXPECT_EQ(p.alpha, it->second.alpha) << name;
    EXPECT_TRUE(p.A.bitwiseEqual(it->second.A)) << name;
    EXPECT_TRUE(p.B.bitwiseEqual(it->second.B)) << name;
  }
}

std::set<std::string> stringSet(const llvm::json::Value *v) {
  std::set<std::string> out;
  if (v && v->getAsArray())
    for (const llvm::json::Value &s : *v->getAsArray())
      out.insert(s.getAsString()->str());
  return out;
}

//===----------------------------------------------------------------------===//
// Reading PEFT's own folders
//===----------------------------------------------------------------------===//

TEST(PeftLoad, LlamaFixtureNamesAndValues) {
  ModelConfig config = fixtureConfig("tiny-llama");
  auto adapter = loadPeftLora(peftFixture("tiny-llama-lora"), config);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  EXPECT_FALSE(adapter->rslora);
  EXPECT_EQ(adapter->dropout, 0.0);
  EXPECT_EQ(adapter->baseModel, "test/fixtures/models/tiny-llama");
  auto raw = readRawSafeTensors(peftFixture("tiny-llama-lora") +
                                "/adapter_model.safetensors");
  ASSERT_EQ(raw.size(), 8u);
  std::vector<std::string> names;
  for (const auto &[name, p] : adapter->deltas)
    names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "layers.0.attn.q.weight", "layers.0.attn.v.weight",
                       "layers.1.attn.q.weight", "layers.1.attn.v.weight"}));
  for (const auto &[name, p] : adapter->deltas) {
    EXPECT_EQ(p.rank, 4) << name;
    EXPECT_EQ(p.alpha, 8.0) << name;
    EXPECT_EQ(LoraAdapter::scale(p, adapter->rslora), 2.0);
    auto hf = hfTensorName(config, name);
    ASSERT_TRUE(hf.has_value());
    std::string module = llvm::StringRef(*hf).drop_back(7).str(); // ".weight"
    expectSameValues(p.A, raw.at(loraKey(module, true)), name + " A");
    expectSameValues(p.B, raw.at(loraKey(module, false)), name + " B");
  }
  // Loaded tensors are owned, writable copies.
  EXPECT_TRUE(adapter->deltas.begin()->second.A.isWritable());
}

TEST(PeftLoad, RankAndAlphaPatternsAsPeftResolvesThem) {
  ModelConfig config = fixtureConfig("tiny-llama");
  auto adapter = loadPeftLora(peftFixture("tiny-llama-lora-pattern"), config);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  EXPECT_TRUE(adapter->rslora);
  EXPECT_EQ(adapter->dropout, 0.05);
  // rank_pattern {"down_proj": 3, "layers.1.self_attn.v_proj": 2},
  // alpha_pattern {"q_proj": 16}, r 4, lora_alpha 8: the shapes PEFT itself
  // wrote (below) agree.
  std::map<std::string, std::pair<int64_t, double>> expected = {
      {"layers.0.attn.q.weight", {4, 16}},
      {"layers.0.attn.v.weight", {4, 8}},
      {"layers.0.mlp.down.weight", {3, 8}},
      {"layers.1.attn.q.weight", {4, 16}},
      {"layers.1.attn.v.weight", {2, 8}},
      {"layers.1.mlp.down.weight", {3, 8}},
  };
  ASSERT_EQ(adapter->deltas.size(), expected.size());
  auto raw = readRawSafeTensors(peftFixture("tiny-llama-lora-pattern") +
                                "/adapter_model.safetensors");
  for (const auto &[name, want] : expected) {
    const LoraAdapter::Pair &p = adapter->deltas.at(name);
    EXPECT_EQ(p.rank, want.first) << name;
    EXPECT_EQ(p.alpha, want.second) << name;
    std::string module =
        llvm::StringRef(*hfTensorName(config, name)).drop_back(7).str();
    EXPECT_EQ(raw.at(loraKey(module, true)).shape[0], want.first) << name;
    expectSameValues(p.A, raw.at(loraKey(module, true)), name);
    expectSameValues(p.B, raw.at(loraKey(module, false)), name);
  }
}

TEST(PeftLoad, GPT2FusedQKVSplitsWithSharedA) {
  ModelConfig config = fixtureConfig("tiny-gpt2");
  ASSERT_TRUE(config.isGPT2());
  auto adapter = loadPeftLora(peftFixture("tiny-gpt2-lora"), config);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  auto raw = readRawSafeTensors(peftFixture("tiny-gpt2-lora") +
                                "/adapter_model.safetensors");
  // c_attn -> q, k, v (shared A, B split by rows); c_fc -> mlp.up.
  ASSERT_EQ(adapter->deltas.size(), 8u);
  for (int layer = 0; layer < 2; ++layer) {
    std::string L = "layers." + std::to_string(layer) + ".";
    std::string attn =
        "transformer.h." + std::to_string(layer) + ".attn.c_attn";
    const RawTensor &A = raw.at(loraKey(attn, true));
    const RawTensor &B = raw.at(loraKey(attn, false));
    ASSERT_EQ(B.shape, (std::vector<int64_t>{192, 4}));
    const char *parts[] = {"q", "k", "v"};
    for (int j = 0; j < 3; ++j) {
      const LoraAdapter::Pair &p =
          adapter->deltas.at(L + "attn." + parts[j] + ".weight");
      EXPECT_EQ(p.rank, 4);
      EXPECT_EQ(p.alpha, 8.0);
      expectSameValues(p.A, A, parts[j]);
      EXPECT_EQ(shapeOf(p.B), (std::vector<int64_t>{64, 4}));
      EXPECT_EQ(values(p.B), rawRows(B, 64 * j, 64)) << parts[j];
    }
    std::string fc = "transformer.h." + std::to_string(layer) + ".mlp.c_fc";
    const LoraAdapter::Pair &up = adapter->deltas.at(L + "mlp.up.weight");
    expectSameValues(up.A, raw.at(loraKey(fc, true)), "c_fc A");
    expectSameValues(up.B, raw.at(loraKey(fc, false)), "c_fc B");
  }
}

//===----------------------------------------------------------------------===//
// Writing: what PEFT would write
//===----------------------------------------------------------------------===//

TEST(PeftSave, LlamaConfigAndKeysMatchPeft) {
  ModelConfig config = fixtureConfig("tiny-llama");
  auto adapter = loadPeftLora(peftFixture("tiny-llama-lora"), config);
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  TempDir tmp;
  std::string out = tmp.file("saved");
  ASSERT_EQ(errorText(savePeftLora(*adapter, config, out)), "");
  EXPECT_EQ(listDir(out),
            (std::vector<std::string>{"adapter_config.json",
                                      "adapter_model.safetensors"}));
  // Every field PEFT wrote, with the same value (target_modules is a set).
  llvm::json::Object peft =
      readJsonObject(peftFixture("tiny-llama-lora") + "/adapter_config.json");
  llvm::json::Object mine = readJsonObject(out + "/adapter_config.json");
  EXPECT_EQ(peft.size(), mine.size());
  for (const auto &[key, value] : peft) {
    const llvm::json::Value *m = mine.get(key);
    ASSERT_NE(m, nullptr) << key.str();
    if (key == "target_modules")
      EXPECT_EQ(stringSet(&value), stringSet(m));
    else
      EXPECT_EQ(value, *m) << key.str();
  }
  // The same tensors under the same names, bitwise.
  std::map<std::string, std::string> metadata;
  auto peftRaw = readRawSafeTensors(peftFixture("tiny-llama-lora") +
                                    "/adapter_model.safetensors");
  auto mineRaw =
      readRawSafeTensors(out + "/adapter_model.safetensors", &metadata);
  ASSERT_EQ(peftRaw.size(), mineRaw.size());
  for (const auto &[name, t] : peftRaw) {
    ASSERT_TRUE(mineRaw.count(name)) << name;
    EXPECT_EQ(t.dtype, mineRaw[name].dtype);
    EXPECT_EQ(t.shape, mineRaw[name].shape);
    EXPECT_EQ(t.bytes, mineRaw[name].bytes) << name;
  }
  EXPECT_EQ(metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
}

TEST(PeftSave, RoundTripsBitwise) {
  for (const char *fixture :
       {"tiny-llama-lora", "tiny-llama-lora-pattern", "tiny-gpt2-lora"}) {
    ModelConfig config = fixtureConfig(
        llvm::StringRef(fixture).starts_with("tiny-gpt2") ? "tiny-gpt2"
                                                          : "tiny-llama");
    auto adapter = loadPeftLora(peftFixture(fixture), config);
    ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
    TempDir tmp;
    ASSERT_EQ(errorText(savePeftLora(*adapter, config, tmp.file("a"))), "");
    auto again = loadPeftLora(tmp.file("a"), config);
    ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
    expectSameAdapters(*adapter, *again);
    // Saving what was read gives the same tensors PEFT wrote.
    auto peftRaw =
        readRawSafeTensors(peftFixture(fixture) + "/adapter_model.safetensors");
    auto mineRaw =
        readRawSafeTensors(tmp.file("a") + "/adapter_model.safetensors");
    ASSERT_EQ(peftRaw.size(), mineRaw.size()) << fixture;
    for (const auto &[name, t] : peftRaw)
      EXPECT_EQ(t.bytes, mineRaw[name].bytes) << fixture << " " << name;
  }
}

TEST(PeftSave, PatternsForMixedRanksAndAlphas) {
  ModelConfig config = fixtureConfig("tiny-llama");
  Rng rng(11);
  LoraAdapter adapter;
  adapter.baseModel = "org/tiny";
  adapter.dropout = 0.1;
  adapter.deltas["layers.0.attn.q.weight"] = randomPair(rng, 64, 64, 4, 8);
  adapter.deltas["layers.1.attn.q.weight"] = randomPair(rng, 64, 64, 4, 8);
  adapter.deltas["layers.0.attn.v.weight"] = randomPair(rng, 32, 64, 4, 8);
  adapter.deltas["layers.1.attn.v.weight"] = randomPair(rng, 32, 64, 2, 8);
  adapter.deltas["layers.1.mlp.down.weight"] = randomPair(rng, 64, 128, 4, 3.5);
  adapter.deltas["head.weight"] = randomPair(rng, 256, 64, 6, 12);
  TempDir tmp;
  ASSERT_EQ(errorText(savePeftLora(adapter, config, tmp.file("p"))), "");
  llvm::json::Object cfg = readJsonObject(tmp.file("p/adapter_config.json"));
  // lm_head cannot be named by a pattern key, so its values are the
  // defaults; every other module that differs gets its own key.
  EXPECT_EQ(cfg.getInteger("r"), 6);
  EXPECT_EQ(cfg.getNumber("lora_alpha"), 12.0);
  EXPECT_EQ(cfg.getString("base_model_name_or_path"), "org/tiny");
  EXPECT_EQ(cfg.getNumber("lora_dropout"), 0.1);
  llvm::json::Object ranks = *cfg.getObject("rank_pattern");
  EXPECT_EQ(ranks.size(), 5u);
  EXPECT_EQ(ranks.getInteger("layers.0.self_attn.q_proj"), 4);
  EXPECT_EQ(ranks.getInteger("layers.1.self_attn.q_proj"), 4);
  EXPECT_EQ(ranks.getInteger("layers.1.self_attn.v_proj"), 2);
  EXPECT_EQ(ranks.getInteger("layers.1.mlp.down_proj"), 4);
  llvm::json::Object alphas = *cfg.getObject("alpha_pattern");
  EXPECT_EQ(alphas.size(), 5u);
  EXPECT_EQ(alphas.getNumber("layers.1.mlp.down_proj"), 3.5);
  EXPECT_EQ(stringSet(cfg.get("target_modules")),
            (std::set<std::string>{"lm_head", "layers.1.mlp.down_proj",
                                   "q_proj", "v_proj"}));
  auto again = loadPeftLora(tmp.file("p"), config);
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  expectSameAdapters(adapter, *again);
}

TEST(PeftSave, TargetModuleNames) {
  struct Case {
    const char *model;
    std::vector<std::string> weights;
    std::set<std::string> targets;
  };
  std::vector<Case> cases = {
      {"tiny-llama", {"layers.0.attn.q.weight"}, {"layers.0.self_attn.q_proj"}},
      {"tiny-llama",
       {"layers.0.mlp.up.weight", "layers.1.mlp.up.weight",
        "layers.0.attn.o.weight"},
       {"up_proj", "layers.0.self_attn.o_proj"}},
      // c_proj names both attn.o and mlp.down in GPT-2.
      {"tiny-gpt2",
       {"layers.0.attn.o.weight", "layers.1.attn.o.weight"},
       {"attn.c_proj"}},
      {"tiny-gpt2",
       {"layers.0.attn.o.weight", "layers.1.attn.o.weight",
        "layers.0.mlp.down.weight", "layers.1.mlp.down.weight"},
       {"c_proj"}},
      {"tiny-gpt2", {"layers.1.attn.k.weight"}, {"h.1.attn.c_attn"}},
  };
  Rng rng(12);
  for (const Case &c : cases) {
    ModelConfig config = fixtureConfig(c.model);
    std::map<std::string, Shape> shapes;
    for (const ParamSpec &s : canonicalParams(config))
      shapes[s.name] = s.shape;
    LoraAdapter adapter;
    for (const std::string &w : c.weights)
      adapter.deltas[w] =
          randomPair(rng, shapes.at(w)[0], shapes.at(w)[1], 2, 4);
    TempDir tmp;
    ASSERT_EQ(errorText(savePeftLora(adapter, config, tmp.file("t"))), "");
    llvm::json::Object cfg = readJsonObject(tmp.file("t/adapter_config.json"));
    EXPECT_EQ(stringSet(cfg.get("target_modules")), c.targets);
    auto again = loadPeftLora(tmp.file("t"), config);
    ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
    expectSameAdapters(adapter, *again);
  }
}

//===----------------------------------------------------------------------===//
// GPT-2: q, k and v fused in c_attn
//===----------------------------------------------------------------------===//

TEST(PeftSave, GPT2SeparateQAndVBecomeBlockDiagonalCAttn) {
  ModelConfig config = fixtureConfig("tiny-gpt2");
  for (bool rslora : {false, true}) {
    Rng rng(13);
    LoraAdapter adapter;
    adapter.rslora = rslora;
    adapter.deltas["layers.0.attn.q.weight"] = randomPair(rng, 64, 64, 4, 8);
    adapter.deltas["layers.0.attn.v.weight"] = randomPair(rng, 64, 64, 4, 8);
    adapter.deltas["layers.1.attn.v.weight"] = randomPair(rng, 64, 64, 3, 6);
    TempDir tmp;
    ASSERT_EQ(errorText(savePeftLora(adapter, config, tmp.file("g"))), "");
    llvm::json::Object cfg = readJsonObject(tmp.file("g/adapter_config.json"));
    EXPECT_EQ(cfg.getBoolean("fan_in_fan_out"), true);
    EXPECT_EQ(stringSet(cfg.get("target_modules")),
              (std::set<std::string>{"c_attn"}));
    auto raw = readRawSafeTensors(tmp.file("g/adapter_model.safetensors"));
    ASSERT_EQ(raw.size(), 4u);
    // Layer 0: rank 8 = 4 (q) + 4 (v). The fused delta, rebuilt naively from
    // the file with PEFT's scale rule, is [dq; 0; dv].
    const RawTensor &A = raw.at(loraKey("transformer.h.0.attn.c_attn", true));
    const RawTensor &B = raw.at(loraKey("transformer.h.0.attn.c_attn", false));
    ASSERT_EQ(A.shape, (std::vector<int64_t>{8, 64}));
    ASSERT_EQ(B.shape, (std::vector<int64_t>{192, 8}));
    auto patterned = [&](const char *field, const char *key,
                         llvm::StringRef fallback) {
      if (auto v = cfg.getObject(field)->getNumber(key))
        return *v;
      return *cfg.getNumber(fallback);
    };
    double r0 = patterned("rank_pattern", "h.0.attn.c_attn", "r");
    double alpha0 = patterned("alpha_pattern", "h.0.attn.c_attn", "lora_alpha");
    EXPECT_EQ(r0, 8);
    double fusedScale = rslora ? alpha0 / std::sqrt(double(r0)) : alpha0 / r0;
    double partScale = rslora ? 8 / 2.0 : 8 / 4.0;
    EXPECT_EQ(fusedScale, partScale);
    Tensor fA = Tensor::fromF32(A.values, {8, 64});
    Tensor fB = Tensor::fromF32(B.values, {192, 8});
    std::vector<double> fused = naiveDelta(fA, fB, fusedScale);
    const LoraAdapter::Pair &q = adapter.deltas["layers.0.attn.q.weight"];
    const LoraAdapter::Pair &v = adapter.deltas["layers.0.attn.v.weight"];
    std::vector<double> dq = naiveDelta(q.A, q.B, partScale);
    std::vector<double> dv = naiveDelta(v.A, v.B, partScale);
    double worst = 0;
    for (int64_t i = 0; i < 64 * 64; ++i) {
      worst = std::max(worst, std::fabs(fused[i] - dq[i]));
      worst = std::max(worst, std::fabs(fused[64 * 64 + i]));
      worst = std::max(worst, std::fabs(fused[2 * 64 * 64 + i] - dv[i]));
    }
    EXPECT_LT(worst, 1e-9);
    // Layer 1: only v, rank 3 -> one part, A as given, B = [0; 0; Bv].
    const RawTensor &A1 = raw.at(loraKey("transformer.h.1.attn.c_attn", true));
    const RawTensor &B1 = raw.at(loraKey("transformer.h.1.attn.c_attn", false));
    EXPECT_EQ(A1.values, values(adapter.deltas["layers.1.attn.v.weight"].A));
    EXPECT_EQ(rawRows(B1, 128, 64),
              values(adapter.deltas["layers.1.attn.v.weight"].B));
    for (float x : rawRows(B1, 0, 128))
      ASSERT_EQ(x, 0.0f);
    // ftl reads its own file back unchanged.
    auto again = loadPeftLora(tmp.file("g"), config);
    ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
    expectSameAdapters(adapter, *again);
  }
}

TEST(PeftSave, GPT2SharedAIsWrittenOnce) {
  ModelConfig config = fixtureConfig("tiny-gpt2");
  Rng rng(14);
  LoraAdapter adapter;
  LoraAdapter::Pair q = randomPair(rng, 64, 64, 4, 8);
  LoraAdapter::Pair k = randomPair(rng, 64, 64, 4, 8);
  k.A = q.A.clone();
  adapter.deltas["layers.0.attn.q.weight"] = q;
  adapter.deltas["layers.0.attn.k.weight"] = k;
  TempDir tmp;
  ASSERT_EQ(errorText(savePeftLora(adapter, config, tmp.file("s"))), "");
  auto raw = readRawSafeTensors(tmp.file("s/adapter_model.safetensors"));
  const RawTensor &A = raw.at(loraKey("transformer.h.0.attn.c_attn", true));
  const RawTensor &B = raw.at(loraKey("transformer.h.0.attn.c_attn", false));
  EXPECT_EQ(A.values, values(q.A));
  EXPECT_EQ(rawRows(B, 0, 64), values(q.B));
  EXPECT_EQ(rawRows(B, 64, 64), values(k.B));
  for (float x : rawRows(B, 128, 64))
    ASSERT_EQ(x, 0.0f);
  llvm::json::Object cfg = readJsonObject(tmp.file("s/adapter_config.json"));
  EXPECT_EQ(cfg.getInteger("r"), 4);
  auto again = loadPeftLora(tmp.file("s"), config);
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  expectSameAdapters(adapter, *again);
}

TEST(PeftLoad, GPT2WithoutFtlRecordSplitsExactly) {
  // The same file without ftl's metadata (as PEFT re-saves it) reads as q, k
  // and v over the whole fused rank; merging gives the same weights.
  ModelConfig config = fixtureConfig("tiny-gpt2");
  Rng rng(15);
  LoraAdapter adapter;
  adapter.deltas["layers.0.attn.q.weight"] = randomPair(rng, 64, 64, 4, 8);
  adapter.deltas["layers.0.attn.v.weight"] = randomPair(rng, 64, 64, 2, 4);
  TempDir tmp;
  ASSERT_EQ(errorText(savePeftLora(adapter, config, tmp.file("m"))), "");
  {
    auto file = SafeTensorsFile::open(tmp.file("m/adapter_model.safetensors"));
    ASSERT_TRUE(bool(file));
    EXPECT_EQ(file->metadata().size(), 2u); // format + ftl's record
    std::vector<NamedTensor> tensors;
    for (auto &[name, t] : file->tensors())
      tensors.emplace_back(name, t.clone());
    ASSERT_EQ(errorText(writeSafeTensors(
                  llvm::StringRef(tmp.file("m/adapter_model.safetensors")),
                  tensors, {{"format", "pt"}})),
              "");
  }
  auto plain = loadPeftLora(tmp.file("m"), config);
  ASSERT_TRUE(bool(plain)) << llvm::toString(plain.takeError());
  ASSERT_EQ(plain->deltas.size(), 3u);
  for (const auto &[name, p] : plain->deltas) {
    EXPECT_EQ(p.rank, 6) << name;
    EXPECT_EQ(p.alpha, 12.0) << name;
  }
  auto model = loadHFModelFolder(modelFixture("tiny-gpt2"));
  ASSERT_TRUE(bool(model));
  ModelWeights viaParts = model->weights, viaFused = model->weights;
  ASSERT_EQ(errorText(mergeLora(viaParts, adapter)), "");
  ASSERT_EQ(errorText(mergeLora(viaFused, *plain)), "");
  for (const char *name : {"layers.0.attn.q.weight", "layers.0.attn.k.weight",
                           "layers.0.attn.v.weight"}) {
    std::vector<float> a = values(*viaParts.find(name)),
                       b = values(*viaFused.find(name));
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i)
      worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    EXPECT_LT(worst, 1e-6) << name;
  }
  EXPECT_TRUE(
      viaFused.find("layers.0.attn.k.weight")
          ->bitwiseEqual(*model->weights.find("layers.0.attn.k.weight")));
}

TEST(PeftSave, GPT2PartsWithDifferentScalesAreAnError) {
  ModelConfig config = fixtureConfig("tiny-gpt2");
  Rng rng(16);
  LoraAdapter adapter;
  adapter.deltas["layers.0.attn.q.weight"] = randomPair(rng, 64, 64, 4, 8);
  adapter.deltas["layers.0.attn.v.weight"] = randomPair(rng, 64, 64, 4, 4);
  TempDir tmp;
  EXPECT_EQ(errorText(savePeftLora(adapter, config, tmp.file("x"))),
            "cannot save the LoRA as a PEFT folder: GPT-2 computes q, k and v "
            "in one layer, 'transformer.h.0.attn.c_attn', and PEFT gives a "
            "LoRA on it one scale, but 'layers.0.attn.q.weight' (scale 2.0 = "
            "alpha 8.0 / rank 4) and 'layers.0.attn.v.weight' (scale 1.0 = "
            "alpha 4.0 / rank 4) differ; give q, k and v deltas of a layer the "
            "same alpha / rank");
  EXPECT_FALSE(llvm::sys::fs::exists(tmp.file("x")));
  EXPECT_EQ(listDir(tmp.path), std::vector<std::string>{});
}

//===----------------------------------------------------------------------===//
// Saving is atomic and checks its input
//===----------------------------------------------------------------------===//

TEST(PeftSave, ReplacesAnExistingFolderAndLeavesNoTemporaries) {
  ModelConfig config = fixtureConfig("tiny-llama");
  Rng rng(17);
  TempDir tmp;
  std::string dir = tmp.file("out");
  llvm::sys::fs::create_directories(dir);
  writeBytes(dir + "/stale.txt", "old");
  LoraAdapter adapter;
  adapter.deltas["layers.0.attn.q.weight"] = randomPair(rng, 64, 64, 2, 4);
  ASSERT_EQ(errorText(savePeftLora(adapter, config, dir)), "");
  EXPECT_EQ(listDir(dir),
            (std::vector<std::string>{"adapter_config.json",
                                      "adapter_model.safetensors"}));
  EXPECT_EQ(listDir(tmp.path), std::vector<std::string>{"out"});
  // A failing save leaves the folder as it was.
  std::string before = readBytes(dir + "/adapter_model.safetensors");
  adapter.deltas["embed.weight"] = randomPair(rng, 256, 64, 2, 4);
  EXPECT_NE(errorText(savePeftLora(adapter, config, dir)), "");
  EXPECT_EQ(readBytes(dir + "/adapter_model.safetensors"), before);
  EXPECT_EQ(listDir(tmp.path), std::vector<std::string>{"out"});
}

TEST(PeftSave, Errors) {
  ModelConfig config = fixtureConfig("tiny-llama");
  Rng rng(18);
  struct Case {
    const char *what;
    std::function<void(LoraAdapter &)> edit;
    std::string message;
  };
  std::vector<Case> cases = {
      {"empty", [](LoraAdapter &a) { a.deltas.clear(); },
       "cannot save the LoRA adapter to '@': it has no deltas"},
      {"embedding",
       [&](LoraAdapter &a) {
         a.deltas["embed.weight"] = randomPair(rng, 256, 64, 2, 4);
       },
       "cannot save a LoRA delta on 'embed.weight' as a PEFT folder: PEFT "
       "folders hold LoRA only on linear layers (attn.q/k/v/o, mlp.*, head "
       "weights)"},
      {"unknown",
       [&](LoraAdapter &a) {
         a.deltas["layers.7.attn.q.weight"] = randomPair(rng, 64, 64, 2, 4);
       },
       "cannot save a LoRA delta on 'layers.7.attn.q.weight': this llama model "
       "has no such weight"},
      {"shape",
       [&](LoraAdapter &a) {
         a.deltas["layers.0.attn.v.weight"] = randomPair(rng, 64, 64, 2, 4);
       },
       "LoRA B of 'layers.0.attn.v.weight': expected shape [32, 2] (rank 2, "
       "weight [32, 64]), found [64, 2]"},
      {"dropout", [](LoraAdapter &a) { a.dropout = 1.5; },
       "cannot save the LoRA adapter: expected a dropout in [0, 1), found 1.5"},
  };
  for (const Case &c : cases) {
    LoraAdapter adapter;
    adapter.deltas["layers.0.attn.q.weight"] = randomPair(rng, 64, 64, 2, 4);
    c.edit(adapter);
    TempDir tmp;
    std::string dir = tmp.file("x");
    std::string want = c.message;
    size_t at = want.find('@');
    if (at != std::string::npos)
      want.replace(at, 1, dir);
    EXPECT_EQ(errorText(savePeftLora(adapter, config, dir)), want) << c.what;
    EXPECT_EQ(listDir(tmp.path), std::vector<std::string>{}) << c.what;
  }
}

//===----------------------------------------------------------------------===//
// Loading checks
//===----------------------------------------------------------------------===//

/// A copy of a fixture folder whose config and tensors a test may edit.
struct EditableFolder {
  TempDir tmp;
  std::string dir;
  explicit EditableFolder(llvm::StringRef fixture) {
    dir = tmp.file("adapter");
    copyDir(peftFixture(fixture), dir);
  }
  std::string config() const { return dir + "/adapter_config.json"; }
  std::string weights() const { return dir + "/adapter_model.safetensors"; }
  void setField(llvm::StringRef key, llvm::json::Value value) {
    llvm::json::Object o = readJsonObject(config());
    o[key] = std::move(value);
    writeJsonObject(config(), std::move(o));
  }
  /// Rewrites the weights through `edit` (names and tensors).
  void
  editTensors(const std::function<void(std::vector<NamedTensor> &)> &edit) {
    std::vector<NamedTensor> tensors;
    {
      auto file = SafeTensorsFile::open(weights());
      ASSERT_TRUE(bool(file));
      for (auto &[name, t] : file->tensors())
        tensors.emplace_back(name, t.clone());
    }
    edit(tensors);
    ASSERT_EQ(errorText(writeSafeTensors(llvm::StringRef(weights()), tensors,
                                         {{"format", "pt"}})),
              "");
  }
};

std::string loadError(const std::string &dir, llvm::StringRef model) {
  return errorText(loadPeftLora(dir, fixtureConfig(model)));
}

TEST(PeftLoadErrors, MissingFolderConfigOrWeights) {
  TempDir tmp;
  std::string dir = tmp.file("none");
  EXPECT_EQ(loadError(dir, "tiny-llama"),
            "cannot read the adapter folder '" + dir +
                "': it does not exist or is not a folder");
  llvm::sys::fs::create_directories(dir);
  EXPECT_EQ(
      loadError(dir, "tiny-llama"),
      "'" + dir +
          "' is not a PEFT adapter folder: it has no adapter_config.json");
  EditableFolder f("tiny-llama-lora");
  llvm::sys::fs::remove(f.weights());
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.dir +
                "' is not a complete PEFT adapter folder: it has no "
                "adapter_model.safetensors");
  writeBytes(f.dir + "/adapter_model.bin", "pickle");
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.dir +
                "' has adapter_model.bin but no adapter_model.safetensors; ftl "
                "reads only safetensors (save the adapter with "
                "safe_serialization=True)");
}

TEST(PeftLoadErrors, BadJson) {
  EditableFolder f("tiny-llama-lora");
  writeBytes(f.config(), "{\"r\": 4,");
  std::string err = loadError(f.dir, "tiny-llama");
  EXPECT_EQ(err.rfind("'" + f.config() + "' is not valid JSON: ", 0), 0u)
      << err;
}

TEST(PeftLoadErrors, WrongPeftType) {
  EXPECT_EQ(loadError(peftFixture("tiny-llama-prompt"), "tiny-llama"),
            "'" + peftFixture("tiny-llama-prompt") +
                "/adapter_config.json': expected peft_type \"LORA\" for "
                "loadPeftLora, found \"PROMPT_TUNING\" (a prompt-tuning "
                "adapter: read it with loadPeftPrompt)");
  EditableFolder f("tiny-llama-lora");
  f.setField("peft_type", "IA3");
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.config() +
                "': expected peft_type \"LORA\" for loadPeftLora, found "
                "\"IA3\" (ftl reads LORA and PROMPT_TUNING adapters)");
  f.setField("peft_type", nullptr);
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.config() +
                "': field 'peft_type': expected \"LORA\", found null");
  f.setField("peft_type", "LORA");
  f.setField("task_type", "SEQ_CLS");
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.config() +
                "': expected task_type \"CAUSAL_LM\" (or null), found "
                "\"SEQ_CLS\"; ftl runs decoder-only language models");
}

TEST(PeftLoadErrors, UnknownTargetModule) {
  EditableFolder f("tiny-llama-lora");
  f.setField("target_modules", llvm::json::Array{"q_proj", "qq_proj"});
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.config() +
                "': unknown target module 'qq_proj': this llama model has no "
                "module of that name (its linear layers: q_proj, k_proj, "
                "v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head)");
  f.setField("target_modules", llvm::json::Array{"q_proj", "embed_tokens"});
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.config() +
                "': target_modules selects 'model.embed_tokens', an "
                "embedding; ftl reads LoRA only on linear layers (q_proj, "
                "k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, "
                "lm_head)");
  // An adapter made for Llama does not fit GPT-2.
  std::string err = loadError(peftFixture("tiny-llama-lora"), "tiny-gpt2");
  EXPECT_NE(err.find("fan_in_fan_out is false"), std::string::npos) << err;
  f.setField("target_modules", llvm::json::Array{"q_proj", "v_proj"});
  f.setField("fan_in_fan_out", true);
  err = loadError(f.dir, "tiny-gpt2");
  EXPECT_EQ(err, "'" + f.config() +
                     "': unknown target module 'q_proj': this gpt2 model has "
                     "no module of that name (its linear layers: c_attn, "
                     "c_proj, c_fc)");
  f.setField("target_modules", "model\\.layers\\.7\\..*");
  f.setField("fan_in_fan_out", false);
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "'" + f.config() +
                "': target_modules selects no module of this llama model (its "
                "linear layers: q_proj, k_proj, v_proj, o_proj, gate_proj, "
                "up_proj, down_proj, lm_head)");
  f.setField("target_modules", "(?<=x)q_proj");
  err = loadError(f.dir, "tiny-llama");
  EXPECT_EQ(err.rfind("'" + f.config() +
                          "': target_modules '(?<=x)q_proj' "
                          "is not a regular expression ftl can use (",
                      0),
            0u)
      << err;
}

TEST(PeftLoadErrors, TiedHeadIsNotALinearLayer) {
  // tiny-qwen2 ties lm_head to the embedding; its other sizes match
  // tiny-llama, so the q/v adapter loads but a LoRA on lm_head does not.
  EXPECT_EQ(loadError(peftFixture("tiny-llama-lora"), "tiny-qwen2"), "");
  EditableFolder f("tiny-llama-lora");
  f.setField("target_modules",
             llvm::json::Array{"q_proj", "v_proj", "lm_head"});
  EXPECT_EQ(loadError(f.dir, "tiny-qwen2"),
            "'" + f.config() +
                "': target_modules selects 'lm_head', the output layer, whose "
                "weight is the tied embedding; ftl reads LoRA only on linear "
                "layers (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
                "down_proj)");
  ModelConfig qwen = fixtureConfig("tiny-qwen2");
  Rng rng(19);
  LoraAdapter adapter;
  adapter.deltas["head.weight"] = randomPair(rng, 256, 64, 2, 4);
  TempDir tmp;
  EXPECT_EQ(errorText(savePeftLora(adapter, qwen, tmp.file("h"))),
            "cannot save a LoRA delta on 'head.weight': this qwen2 model has "
            "no such weight");
}

TEST(PeftLoadErrors, ShapeMismatchAgainstModel) {
  // The Llama adapter on a Llama with hidden size 32.
  ModelConfig config = fixtureConfig("tiny-llama");
  config.dim = 32;
  config.headDim = 8;
  config.ffn = 64;
  EXPECT_EQ(errorText(loadPeftLora(peftFixture("tiny-llama-lora"), config)),
            "shape mismatch for tensor "
            "'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' "
            "in '" +
                peftFixture("tiny-llama-lora") +
                "/adapter_model.safetensors': expected [4, 32] (rank 4 from "
                "adapter_config.json, module 'model.layers.0.self_attn.q_proj' "
                "maps 32 -> 32 in this llama model), found [4, 64]");
  // A rank that disagrees with r.
  EditableFolder f("tiny-llama-lora");
  f.setField("r", 8);
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "shape mismatch for tensor "
            "'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' "
            "in '" +
                f.weights() +
                "': expected [8, 64] (rank 8 from adapter_config.json, module "
                "'model.layers.0.self_attn.q_proj' maps 64 -> 64 in this llama "
                "model), found [4, 64]");
}

TEST(PeftLoadErrors, MissingAOrB) {
  EditableFolder f("tiny-llama-lora");
  f.editTensors([](std::vector<NamedTensor> &tensors) {
    llvm::erase_if(tensors, [](const NamedTensor &t) {
      return t.first ==
             "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight";
    });
  });
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "missing tensor "
            "'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight' "
            "in '" +
                f.weights() +
                "': target module 'model.layers.1.self_attn.v_proj' needs both "
                "lora_A and lora_B");
  f.setField("target_modules", llvm::json::Array{"q_proj", "v_proj", "o_proj"});
  f.editTensors([](std::vector<NamedTensor> &) {});
  std::string err = loadError(f.dir, "tiny-llama");
  EXPECT_NE(err.find("missing tensor "
                     "'base_model.model.model.layers.0.self_attn.o_proj.lora_A."
                     "weight'"),
            std::string::npos)
      << err;
}

TEST(PeftLoadErrors, UnsupportedFeatures) {
  struct Case {
    const char *field;
    llvm::json::Value value;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({"use_dora", true,
                   "DoRA adapters (use_dora: true) are not supported yet; "
                   "merge the adapter in PEFT or train a plain LoRA"});
  cases.push_back({"bias", "all",
                   "expected bias \"none\", found \"all\"; ftl does not read "
                   "adapters that train biases"});
  cases.push_back({"bias", "lora_only",
                   "expected bias \"none\", found \"lora_only\"; ftl does not "
                   "read adapters that train biases"});
  cases.push_back({"modules_to_save", llvm::json::Array{"lm_head"},
                   "modules_to_save [\"lm_head\"] is not supported; expected "
                   "null (ftl reads only the LoRA tensors)"});
  cases.push_back({"init_lora_weights", "pissa_niter_4",
                   "init_lora_weights \"pissa_niter_4\" changes the base "
                   "weights when PEFT loads the adapter, which ftl does not "
                   "reproduce; convert it to a plain LoRA in PEFT first "
                   "(save_pretrained with "
                   "path_initial_model_for_weight_conversion)"});
  cases.push_back({"layer_replication",
                   llvm::json::Array{llvm::json::Array{0, 2}},
                   "layer_replication is not supported; expected null"});
  cases.push_back({"exclude_modules", "q_proj",
                   "exclude_modules is not supported yet; expected null"});
  cases.push_back({"fan_in_fan_out", true,
                   "fan_in_fan_out is true, but llama models store weights "
                   "[out, in] (nn.Linear), so expected false; is this adapter "
                   "for another model?"});
  cases.push_back(
      {"r", "four", "field 'r': expected a positive integer, found \"four\""});
  cases.push_back(
      {"lora_dropout", 1.0,
       "field 'lora_dropout': expected a number in [0, 1), found 1"});
  cases.push_back(
      {"use_rslora", "yes",
       "field 'use_rslora': expected true or false, found \"yes\""});
  cases.push_back({"target_modules", nullptr,
                   "field 'target_modules': expected a list of module names or "
                   "a regular expression, found null"});
  cases.push_back({"rank_pattern", llvm::json::Object{{"q_proj", 0}},
                   "rank_pattern['q_proj']: expected a positive integer, "
                   "found 0"});
  for (Case &c : cases) {
    EditableFolder f("tiny-llama-lora");
    f.setField(c.field, std::move(c.value));
    EXPECT_EQ(loadError(f.dir, "tiny-llama"),
              "'" + f.config() + "': " + c.message)
        << c.field;
  }
  EditableFolder g("tiny-gpt2-lora");
  g.setField("fan_in_fan_out", false);
  EXPECT_EQ(loadError(g.dir, "tiny-gpt2"),
            "'" + g.config() +
                "': fan_in_fan_out is false, but gpt2 models store weights "
                "[in, out] (Conv1D), so expected true; is this adapter for "
                "another model?");
}

TEST(PeftLoadErrors, UnexpectedTensors) {
  struct Case {
    std::string name;
    std::string why;
  };
  std::vector<Case> cases = {
      {"base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
       "its module 'model.layers.0.self_attn.k_proj' is not selected by "
       "target_modules in adapter_config.json"},
      {"base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight",
       "this llama model has no module 'model.layers.5.self_attn.q_proj'"},
      {"base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector",
       "a DoRA magnitude vector (DoRA is not supported yet)"},
      {"base_model.model.model.layers.0.self_attn.q_proj.bias",
       "a bias (expected bias \"none\")"},
      {"base_model.model.model.embed_tokens.lora_embedding_A",
       "an embedding LoRA (not supported)"},
      {"prompt_embeddings",
       "expected only base_model.model.<module>.lora_A.weight and "
       ".lora_B.weight"},
  };
  for (const Case &c : cases) {
    EditableFolder f("tiny-llama-lora");
    f.editTensors([&](std::vector<NamedTensor> &tensors) {
      tensors.emplace_back(c.name, Tensor::zeros(DType::F32, {4, 64}));
    });
    EXPECT_EQ(loadError(f.dir, "tiny-llama"), "unexpected tensor '" + c.name +
                                                  "' in '" + f.weights() +
                                                  "': " + c.why);
  }
}

TEST(PeftLoadErrors, NonFloatTensor) {
  EditableFolder f("tiny-llama-lora");
  std::string name =
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
  f.editTensors([&](std::vector<NamedTensor> &tensors) {
    for (auto &[n, t] : tensors)
      if (n == name)
        t = Tensor::zeros(DType::I32, {4, 64});
  });
  EXPECT_EQ(loadError(f.dir, "tiny-llama"),
            "tensor '" + name + "' in '" + f.weights() +
                "': expected a floating-point dtype (F32, F16, BF16, F64), "
                "found I32");
}

TEST(PeftLoad, HalfPrecisionTensorsBecomeF32) {
  EditableFolder f("tiny-llama-lora");
  f.editTensors([](std::vector<NamedTensor> &tensors) {
    for (auto &[n, t] : tensors)
      t = t.to(DType::BF16);
  });
  auto adapter = loadPeftLora(f.dir, fixtureConfig("tiny-llama"));
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  auto reference =
      loadPeftLora(peftFixture("tiny-llama-lora"), fixtureConfig("tiny-llama"));
  ASSERT_TRUE(bool(reference));
  for (const auto &[name, p] : adapter->deltas) {
    EXPECT_EQ(p.A.dtype(), DType::F32);
    EXPECT_TRUE(p.A.bitwiseEqual(
        reference->deltas[name].A.to(DType::BF16).to(DType::F32)));
  }
}

//===----------------------------------------------------------------------===//
// PEFT's target and pattern rules
//===----------------------------------------------------------------------===//

TEST(PeftLoad, RegexTargetsAndLayerSelection) {
  ModelConfig config = fixtureConfig("tiny-llama");
  struct Case {
    std::function<void(EditableFolder &)> edit;
    std::vector<std::string> deltas;
  };
  auto keep = [](std::set<std::string> modules) {
    return [modules](std::vector<NamedTensor> &tensors) {
      llvm::erase_if(tensors, [&](const NamedTensor &t) {
        for (const std::string &m : modules)
          if (llvm::StringRef(t.first).contains(m))
            return false;
        return true;
      });
    };
  };
  std::vector<Case> cases = {
      {[](EditableFolder &f) {
         f.setField("target_modules", ".*\\.(q|v)_proj");
       },
       {"layers.0.attn.q.weight", "layers.0.attn.v.weight",
        "layers.1.attn.q.weight", "layers.1.attn.v.weight"}},
      {[&](EditableFolder &f) {
         f.setField("target_modules", ".*layers\\.1\\.self_attn\\.q_proj");
         f.editTensors(keep({"layers.1.self_attn.q_proj"}));
       },
       {"layers.1.attn.q.weight"}},
      {[&](EditableFolder &f) {
         f.setField("layers_to_transform", llvm::json::Array{1});
         f.editTensors(keep({"layers.1."}));
       },
       {"layers.1.attn.q.weight", "layers.1.attn.v.weight"}},
      {[&](EditableFolder &f) {
         f.setField("layers_to_transform", 0);
         f.setField("layers_pattern", "layers");
         f.editTensors(keep({"layers.0."}));
       },
       {"layers.0.attn.q.weight", "layers.0.attn.v.weight"}},
      // An exact module path skips layers_to_transform, as in PEFT.
      {[&](EditableFolder &f) {
         f.setField(
             "target_modules",
             llvm::json::Array{"model.layers.0.self_attn.q_proj", "v_proj"});
         f.setField("layers_to_transform", llvm::json::Array{1});
         f.editTensors(
             keep({"layers.0.self_attn.q_proj", "layers.1.self_attn.v_proj"}));
       },
       {"layers.0.attn.q.weight", "layers.1.attn.v.weight"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EditableFolder f("tiny-llama-lora");
    cases[i].edit(f);
    auto adapter = loadPeftLora(f.dir, config);
    ASSERT_TRUE(bool(adapter))
        << i << ": " << llvm::toString(adapter.takeError());
    std::vector<std::string> names;
    for (const auto &[name, p] : adapter->deltas)
      names.push_back(name);
    EXPECT_EQ(names, cases[i].deltas) << i;
  }
  EditableFolder all("tiny-llama-lora");
  all.setField("target_modules", "all-linear");
  std::string err = loadError(all.dir, "tiny-llama");
  EXPECT_NE(err.find("missing tensor 'base_model.model.model.layers.0.self_"
                     "attn.k_proj.lora_A.weight'"),
            std::string::npos)
      << err; // all-linear selects k_proj too (but not lm_head)
}

TEST(PeftLoad, PatternKeysFollowPeftsFirstMatchRule) {
  // rank keys are tried before alpha keys; the first matching key decides
  // both values, so layer 0's q_proj keeps the default alpha although
  // alpha_pattern names q_proj.
  EditableFolder f("tiny-llama-lora");
  f.setField("rank_pattern",
             llvm::json::Object{{"layers.0.self_attn.q_proj", 2}});
  f.setField("alpha_pattern", llvm::json::Object{{"q_proj", 32}});
  f.editTensors([](std::vector<NamedTensor> &tensors) {
    for (auto &[n, t] : tensors) {
      if (n == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
        t = Tensor::zeros(DType::F32, {2, 64});
      if (n == "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")
        t = Tensor::zeros(DType::F32, {64, 2});
    }
  });
  auto adapter = loadPeftLora(f.dir, fixtureConfig("tiny-llama"));
  ASSERT_TRUE(bool(adapter)) << llvm::toString(adapter.takeError());
  EXPECT_EQ(adapter->deltas["layers.0.attn.q.weight"].rank, 2);
  EXPECT_EQ(adapter->deltas["layers.0.attn.q.weight"].alpha, 8.0);
  EXPECT_EQ(adapter->deltas["layers.1.attn.q.weight"].rank, 4);
  EXPECT_EQ(adapter->deltas["layers.1.attn.q.weight"].alpha, 32.0);
  EXPECT_EQ(adapter->deltas["layers.0.attn.v.weight"].alpha, 8.0);
}

//===----------------------------------------------------------------------===//
// Prompt tuning
//===----------------------------------------------------------------------===//

TEST(PeftPrompt, LoadsPeftFixtureAndRoundTrips) {
  ModelConfig config = fixtureConfig("tiny-llama");
  auto prompt = loadPeftPrompt(peftFixture("tiny-llama-prompt"), config);
  ASSERT_TRUE(bool(prompt)) << llvm::toString(prompt.takeError());
  auto raw = readRawSafeTensors(peftFixture("tiny-llama-prompt") +
                                "/adapter_model.safetensors");
  expectSameValues(prompt->embeddings, raw.at("prompt_embeddings"), "prompt");
  EXPECT_EQ(shapeOf(prompt->embeddings), (std::vector<int64_t>{5, 64}));
  EXPECT_EQ(prompt->baseModel, "test/fixtures/models/tiny-llama");
  TempDir tmp;
  ASSERT_EQ(errorText(savePeftPrompt(*prompt, config, tmp.file("p"))), "");
  llvm::json::Object peft =
      readJsonObject(peftFixture("tiny-llama-prompt") + "/adapter_config.json");
  llvm::json::Object mine = readJsonObject(tmp.file("p/adapter_config.json"));
  EXPECT_EQ(llvm::json::Value(std::move(peft)),
            llvm::json::Value(std::move(mine)));
  auto mineRaw = readRawSafeTensors(tmp.file("p/adapter_model.safetensors"));
  EXPECT_EQ(mineRaw.at("prompt_embeddings").bytes,
            raw.at("prompt_embeddings").bytes);
  auto again = loadPeftPrompt(tmp.file("p"), config);
  ASSERT_TRUE(bool(again));
  EXPECT_TRUE(again->embeddings.bitwiseEqual(prompt->embeddings));
}

TEST(PeftPrompt, Errors) {
  ModelConfig config = fixtureConfig("tiny-llama");
  EXPECT_EQ(errorText(loadPeftPrompt(peftFixture("tiny-llama-lora"), config)),
            "'" + peftFixture("tiny-llama-lora") +
                "/adapter_config.json': expected peft_type \"PROMPT_TUNING\" "
                "for loadPeftPrompt, found \"LORA\" (a LoRA adapter: read it "
                "with loadPeftLora)");
  ModelConfig narrow = config;
  narrow.dim = 32;
  narrow.headDim = 8;
  EXPECT_EQ(errorText(loadPeftPrompt(peftFixture("tiny-llama-prompt"), narrow)),
            "'" + peftFixture("tiny-llama-prompt") +
                "/adapter_config.json': token_dim is 64, but the llama model's "
                "hidden size is 32; is this adapter for another model?");
  {
    EditableFolder f("tiny-llama-prompt");
    f.setField("num_virtual_tokens", 6);
    EXPECT_EQ(errorText(loadPeftPrompt(f.dir, config)),
              "shape mismatch for tensor 'prompt_embeddings' in '" +
                  f.weights() +
                  "': expected [6, 64] (num_virtual_tokens 6, hidden size "
                  "64), found [5, 64]");
    f.setField("num_transformer_submodules", 2);
    EXPECT_EQ(errorText(loadPeftPrompt(f.dir, config)),
              "'" + f.config() +
                  "': field 'num_transformer_submodules': expected 1 (a "
                  "decoder-only model), found 2");
  }
  {
    EditableFolder f("tiny-llama-prompt");
    f.editTensors([](std::vector<NamedTensor> &tensors) {
      tensors.emplace_back("extra", Tensor::zeros(DType::F32, {1}));
    });
    EXPECT_EQ(errorText(loadPeftPrompt(f.dir, config)),
              "unexpected tensor 'extra' in '" + f.weights() +
                  "': a prompt-tuning adapter holds only 'prompt_embeddings'");
    f.editTensors([](std::vector<NamedTensor> &tensors) {
      tensors.clear();
      tensors.emplace_back("other", Tensor::zeros(DType::F32, {1}));
    });
    std::string err = errorText(loadPeftPrompt(f.dir, config));
    EXPECT_NE(err.find("unexpected tensor 'other'"), std::string::npos) << err;
  }
  PromptAdapter bad;
  TempDir tmp;
  EXPECT_EQ(errorText(savePeftPrompt(bad, config, tmp.file("x"))),
            "cannot save the prompt adapter to '" + tmp.file("x") +
                "': it has no embeddings");
  bad.embeddings = Tensor::zeros(DType::F32, {5, 32});
  EXPECT_EQ(errorText(savePeftPrompt(bad, config, tmp.file("x"))),
            "prompt embeddings: expected shape [tokens, 64] (tokens > 0, the "
            "model's hidden size 64), found [5, 32]");
  EXPECT_EQ(listDir(tmp.path), std::vector<std::string>{});
}

} // namespace
