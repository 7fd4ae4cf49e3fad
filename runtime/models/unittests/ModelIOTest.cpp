//===- ModelIOTest.cpp - Hugging Face model folders -----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/ModelIO.h"
#include "ftl/Runtime/Half.h"

#include "TestUtil.h"

#include <cmath>
#include <functional>

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
std::string errorOf(llvm::Error err) {
  EXPECT_TRUE(bool(err)) << "expected an error";
  return toString(std::move(err));
}

LoadedModel mustLoad(const std::string &dir) {
  auto model = loadHFModelFolder(dir);
  if (!model) {
    ADD_FAILURE() << toString(model.takeError());
    return {};
  }
  return std::move(*model);
}

/// Where a canonical parameter lives in a Hugging Face checkpoint, written
/// out from the naming tables of transformers' modeling files (independent
/// of the library's own mapping).
struct Source {
  std::string hfName;
  enum Kind { Direct, Transposed, FusedWeight, FusedBias } kind;
  int part = 0; // q, k, v for the fused kinds
};

Source hfSource(bool gpt2, const std::string &canonical) {
  llvm::StringRef name = canonical;
  if (!gpt2) {
    if (name == "embed.weight")
      return {"model.embed_tokens.weight", Source::Direct};
    if (name == "final_norm.weight")
      return {"model.norm.weight", Source::Direct};
    if (name == "head.weight")
      return {"lm_head.weight", Source::Direct};
    auto [layer, rest] = name.drop_front(7).split('.');
    std::string prefix = "model.layers." + layer.str() + ".";
    if (rest == "attn_norm.weight")
      return {prefix + "input_layernorm.weight", Source::Direct};
    if (rest == "mlp_norm.weight")
      return {prefix + "post_attention_layernorm.weight", Source::Direct};
    auto [group, tail] = rest.split('.');
    auto [proj, kind] = tail.split('.');
    return {prefix + (group == "attn" ? "self_attn." : "mlp.") + proj.str() +
                "_proj." + kind.str(),
            Source::Direct};
  }
  if (name == "embed.weight")
    return {"transformer.wte.weight", Source::Direct};
  if (name == "pos_embed.weight")
    return {"transformer.wpe.weight", Source::Direct};
  if (name.consume_front("final_norm."))
    return {"transformer.ln_f." + name.str(), Source::Direct};
  auto [layer, rest] = name.drop_front(7).split('.');
  std::string prefix = "transformer.h." + layer.str() + ".";
  bool isWeight = rest.ends_with(".weight");
  std::string kind = isWeight ? "weight" : "bias";
  if (rest.starts_with("attn_norm."))
    return {prefix + "ln_1." + kind, Source::Direct};
  if (rest.starts_with("mlp_norm."))
    return {prefix + "ln_2." + kind, Source::Direct};
  for (int part = 0; part < 3; ++part) {
    const char *names[] = {"attn.q.", "attn.k.", "attn.v."};
    if (rest.starts_with(names[part]))
      return {prefix + "attn.c_attn." + kind,
              isWeight ? Source::FusedWeight : Source::FusedBias, part};
  }
  std::string module = rest.starts_with("attn.o.")   ? "attn.c_proj."
                       : rest.starts_with("mlp.up.") ? "mlp.c_fc."
                                                     : "mlp.c_proj.";
  return {prefix + module + kind,
          isWeight ? Source::Transposed : Source::Direct};
}

