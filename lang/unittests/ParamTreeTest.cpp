//===- ParamTreeTest.cpp - Tests for the canonical parameter tree ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/ParamTree.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <functional>
#include <map>

using namespace ftl::lang;
using llvm::StringRef;

namespace {

//===----------------------------------------------------------------------===//
// enumerateParams against transformers (test/fixtures/lang/param_trees.json,
// made by scripts/fixtures/make_param_trees.py)
//===----------------------------------------------------------------------===//

struct HFCase {
  std::string name;
  ModelInfo info;
  std::map<std::string, std::vector<int64_t>> tensors;
  int64_t numParameters = 0;
};

std::vector<HFCase> loadHFCases() {
  std::string path =
      std::string(FTL_SOURCE_DIR) + "/test/fixtures/lang/param_trees.json";
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << path;
  if (!buffer)
    return {};
  auto value = llvm::json::parse((*buffer)->getBuffer());
  EXPECT_TRUE(bool(value));
  if (!value) {
    llvm::consumeError(value.takeError());
    return {};
  }
  std::vector<HFCase> cases;
  for (const llvm::json::Value &entry : *value->getAsArray()) {
    const llvm::json::Object &object = *entry.getAsObject();
    const llvm::json::Object &config = *object.getObject("config");
    HFCase c;
    c.name = object.getString("name")->str();
    c.info.arch = *config.getString("arch") == "gpt2" ? ModelInfo::Arch::GPT2
                                                      : ModelInfo::Arch::Llama;
    c.info.vocab = *config.getInteger("vocab");
    c.info.dim = *config.getInteger("dim");
    c.info.layers = *config.getInteger("layers");
    c.info.heads = *config.getInteger("heads");
    c.info.kvHeads = *config.getInteger("kv_heads");
    c.info.ffn = *config.getInteger("ffn");
    c.info.ctx = *config.getInteger("ctx");
    c.info.qkvBias = *config.getBoolean("qkv_bias");
    c.info.tied = *config.getBoolean("tied");
    for (const llvm::json::Value &t : *object.getArray("tensors")) {
      const llvm::json::Array &pair = *t.getAsArray();
      std::vector<int64_t> shape;
      for (const llvm::json::Value &d : *pair[1].getAsArray())
        shape.push_back(*d.getAsInteger());
      c.tensors[pair[0].getAsString()->str()] = shape;
    }
    c.numParameters = *object.getInteger("num_parameters");
    cases.push_back(std::move(c));
  }
  return cases;
}

TEST(ParamTreeTest, MatchesTransformersModels) {
  std::vector<HFCase> cases = loadHFCases();
  ASSERT_EQ(cases.size(), 3u);
  for (const HFCase &c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<ParamTensor> params = enumerateParams(c.info);
    std::map<std::string, std::vector<int64_t>> ours;
    int64_t total = 0;
    for (const ParamTensor &t : params) {
      EXPECT_FALSE(ours.count(t.name)) << "duplicate " << t.name;
      ours[t.name] = std::vector<int64_t>(t.shape.begin(), t.shape.end());
      total += t.numel();
    }
    EXPECT_EQ(ours, c.tensors);
    EXPECT_EQ(params.size(), c.tensors.size());
    EXPECT_EQ(total, c.numParameters);
  }
}

//===----------------------------------------------------------------------===//
// enumerateParams: order, counts and the tensor helpers
//===----------------------------------------------------------------------===//

ModelInfo llama(int64_t layers, bool tied = false) {
  ModelInfo info;
  info.arch = ModelInfo::Arch::Llama;
  info.vocab = 100;
  info.dim = 64;
  info.layers = layers;
  info.heads = 4;
  info.kvHeads = 2;
  info.ffn = 176;
  info.ctx = 128;
  info.tied = tied;
  return info;
}

ModelInfo gpt2(int64_t layers) {
  ModelInfo info;
  info.arch = ModelInfo::Arch::GPT2;
  info.vocab = 90;
  info.dim = 32;
  info.layers = layers;
  info.heads = 4;
  info.kvHeads = 4;
  info.ffn = 128;
  info.ctx = 40;
  info.tied = true;
  info.qkvBias = true;
  return info;
}

std::vector<std::string> names(const std::vector<ParamTensor> &params) {
  std::vector<std::string> out;
  for (const ParamTensor &t : params)
    out.push_back(t.name);
  return out;
}

TEST(ParamTreeTest, LlamaOrderAndCounts) {
  std::vector<std::string> expected = {"embed.weight"};
  for (int i = 0; i < 2; ++i) {
    std::string p = "layers." + std::to_string(i) + ".";
    for (const char *leaf :
         {"attn_norm.weight", "attn.q.weight", "attn.k.weight", "attn.v.weight",
          "attn.o.weight", "mlp_norm.weight", "mlp.gate.weight",
          "mlp.up.weight", "mlp.down.weight"})
      expected.push_back(p + leaf);
  }
  expected.push_back("final_norm.weight");
  expected.push_back("head.weight");
  EXPECT_EQ(names(enumerateParams(llama(2))), expected);
  // 9 tensors per layer, plus embed, final_norm and head (tied: no head).
  for (int64_t layers : {0, 1, 5, 32}) {
    EXPECT_EQ(enumerateParams(llama(layers)).size(), size_t(9 * layers + 3));
    EXPECT_EQ(enumerateParams(llama(layers, true)).size(),
              size_t(9 * layers + 2));
  }
  // Grouped-query attention: k and v have kv_heads * head_dim rows.
  std::vector<ParamTensor> params = enumerateParams(llama(1));
  auto shapeOf = [&](StringRef name) {
    for (const ParamTensor &t : params)
      if (t.name == name)
        return std::vector<int64_t>(t.shape.begin(), t.shape.end());
    return std::vector<int64_t>();
  };
  EXPECT_EQ(shapeOf("layers.0.attn.q.weight"), (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(shapeOf("layers.0.attn.k.weight"), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(shapeOf("layers.0.attn.o.weight"), (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(shapeOf("layers.0.mlp.down.weight"),
            (std::vector<int64_t>{64, 176}));
  EXPECT_EQ(shapeOf("embed.weight"), (std::vector<int64_t>{100, 64}));
}

TEST(ParamTreeTest, QkvBiasAddsThreeBiasesPerLayer) {
  ModelInfo info = llama(3);
  info.qkvBias = true;
  std::vector<std::string> all = names(enumerateParams(info));
  EXPECT_EQ(all.size(), size_t(12 * 3 + 3));
  for (const char *name :
       {"layers.2.attn.q.bias", "layers.2.attn.k.bias", "layers.2.attn.v.bias"})
    EXPECT_TRUE(llvm::is_contained(all, name)) << name;
  EXPECT_FALSE(llvm::is_contained(all, "layers.2.attn.o.bias"));
}

TEST(ParamTreeTest, Gpt2HasBiasesAndPositions) {
  std::vector<std::string> all = names(enumerateParams(gpt2(2)));
  // Per layer 8 weights (2 norms, q, k, v, o, up, down) and 8 biases; then
  // wte, wpe and ln_f's weight and bias.
  EXPECT_EQ(all.size(), size_t(16 * 2 + 4));
  EXPECT_EQ(all[0], "embed.weight");
  EXPECT_EQ(all[1], "pos_embed.weight");
  EXPECT_FALSE(llvm::is_contained(all, "head.weight"));
  EXPECT_FALSE(llvm::is_contained(all, "layers.0.mlp.gate.weight"));
  EXPECT_TRUE(llvm::is_contained(all, "final_norm.bias"));
}

TEST(ParamTreeTest, TensorHelpers) {
  ParamTensor q{"layers.12.attn.q.weight", {8, 4}};
  EXPECT_EQ(q.numel(), 32);
  EXPECT_EQ(q.module(), "layers.12.attn.q");
  EXPECT_EQ(q.role(), "attn");
  EXPECT_EQ(q.layer(), 12);
  ParamTensor norm{"layers.0.mlp_norm.bias", {8}};
  EXPECT_EQ(norm.role(), "norm");
  EXPECT_EQ(norm.layer(), 0);
  ParamTensor embed{"pos_embed.weight", {4, 8}};
  EXPECT_EQ(embed.role(), "embed");
  EXPECT_EQ(embed.layer(), -1);
  EXPECT_EQ(ParamTensor({"final_norm.weight", {8}}).role(), "norm");
  EXPECT_EQ(ParamTensor({"head.weight", {8}}).role(), "head");
  EXPECT_EQ(ParamTensor({"layers.1.mlp.up.weight", {8}}).role(), "mlp");
}

//===----------------------------------------------------------------------===//
// resolveSelector
//===----------------------------------------------------------------------===//

SelectorSegment name(std::string n) {
  SelectorSegment s;
  s.kind = SelectorSegment::Kind::Name;
  s.names = {std::move(n)};
  return s;
}

SelectorSegment set(std::vector<std::string> members) {
  SelectorSegment s;
  s.kind = SelectorSegment::Kind::Set;
  s.names = std::move(members);
  return s;
}

SelectorSegment all() {
  SelectorSegment s;
  s.kind = SelectorSegment::Kind::Index;
  s.indexKind = SelectorSegment::IndexKind::All;
  return s;
}

SelectorSegment at(int64_t i) {
  SelectorSegment s;
  s.kind = SelectorSegment::Kind::Index;
  s.indexKind = SelectorSegment::IndexKind::Single;
  s.lo = i;
  return s;
}

SelectorSegment range(std::optional<int64_t> lo, std::optional<int64_t> hi) {
  SelectorSegment s;
  s.kind = SelectorSegment::Kind::Index;
  s.indexKind = SelectorSegment::IndexKind::Range;
  s.lo = lo;
  s.hi = hi;
  return s;
}

SelectorSegment list(std::vector<int64_t> indices) {
  SelectorSegment s;
  s.kind = SelectorSegment::Kind::Index;
  s.indexKind = SelectorSegment::IndexKind::List;
  s.list = std::move(indices);
  return s;
}

/// The tensors of `info` (in tree order) for which `pred` holds: the
/// expected result, computed without the selector code.
std::vector<std::string> where(const ModelInfo &info,
                               std::function<bool(StringRef)> pred) {
  std::vector<std::string> out;
  for (const ParamTensor &t : enumerateParams(info))
    if (pred(t.name))
      out.push_back(t.name);
  return out;
}

/// Layer index of a name, or -1.
int64_t layerOf(StringRef name) {
  int64_t i = -1;
  if (name.consume_front("layers."))
    name.consumeInteger(10, i);
  return i;
}

TEST(ParamTreeTest, EmptySelectorSelectsEverything) {
  ModelInfo info = llama(3);
  EXPECT_EQ(resolveSelector(info, {}).tensors, names(enumerateParams(info)));
}

TEST(ParamTreeTest, RangesAreInclusive) {
  ModelInfo info = llama(6);
  auto layersIn = [&](int64_t lo, int64_t hi) {
    return where(info, [&](StringRef n) {
      int64_t l = layerOf(n);
      return l >= lo && l <= hi;
    });
  };
  EXPECT_EQ(resolveSelector(info, {name("layers"), range(1, 3)}).tensors,
            layersIn(1, 3));
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), range(2, std::nullopt)}).tensors,
      layersIn(2, 5));
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), range(std::nullopt, 0)}).tensors,
      layersIn(0, 0));
  EXPECT_EQ(resolveSelector(info, {name("layers"), range(4, 4)}).tensors,
            layersIn(4, 4));
  // An empty range matches nothing (the checker reports it).
  EXPECT_TRUE(
      resolveSelector(info, {name("layers"), range(3, 1)}).tensors.empty());
}