/// Checks every canonical value against the raw bytes of the checkpoint.
void expectMatchesRawFile(const LoadedModel &model,
                          const std::map<std::string, RawTensor> &raw) {
  const ModelConfig &c = model.config;
  size_t checked = 0;
  for (const auto &[name, tensor] : model.weights) {
    ASSERT_EQ(tensor.dtype(), DType::F32) << name;
    Source src = hfSource(c.isGPT2(), name);
    auto it = raw.find(src.hfName);
    ASSERT_NE(it, raw.end()) << name << " -> " << src.hfName;
    const RawTensor &r = it->second;
    const float *values = tensor.dataAs<float>();
    int64_t n = tensor.numel();
    for (int64_t i = 0; i < n; ++i) {
      size_t at = static_cast<size_t>(i);
      if (src.kind == Source::Transposed) {
        int64_t rows = tensor.dim(0), cols = tensor.dim(1); // [out, in]
        at = static_cast<size_t>((i % cols) * rows + i / cols);
      } else if (src.kind == Source::FusedWeight) {
        int64_t cols = tensor.dim(1); // [dim, dim]; raw is [dim, 3 * dim]
        at = static_cast<size_t>((i % cols) * 3 * c.dim + src.part * c.dim +
                                 i / cols);
      } else if (src.kind == Source::FusedBias) {
        at = static_cast<size_t>(src.part * c.dim + i);
      }
      ASSERT_EQ(static_cast<double>(values[i]), r.at(at))
          << name << " element " << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, canonicalParams(c).size());
}

/// Sums in f64 of the values torch saw, from <name>.reference.json.
void expectMatchesTorchReference(const LoadedModel &model,
                                 const std::string &referencePath) {
  auto parsed = llvm::json::parse(readBytes(referencePath));
  ASSERT_TRUE(bool(parsed)) << toString(parsed.takeError());
  const llvm::json::Object &tensors =
      *parsed->getAsObject()->getObject("tensors");
  auto exported = exportHFTensors(model.config, model.weights);
  ASSERT_TRUE(bool(exported)) << toString(exported.takeError());
  std::map<std::string, Tensor> byName(exported->begin(), exported->end());
  size_t compared = 0;
  for (const auto &kv : tensors) {
    std::string name = kv.first.str();
    const llvm::json::Object &stats = *kv.second.getAsObject();
    if (!byName.count(name)) {
      // Only the tied head is absent from what save_pretrained writes.
      ASSERT_EQ(name, "lm_head.weight");
      ASSERT_TRUE(model.config.tiedEmbeddings);
      name = model.config.isGPT2() ? "transformer.wte.weight"
                                   : "model.embed_tokens.weight";
    }
    const Tensor &t = byName[name];
    std::vector<int64_t> shape;
    for (const llvm::json::Value &d : *stats.getArray("shape"))
      shape.push_back(*d.getAsInteger());
    EXPECT_EQ(std::vector<int64_t>(t.shape().begin(), t.shape().end()), shape)
        << name;
    double sum = 0, squares = 0;
    const float *v = t.dataAs<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      sum += v[i];
      squares += static_cast<double>(v[i]) * v[i];
    }
    double wantSum = *stats.getNumber("sum");
    double wantSquares = *stats.getNumber("sum_squares");
    EXPECT_NEAR(sum, wantSum, 1e-9 * (1 + std::fabs(wantSum))) << name;
    EXPECT_NEAR(squares, wantSquares, 1e-9 * (1 + wantSquares)) << name;
    const llvm::json::Array &first = *stats.getArray("first");
    for (size_t i = 0; i < first.size(); ++i)
      EXPECT_EQ(static_cast<double>(v[i]), *first[i].getAsNumber()) << name;
    const llvm::json::Array &last = *stats.getArray("last");
    for (size_t i = 0; i < last.size(); ++i)
      EXPECT_EQ(static_cast<double>(v[t.numel() - last.size() + i]),
                *last[i].getAsNumber())
          << name;
    ++compared;
  }
  EXPECT_GE(compared, exported->size());
}

/// A copy of a fixture folder whose tensors and config text `edit` changes,
/// written as a single model.safetensors.
std::unique_ptr<TempDir>
variant(const std::string &fixtureName,
        const std::function<void(std::vector<NamedTensor> &, std::string &)>
            &edit) {
  auto dir = std::make_unique<TempDir>();
  auto tensors = loadSafeTensorsFolder(fixture(fixtureName));
  EXPECT_TRUE(bool(tensors));
  std::string config = readBytes(fixture(fixtureName) + "/config.json");
  edit(*tensors, config);
  writeBytes(dir->file("config.json"), config);
  EXPECT_FALSE(bool(writeSafeTensors(dir->file("model.safetensors"), *tensors,
                                     {{"format", "pt"}})));
  return dir;
}

void eraseTensor(std::vector<NamedTensor> &tensors, llvm::StringRef name) {
  tensors.erase(
      std::remove_if(tensors.begin(), tensors.end(),
                     [&](const NamedTensor &nt) { return nt.first == name; }),
      tensors.end());
}

Tensor *findTensor(std::vector<NamedTensor> &tensors, llvm::StringRef name) {
  for (NamedTensor &nt : tensors)
    if (nt.first == name)
      return &nt.second;
  return nullptr;
}
} // namespace

TEST(ModelIO, FixturesLoadWithEveryValueFromTheFile) {
  for (const char *name : {"tiny-llama", "tiny-gpt2", "tiny-qwen2"}) {
    SCOPED_TRACE(name);
    LoadedModel model = mustLoad(fixture(name));
    ASSERT_FALSE(model.weights.empty());
    EXPECT_FALSE(bool(checkModelWeights(model.config, model.weights)));
    std::vector<std::string> names, expected;
    for (const auto &[n, t] : model.weights)
      names.push_back(n);
    for (const ParamSpec &spec : canonicalParams(model.config))
      expected.push_back(spec.name);
    EXPECT_EQ(names, expected); // canonical order
    expectMatchesRawFile(
        model, readRawSafeTensors(fixture(name) + "/model.safetensors"));
    expectMatchesTorchReference(model,
                                fixture(std::string(name) + ".reference.json"));
  }
}

TEST(ModelIO, CanonicalNamesAndShapes) {
  LoadedModel llama = mustLoad(fixture("tiny-llama"));
  const Tensor *q = llama.weights.find("layers.1.attn.q.weight");
  const Tensor *k = llama.weights.find("layers.1.attn.k.weight");
  const Tensor *o = llama.weights.find("layers.0.attn.o.weight");
  const Tensor *down = llama.weights.find("layers.0.mlp.down.weight");
  ASSERT_TRUE(q && k && o && down);
  EXPECT_EQ(formatShape(q->shape()), "[64, 64]");
  EXPECT_EQ(formatShape(k->shape()), "[32, 64]"); // 2 kv heads of 16
  EXPECT_EQ(formatShape(o->shape()), "[64, 64]");
  EXPECT_EQ(formatShape(down->shape()), "[64, 128]");
  EXPECT_TRUE(llama.weights.contains("head.weight"));
  EXPECT_FALSE(llama.weights.contains("layers.0.attn.q.bias"));

  LoadedModel qwen = mustLoad(fixture("tiny-qwen2"));
  EXPECT_TRUE(qwen.weights.contains("layers.0.attn.q.bias"));
  EXPECT_TRUE(qwen.weights.contains("layers.0.attn.v.bias"));
  EXPECT_FALSE(qwen.weights.contains("layers.0.attn.o.bias"));
  EXPECT_FALSE(qwen.weights.contains("head.weight")); // tied

  LoadedModel gpt2 = mustLoad(fixture("tiny-gpt2"));
  EXPECT_EQ(formatShape(gpt2.weights.find("pos_embed.weight")->shape()),
            "[128, 64]");
  EXPECT_EQ(formatShape(gpt2.weights.find("layers.0.mlp.up.weight")->shape()),
            "[256, 64]");
  EXPECT_EQ(formatShape(gpt2.weights.find("layers.0.mlp.down.weight")->shape()),
            "[64, 256]");
  EXPECT_TRUE(gpt2.weights.contains("layers.1.attn_norm.bias"));
  EXPECT_FALSE(gpt2.weights.contains("layers.0.mlp.gate.weight"));

  EXPECT_EQ(hfTensorName(llama.config, "layers.1.mlp.gate.weight"),
            "model.layers.1.mlp.gate_proj.weight");
  EXPECT_EQ(hfTensorName(llama.config, "layers.0.attn_norm.weight"),
            "model.layers.0.input_layernorm.weight");
  EXPECT_EQ(hfTensorName(qwen.config, "layers.0.attn.k.bias"),
            "model.layers.0.self_attn.k_proj.bias");
  EXPECT_EQ(hfTensorName(gpt2.config, "layers.1.mlp.down.bias"),
            "transformer.h.1.mlp.c_proj.bias");
  EXPECT_EQ(hfTensorName(gpt2.config, "layers.1.attn.q.weight"), std::nullopt);
  EXPECT_EQ(hfTensorName(llama.config, "layers.2.attn.q.weight"), std::nullopt);
  EXPECT_EQ(hfTensorName(qwen.config, "head.weight"), std::nullopt);
}