TEST(ParamTreeTest, NegativeIndicesCountFromTheEnd) {
  ModelInfo info = llama(6);
  auto layer = [&](int64_t i) {
    return where(info, [&](StringRef n) { return layerOf(n) == i; });
  };
  EXPECT_EQ(resolveSelector(info, {name("layers"), at(-1)}).tensors, layer(5));
  EXPECT_EQ(resolveSelector(info, {name("layers"), at(-6)}).tensors, layer(0));
  std::vector<std::string> lastTwo = layer(4);
  for (const std::string &n : layer(5))
    lastTwo.push_back(n);
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), range(-2, std::nullopt)}).tensors,
      lastTwo);
  EXPECT_EQ(resolveSelector(info, {name("layers"), range(4, -1)}).tensors,
            lastTwo);
}

TEST(ParamTreeTest, IndexLists) {
  ModelInfo info = llama(4);
  std::vector<std::string> expected = where(info, [](StringRef n) {
    int64_t l = layerOf(n);
    return (l == 0 || l == 3) && n.ends_with(".attn.q.weight");
  });
  EXPECT_EQ(resolveSelector(
                info, {name("layers"), list({0, -1}), name("attn"), name("q")})
                .tensors,
            expected);
  ASSERT_EQ(expected.size(), 2u);
  // Duplicates select each tensor once.
  EXPECT_EQ(resolveSelector(info, {name("layers"), list({3, 0, 3, -4}),
                                   name("attn"), name("q")})
                .tensors,
            expected);
}