TEST(ModelIO, ShardedEqualsUnsharded) {
  LoadedModel single = mustLoad(fixture("tiny-llama"));
  LoadedModel sharded = mustLoad(fixture("tiny-llama-sharded"));
  EXPECT_TRUE(single.weights.bitwiseEqual(sharded.weights));
  EXPECT_EQ(single.weights.size(), sharded.weights.size());
}

TEST(ModelIO, SaveThenLoadIsBitwiseIdentical) {
  for (const char *name : {"tiny-llama", "tiny-gpt2", "tiny-qwen2"}) {
    SCOPED_TRACE(name);
    LoadedModel original = mustLoad(fixture(name));
    TempDir dir;
    std::string out = dir.file("saved");
    ASSERT_FALSE(
        bool(saveHFModelFolder(out, original.config, original.weights)));
    EXPECT_EQ(listDir(out),
              (std::vector<std::string>{"config.json", "model.safetensors"}));
    LoadedModel again = mustLoad(out);
    EXPECT_TRUE(again.weights.bitwiseEqual(original.weights));
    EXPECT_EQ(again.config.torchDtype, "float32");
    // Sharded save loads back the same.
    std::string shardedOut = dir.file("sharded");
    ASSERT_FALSE(bool(saveHFModelFolder(shardedOut, original.config,
                                        original.weights, DType::F32, 100000)));
    EXPECT_GT(listDir(shardedOut).size(), 3u);
    EXPECT_TRUE(mustLoad(shardedOut).weights.bitwiseEqual(original.weights));
  }
  // An f32 checkpoint written back keeps transformers' config.json bytes.
  TempDir dir;
  LoadedModel llama = mustLoad(fixture("tiny-llama"));
  ASSERT_FALSE(
      bool(saveHFModelFolder(dir.file("m"), llama.config, llama.weights)));
  EXPECT_EQ(readBytes(dir.file("m") + "/config.json"),
            readBytes(fixture("tiny-llama/config.json")));
}

TEST(ModelIO, ExportRebuildsTheOriginalTensorsExactly) {
  // Load -> canonical -> export must give back every stored tensor bit for
  // bit: this covers GPT-2's c_attn split/fuse and the Conv1D transposes,
  // and, for the bf16 qwen2 checkpoint, exact widening and narrowing.
  struct Case {
    const char *name;
    DType storeAs;
  } cases[] = {{"tiny-llama", DType::F32},
               {"tiny-gpt2", DType::F32},
               {"tiny-qwen2", DType::BF16}};
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    LoadedModel model = mustLoad(fixture(c.name));
    auto exported = exportHFTensors(model.config, model.weights, c.storeAs);
    ASSERT_TRUE(bool(exported)) << toString(exported.takeError());
    auto raw = readRawSafeTensors(fixture(c.name) + "/model.safetensors");
    EXPECT_EQ(exported->size(), raw.size());
    for (const auto &[name, tensor] : *exported) {
      auto it = raw.find(name);
      ASSERT_NE(it, raw.end()) << name;
      EXPECT_EQ(dtypeName(tensor.dtype()), it->second.dtype);
      ASSERT_EQ(tensor.nbytes(), it->second.bytes.size()) << name;
      EXPECT_EQ(
          std::memcmp(tensor.data(), it->second.bytes.data(), tensor.nbytes()),
          0)
          << name;
    }
  }
}

TEST(ModelIO, ShardedSaveWritesTheIndexTransformersWrites) {
  // make_tiny_models.py saved tiny-llama-sharded with max_shard_size=150000.
  LoadedModel model = mustLoad(fixture("tiny-llama"));
  TempDir dir;
  std::string out = dir.file("sharded");
  ASSERT_FALSE(bool(
      saveHFModelFolder(out, model.config, model.weights, DType::F32, 150000)));
  std::string index = "/model.safetensors.index.json";
  EXPECT_EQ(readBytes(out + index),
            readBytes(fixture("tiny-llama-sharded") + index));
  std::vector<std::string> ours = listDir(out),
                           theirs = listDir(fixture("tiny-llama-sharded"));
  theirs.erase(
      std::remove(theirs.begin(), theirs.end(), "generation_config.json"),
      theirs.end());
  EXPECT_EQ(ours, theirs);
  for (const std::string &file : ours) {
    if (!llvm::StringRef(file).ends_with(".safetensors"))
      continue;
    auto a = readRawSafeTensors(out + "/" + file);
    auto b = readRawSafeTensors(fixture("tiny-llama-sharded") + "/" + file);
    ASSERT_EQ(a.size(), b.size()) << file;
    for (const auto &[name, t] : a) {
      ASSERT_TRUE(b.count(name)) << name;
      EXPECT_EQ(t.bytes, b[name].bytes) << name;
    }
  }
}

TEST(ModelIO, StoresHalfPrecisionWithCorrectRounding) {
  LoadedModel model = mustLoad(fixture("tiny-llama"));
  for (DType storeAs : {DType::F16, DType::BF16}) {
    TempDir dir;
    std::string out = dir.file("half");
    ASSERT_FALSE(
        bool(saveHFModelFolder(out, model.config, model.weights, storeAs)));
    auto raw = readRawSafeTensors(out + "/model.safetensors");
    const RawTensor &embed = raw.at("model.embed_tokens.weight");
    EXPECT_EQ(embed.dtype, dtypeName(storeAs));
    const float *values = model.weights.find("embed.weight")->dataAs<float>();
    for (size_t i = 0; i < embed.numel(); ++i) {
      uint16_t bits;
      std::memcpy(&bits, embed.bytes.data() + 2 * i, 2);
      uint16_t want =
          storeAs == DType::F16 ? f32ToF16(values[i]) : f32ToBF16(values[i]);
      ASSERT_EQ(bits, want) << i;
    }
    LoadedModel again = mustLoad(out);
    EXPECT_EQ(again.config.torchDtype,
              storeAs == DType::F16 ? "float16" : "bfloat16");
    const float *back = again.weights.find("embed.weight")->dataAs<float>();
    for (size_t i = 0; i < embed.numel(); ++i)
      ASSERT_EQ(static_cast<double>(back[i]), embed.at(i));
  }
  TempDir dir;
  EXPECT_NE(errorOf(saveHFModelFolder(dir.file("x"), model.config,
                                      model.weights, DType::I32))
                .find("cannot store model weights as I32"),
            std::string::npos);
}

TEST(ModelIO, OldGPT2CheckpointsLoad) {
  // Checkpoints saved from GPT2Model have no "transformer." prefix and carry
  // the attn.bias / attn.masked_bias buffers.
  auto dir = variant("tiny-gpt2", [](std::vector<NamedTensor> &tensors,
                                     std::string &) {
    for (NamedTensor &nt : tensors)
      nt.first = llvm::StringRef(nt.first).drop_front(12).str();
    for (int layer = 0; layer < 2; ++layer) {
      tensors.emplace_back("h." + std::to_string(layer) + ".attn.bias",
                           Tensor::zeros(DType::F32, {1, 1, 128, 128}));
      tensors.emplace_back("h." + std::to_string(layer) + ".attn.masked_bias",
                           Tensor::zeros(DType::F32, {}));
    }
  });
  LoadedModel old = mustLoad(std::string(dir->path));
  EXPECT_TRUE(old.weights.bitwiseEqual(mustLoad(fixture("tiny-gpt2")).weights));
}

TEST(ModelIO, TiedHeadMayBePresentWhenEqual) {
  auto equal = variant(
      "tiny-qwen2", [](std::vector<NamedTensor> &tensors, std::string &) {
        tensors.emplace_back("lm_head.weight",
                             *findTensor(tensors, "model.embed_tokens.weight"));
      });
  LoadedModel model = mustLoad(std::string(equal->path));
  EXPECT_FALSE(model.weights.contains("head.weight"));

  auto different = variant(
      "tiny-qwen2", [](std::vector<NamedTensor> &tensors, std::string &) {
        Tensor head = findTensor(tensors, "model.embed_tokens.weight")->clone();
        head.dataAs<uint16_t>()[5] ^= 1;
        tensors.emplace_back("lm_head.weight", head);
      });
  std::string message = errorOf(loadHFModelFolder(different->path));
  EXPECT_NE(message.find("'lm_head.weight' in '" +
                         std::string(different->path) +
                         "' differs from the token embedding"),
            std::string::npos)
      << message;
}