TEST(ParamTreeTest, SetsAndGlobs) {
  ModelInfo info = llama(2);
  auto suffix = [&](std::vector<StringRef> ends) {
    return where(info, [&](StringRef n) {
      return llvm::any_of(ends, [&](StringRef e) { return n.ends_with(e); });
    });
  };
  EXPECT_EQ(resolveSelector(
                info, {name("layers"), all(), name("attn"), set({"q", "v"})})
                .tensors,
            suffix({".attn.q.weight", ".attn.v.weight"}));
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), all(), name("mlp"), name("*")})
          .tensors,
      suffix({".mlp.gate.weight", ".mlp.up.weight", ".mlp.down.weight"}));
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), all(), name("mlp"), name("g*")})
          .tensors,
      suffix({".mlp.gate.weight"}));
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), all(), name("*_norm")}).tensors,
      suffix({".attn_norm.weight", ".mlp_norm.weight"}));
  // A leaf segment selects weights or biases.
  ModelInfo g = gpt2(2);
  EXPECT_EQ(resolveSelector(g, {name("layers"), all(), name("attn"), name("*"),
                                name("bias")})
                .tensors,
            where(g, [](StringRef n) {
              return n.contains(".attn.") && n.ends_with(".bias");
            }));
}

TEST(ParamTreeTest, Roles) {
  ModelInfo info = gpt2(2);
  auto byRole = [&](StringRef role) {
    return where(info, [&](StringRef n) {
      return ParamTensor{n.str(), {}}.role() == role;
    });
  };
  // `norm` names no component but matches every normalisation by role.
  EXPECT_EQ(
      resolveSelector(info, {name("norm")}).tensors,
      where(info, [](StringRef n) { return n.starts_with("final_norm"); }));
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), all(), name("norm")}).tensors,
      where(info, [](StringRef n) {
        return n.contains("attn_norm") || n.contains("mlp_norm");
      }));
  EXPECT_EQ(resolveSelector(info, {name("embed")}).tensors,
            (std::vector<std::string>{"embed.weight", "pos_embed.weight"}));
  EXPECT_EQ(
      resolveSelector(info, {name("layers"), all(), name("attn")}).tensors,
      byRole("attn"));
  EXPECT_EQ(resolveSelector(info, {name("layers"), all(), name("mlp")}).tensors,
            byRole("mlp"));
}