TEST(ModelIO, RejectsMismatchedCheckpoints) {
  struct Case {
    const char *what;
    const char *fixtureName;
    std::function<void(std::vector<NamedTensor> &, std::string &)> edit;
    std::vector<std::string> expected;
  } cases[] = {
      {"unmapped tensor",
       "tiny-llama",
       [](std::vector<NamedTensor> &t, std::string &) {
         t.emplace_back("model.layers.0.self_attn.extra.weight",
                        Tensor::zeros(DType::F32, {2}));
       },
       {"unexpected tensor 'model.layers.0.self_attn.extra.weight'",
        "not a parameter of a llama model with 2 layers"}},
      {"layer out of range",
       "tiny-llama",
       [](std::vector<NamedTensor> &t, std::string &) {
         t.emplace_back("model.layers.5.mlp.up_proj.weight",
                        Tensor::zeros(DType::F32, {128, 64}));
       },
       {"unexpected tensor 'model.layers.5.mlp.up_proj.weight'",
        "layer 5 does not exist (the config has 2 layers)"}},
      {"missing tensor",
       "tiny-llama",
       [](std::vector<NamedTensor> &t, std::string &) {
         eraseTensor(t, "model.layers.1.mlp.up_proj.weight");
       },
       {"tensor 'model.layers.1.mlp.up_proj.weight' (shape [128, 64], for "
        "'layers.1.mlp.up.weight') is missing"}},
      {"untied model without lm_head",
       "tiny-llama",
       [](std::vector<NamedTensor> &t, std::string &) {
         eraseTensor(t, "lm_head.weight");
       },
       {"tensor 'lm_head.weight' (shape [256, 64], for 'head.weight') is "
        "missing"}},
      {"wrong shape",
       "tiny-llama",
       [](std::vector<NamedTensor> &t, std::string &) {
         *findTensor(t, "model.layers.0.mlp.up_proj.weight") =
             Tensor::zeros(DType::F32, {64, 64});
       },
       {"tensor 'model.layers.0.mlp.up_proj.weight'",
        "has shape [64, 64], but the config needs [128, 64]"}},
      {"integer dtype",
       "tiny-llama",
       [](std::vector<NamedTensor> &t, std::string &) {
         *findTensor(t, "model.norm.weight") = Tensor::zeros(DType::I32, {64});
       },
       {"tensor 'model.norm.weight'",
        "has dtype I32; expected a floating-point dtype"}},
      {"config with more layers",
       "tiny-llama",
       [](std::vector<NamedTensor> &, std::string &config) {
         size_t at = config.find("\"num_hidden_layers\": 2");
         config.replace(at, 22, "\"num_hidden_layers\": 3");
       },
       {"tensor 'model.layers.2.self_attn.q_proj.weight'", "is missing"}},
      {"gpt2 c_attn with the wrong width",
       "tiny-gpt2",
       [](std::vector<NamedTensor> &t, std::string &) {
         *findTensor(t, "transformer.h.1.attn.c_attn.weight") =
             Tensor::zeros(DType::F32, {192, 64});
       },
       {"tensor 'transformer.h.1.attn.c_attn.weight'",
        "has shape [192, 64], but the config needs [64, 192]"}},
      {"gpt2 name given twice",
       "tiny-gpt2",
       [](std::vector<NamedTensor> &t, std::string &) {
         t.emplace_back("wte.weight", *findTensor(t, "transformer.wte.weight"));
       },
       {"holds both 'transformer.wte.weight' and 'wte.weight'"}},
      {"qwen2 missing a bias",
       "tiny-qwen2",
       [](std::vector<NamedTensor> &t, std::string &) {
         eraseTensor(t, "model.layers.0.self_attn.v_proj.bias");
       },
       {"tensor 'model.layers.0.self_attn.v_proj.bias' (shape [32], for "
        "'layers.0.attn.v.bias') is missing"}},
  };
  for (const Case &c : cases) {
    auto dir = variant(c.fixtureName, c.edit);
    std::string message = errorOf(loadHFModelFolder(dir->path));
    EXPECT_NE(message.find("'" + std::string(dir->path) + "'"),
              std::string::npos)
        << c.what << ": " << message;
    for (const std::string &part : c.expected)
      EXPECT_NE(message.find(part), std::string::npos)
          << c.what << ": " << message;
  }
  TempDir empty;
  EXPECT_NE(errorOf(loadHFModelFolder(empty.path)).find("no config.json in"),
            std::string::npos);
  EXPECT_NE(errorOf(loadHFModelFolder("/nonexistent/m"))
                .find("model folder '/nonexistent/m' does not exist"),
            std::string::npos);
  // A broken config.json is reported with its path.
  writeBytes(empty.file("config.json"), R"({"model_type": "t5"})");
  std::string message = errorOf(loadHFModelFolder(empty.path));
  EXPECT_NE(
      message.find("unknown architecture 't5' in " + empty.file("config.json")),
      std::string::npos)
      << message;
}