TEST(ParamTreeTest, TiedHeadIsTheEmbedding) {
  ModelInfo tied = llama(2, /*tied=*/true);
  EXPECT_EQ(resolveSelector(tied, {name("head")}).tensors,
            std::vector<std::string>{"embed.weight"});
  // Selected through both names, it is listed once.
  EXPECT_EQ(resolveSelector(tied, {set({"embed", "head"})}).tensors,
            std::vector<std::string>{"embed.weight"});
  EXPECT_EQ(resolveSelector(gpt2(1), {name("head")}).tensors,
            std::vector<std::string>{"embed.weight"});
  ModelInfo untied = llama(2);
  EXPECT_EQ(resolveSelector(untied, {name("head")}).tensors,
            std::vector<std::string>{"head.weight"});
}

TEST(ParamTreeTest, MatchesNothing) {
  ModelInfo info = llama(2);
  EXPECT_TRUE(resolveSelector(info, {name("attn")}).tensors.empty());
  EXPECT_TRUE(
      resolveSelector(info, {name("layers"), name("attn")}).tensors.empty());
  EXPECT_TRUE(
      resolveSelector(info, {name("layers"), all(), name("attn"), set({"x"})})
          .tensors.empty());
  EXPECT_TRUE(resolveSelector(info, {name("embed"), at(0)}).tensors.empty());
  EXPECT_TRUE(resolveSelector(info, {name("layers"), all(), name("attn"),
                                     name("q"), name("weight"), name("x")})
                  .tensors.empty());
  EXPECT_TRUE(resolveSelector(
                  gpt2(1), {name("layers"), all(), name("mlp"), name("gate")})
                  .tensors.empty());
  EXPECT_TRUE(resolveSelector(info, {name("")}).tensors.empty());
}