TEST(ModelIO, SaveReplacesFoldersAtomically) {
  LoadedModel model = mustLoad(fixture("tiny-llama"));
  TempDir dir;
  std::string out = dir.file("nested/out");
  ASSERT_FALSE(bool(saveHFModelFolder(out, model.config, model.weights)));
  writeBytes(out + "/marker.txt", "old");

  // A failure before the move leaves the old folder as it was and no
  // temporary folder behind.
  llvm::Error err = saveHFModelFolder(
      out, model.config, model.weights, DType::F32, 0,
      [](llvm::StringRef tmp) -> llvm::Error {
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "tokenizer copy failed");
      });
  EXPECT_EQ(errorOf(std::move(err)), "tokenizer copy failed");
  EXPECT_EQ(readBytes(out + "/marker.txt"), "old");
  EXPECT_EQ(listDir(dir.file("nested")), std::vector<std::string>{"out"});

  // Invalid weights fail before anything is written.
  ModelWeights broken;
  for (const auto &[name, t] : model.weights)
    if (name != "layers.1.mlp.up.weight")
      broken.set(name, t);
  EXPECT_NE(errorOf(saveHFModelFolder(out, model.config, broken))
                .find("the model has no parameter 'layers.1.mlp.up.weight' "
                      "(expected shape [128, 64])"),
            std::string::npos);
  ModelWeights misshapen = model.weights;
  misshapen.set("layers.0.attn.k.weight", Tensor::zeros(DType::F32, {64, 64}));
  EXPECT_NE(errorOf(saveHFModelFolder(out, model.config, misshapen))
                .find("parameter 'layers.0.attn.k.weight' has shape [64, 64], "
                      "expected [32, 64]"),
            std::string::npos);
  ModelWeights extra = model.weights;
  extra.set("layers.0.attn.lora_a", Tensor::zeros(DType::F32, {2}));
  EXPECT_NE(errorOf(saveHFModelFolder(out, model.config, extra))
                .find("'layers.0.attn.lora_a' is not a parameter"),
            std::string::npos);
  EXPECT_EQ(readBytes(out + "/marker.txt"), "old");

  // A successful save replaces the whole folder, extra files included.
  ASSERT_FALSE(bool(
      saveHFModelFolder(out, model.config, model.weights, DType::F32, 0,
                        [](llvm::StringRef tmp) -> llvm::Error {
                          writeBytes((tmp + "/tokenizer.json").str(), "{}");
                          return llvm::Error::success();
                        })));
  EXPECT_EQ(listDir(out),
            (std::vector<std::string>{"config.json", "model.safetensors",
                                      "tokenizer.json"}));
  EXPECT_EQ(listDir(dir.file("nested")), std::vector<std::string>{"out"});
  EXPECT_TRUE(mustLoad(out).weights.bitwiseEqual(model.weights));

  // A trailing separator names the same folder.
  ASSERT_FALSE(bool(saveHFModelFolder(out + "/", model.config, model.weights)));
  EXPECT_EQ(listDir(dir.file("nested")), std::vector<std::string>{"out"});
  EXPECT_EQ(listDir(out),
            (std::vector<std::string>{"config.json", "model.safetensors"}));
}