TEST(ParamTreeTest, OutOfRangeIndices) {
  ModelInfo info = llama(4);
  struct Case {
    SelectorSegment segment;
    int64_t bad;
  };
  std::vector<Case> cases = {
      {at(4), 4},
      {at(-5), -5},
      {range(1, 9), 9},
      {range(-7, std::nullopt), -7},
      {list({0, 2, 17}), 17},
      {at(INT64_MAX), INT64_MAX},
      {at(INT64_MIN), INT64_MIN},
  };
  for (const Case &c : cases) {
    SelectorMatch match = resolveSelector(info, {name("layers"), c.segment});
    EXPECT_FALSE(match.error.empty()) << c.segment.str();
    EXPECT_TRUE(match.tensors.empty());
    EXPECT_EQ(match.badIndex, c.bad);
    EXPECT_EQ(match.listSize, 4);
    EXPECT_EQ(match.listName, "layers");
  }
  // The boundaries are in range.
  for (SelectorSegment s : {at(3), at(-4), range(-4, 3), list({0, -1})})
    EXPECT_TRUE(resolveSelector(info, {name("layers"), s}).error.empty())
        << s.str();
  // Any index into a model without layers is out of range.
  EXPECT_FALSE(
      resolveSelector(llama(0), {name("layers"), at(0)}).error.empty());
}

TEST(ParamTreeTest, GlobMatch) {
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("*", "anything"));
  EXPECT_TRUE(globMatch("abc", "abc"));
  EXPECT_FALSE(globMatch("abc", "abcd"));
  EXPECT_FALSE(globMatch("abcd", "abc"));
  EXPECT_TRUE(globMatch("g*", "gate"));
  EXPECT_FALSE(globMatch("g*", "up"));
  EXPECT_TRUE(globMatch("*_norm", "attn_norm"));
  EXPECT_FALSE(globMatch("*_norm", "norm"));
  EXPECT_TRUE(globMatch("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(globMatch("a*b*c", "abc"));
  EXPECT_FALSE(globMatch("a*b*c", "acb"));
  EXPECT_TRUE(globMatch("*a*a*", "banana"));
  EXPECT_TRUE(globMatch("**", "x"));
  EXPECT_FALSE(globMatch("", "x"));
  EXPECT_TRUE(globMatch("", ""));
}

TEST(ParamTreeTest, SelectorToString) {
  EXPECT_EQ(
      selectorToString({name("layers"), all(), name("attn"), set({"q", "v"})}),
      "layers[*].attn.{q, v}");
  EXPECT_EQ(selectorToString({name("layers"), range(-2, std::nullopt)}),
            "layers[-2..]");
  EXPECT_EQ(selectorToString({name("layers"), range(std::nullopt, 3)}),
            "layers[..3]");
  EXPECT_EQ(
      selectorToString({name("layers"), list({0, 3}), name("mlp"), name("g*")}),
      "layers[0, 3].mlp.g*");
  EXPECT_EQ(selectorToString({name("head")}), "head");
  EXPECT_EQ(selectorToString({}), "");
}

} // namespace
