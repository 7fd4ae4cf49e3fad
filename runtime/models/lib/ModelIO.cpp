//===- ModelIO.cpp - Hugging Face model folders ---------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/ModelIO.h"
#include "ftl/Runtime/FileUtil.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace ftl::rt;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// How one HF tensor becomes canonical parameters.
enum class Conv {
  Copy,      ///< same layout
  Transpose, ///< GPT-2 Conv1D weight [in, out] <-> Linear [out, in]
  QKVWeight, ///< GPT-2 c_attn.weight [dim, 3*dim] <-> q, k, v [dim, dim]
  QKVBias,   ///< GPT-2 c_attn.bias [3*dim] <-> q, k, v biases [dim]
};

struct HFSpec {
  std::string hfName;
  Shape hfShape;
  Conv conv;
  /// One canonical name, or three (q, k, v) for the fused kinds.
  llvm::SmallVector<std::string, 3> canonical;
};
} // namespace

/// The HF tensors of a model with this config, in transformers' state_dict
/// order (lm_head of tied models left out, as save_pretrained does).
static std::vector<HFSpec> hfSpecs(const ModelConfig &c) {
  std::vector<HFSpec> out;
  auto add = [&](std::string hf, Shape shape, Conv conv,
                 llvm::SmallVector<std::string, 3> canonical) {
    out.push_back(
        {std::move(hf), std::move(shape), conv, std::move(canonical)});
  };
  int64_t qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim;
  if (!c.isGPT2()) {
    add("model.embed_tokens.weight", {c.vocab, c.dim}, Conv::Copy,
        {"embed.weight"});
    for (int64_t i = 0; i < c.layers; ++i) {
      std::string hf = "model.layers." + std::to_string(i) + ".";
      std::string ca = "layers." + std::to_string(i) + ".";
      auto linear = [&](const std::string &hfModule,
                        const std::string &caModule, int64_t outDim,
                        int64_t inDim, bool bias) {
        add(hf + hfModule + ".weight", {outDim, inDim}, Conv::Copy,
            {ca + caModule + ".weight"});
        if (bias)
          add(hf + hfModule + ".bias", {outDim}, Conv::Copy,
              {ca + caModule + ".bias"});
      };
      linear("self_attn.q_proj", "attn.q", qDim, c.dim, c.qkvBias);
      linear("self_attn.k_proj", "attn.k", kvDim, c.dim, c.qkvBias);
      linear("self_attn.v_proj", "attn.v", kvDim, c.dim, c.qkvBias);
      linear("self_attn.o_proj", "attn.o", c.dim, qDim, c.oBias);
      linear("mlp.gate_proj", "mlp.gate", c.ffn, c.dim, c.mlpBias);
      linear("mlp.up_proj", "mlp.up", c.ffn, c.dim, c.mlpBias);
      linear("mlp.down_proj", "mlp.down", c.dim, c.ffn, c.mlpBias);
      add(hf + "input_layernorm.weight", {c.dim}, Conv::Copy,
          {ca + "attn_norm.weight"});
      add(hf + "post_attention_layernorm.weight", {c.dim}, Conv::Copy,
          {ca + "mlp_norm.weight"});
    }
    add("model.norm.weight", {c.dim}, Conv::Copy, {"final_norm.weight"});
    if (!c.tiedEmbeddings)
      add("lm_head.weight", {c.vocab, c.dim}, Conv::Copy, {"head.weight"});
    return out;
  }
  add("transformer.wte.weight", {c.vocab, c.dim}, Conv::Copy, {"embed.weight"});
  add("transformer.wpe.weight", {c.ctx, c.dim}, Conv::Copy,
      {"pos_embed.weight"});
  for (int64_t i = 0; i < c.layers; ++i) {
    std::string hf = "transformer.h." + std::to_string(i) + ".";
    std::string ca = "layers." + std::to_string(i) + ".";
    auto norm = [&](const std::string &hfModule, const std::string &caModule) {
      add(hf + hfModule + ".weight", {c.dim}, Conv::Copy,
          {ca + caModule + ".weight"});
      add(hf + hfModule + ".bias", {c.dim}, Conv::Copy,
          {ca + caModule + ".bias"});
    };
    auto conv1d = [&](const std::string &hfModule, const std::string &caModule,
                      int64_t outDim, int64_t inDim) {
      add(hf + hfModule + ".weight", {inDim, outDim}, Conv::Transpose,
          {ca + caModule + ".weight"});
      add(hf + hfModule + ".bias", {outDim}, Conv::Copy,
          {ca + caModule + ".bias"});
    };
    norm("ln_1", "attn_norm");
    add(hf + "attn.c_attn.weight", {c.dim, 3 * c.dim}, Conv::QKVWeight,
        {ca + "attn.q.weight", ca + "attn.k.weight", ca + "attn.v.weight"});
    add(hf + "attn.c_attn.bias", {3 * c.dim}, Conv::QKVBias,
        {ca + "attn.q.bias", ca + "attn.k.bias", ca + "attn.v.bias"});
    conv1d("attn.c_proj", "attn.o", c.dim, c.dim);
    norm("ln_2", "mlp_norm");
    conv1d("mlp.c_fc", "mlp.up", c.ffn, c.dim);
    conv1d("mlp.c_proj", "mlp.down", c.dim, c.ffn);
  }
  add("transformer.ln_f.weight", {c.dim}, Conv::Copy, {"final_norm.weight"});
  add("transformer.ln_f.bias", {c.dim}, Conv::Copy, {"final_norm.bias"});
  return out;
}

/// [rows, cols] -> [cols, rows] of an F32 tensor.
static Tensor transpose2d(const Tensor &in) {
  int64_t rows = in.dim(0), cols = in.dim(1);
  Tensor out = Tensor::zeros(DType::F32, {cols, rows});
  const float *src = in.dataAs<float>();
  float *dst = out.dataAs<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      dst[c * rows + r] = src[r * cols + c];
  return out;
}

/// Columns [begin, begin + width) of an F32 [rows, cols] tensor, transposed:
/// the result is [width, rows].
static Tensor columnsTransposed(const Tensor &in, int64_t begin,
                                int64_t width) {
  int64_t rows = in.dim(0), cols = in.dim(1);
  Tensor out = Tensor::zeros(DType::F32, {width, rows});
  const float *src = in.dataAs<float>();
  float *dst = out.dataAs<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < width; ++c)
      dst[c * rows + r] = src[r * cols + begin + c];
  return out;
}

static Tensor slice1d(const Tensor &in, int64_t begin, int64_t width) {
  Tensor out = Tensor::zeros(DType::F32, {width});
  std::memcpy(out.mutableData(), in.dataAs<float>() + begin,
              static_cast<size_t>(width) * sizeof(float));
  return out;
}

/// A short description of the model for "not a parameter of ..." messages.
static std::string describeModel(const ModelConfig &c) {
  return c.hfModelType + " model with " + std::to_string(c.layers) + " layers";
}

/// Accepts GPT-2 checkpoints saved from GPT2Model (no "transformer." prefix).
static std::string normalizeName(const ModelConfig &c, llvm::StringRef name) {
  if (c.isGPT2() && !name.starts_with("transformer.") &&
      name != "lm_head.weight")
    return ("transformer." + name).str();
  return name.str();
}

/// GPT-2's causal-mask buffers, which some checkpoints carry.
static bool isGPT2Buffer(llvm::StringRef name) {
  if (!name.consume_front("transformer.h."))
    return false;
  llvm::StringRef index;
  std::tie(index, name) = name.split('.');
  return !index.empty() &&
         llvm::all_of(index, [](char ch) { return llvm::isDigit(ch); }) &&
         (name == "attn.bias" || name == "attn.masked_bias");
}

llvm::Expected<ModelWeights>
ftl::rt::importHFTensors(const ModelConfig &config,
                         llvm::ArrayRef<NamedTensor> tensors,
                         llvm::StringRef source) {
  std::vector<HFSpec> specs = hfSpecs(config);
  llvm::StringMap<size_t> specIndex;
  for (size_t i = 0; i < specs.size(); ++i)
    specIndex[specs[i].hfName] = i;
  std::vector<bool> found(specs.size(), false);
  llvm::StringMap<std::string> seen; // normalized -> name as stored
  ModelWeights unordered;
  Tensor tiedHead;
  std::string tiedHeadName;

  for (const auto &[storedName, stored] : tensors) {
    std::string name = normalizeName(config, storedName);
    auto [it, inserted] = seen.try_emplace(name, storedName);
    if (!inserted)
      return makeError("'" + source + "' holds both '" + it->second +
                       "' and '" + storedName +
                       "', which name the same parameter");
    if (config.isGPT2() && isGPT2Buffer(name))
      continue;
    bool isTiedHead = config.tiedEmbeddings && name == "lm_head.weight";
    auto specIt = specIndex.find(name);
    if (!isTiedHead && specIt == specIndex.end()) {
      std::string hint;
      llvm::StringRef rest = name;
      if (rest.consume_front("model.layers.") ||
          rest.consume_front("transformer.h.")) {
        int64_t layer = -1;
        if (!rest.split('.').first.getAsInteger(10, layer) &&
            layer >= config.layers)
          hint = "; layer " + std::to_string(layer) +
                 " does not exist (the config has " +
                 std::to_string(config.layers) + " layers)";
      }
      return makeError("unexpected tensor '" + storedName + "' in '" + source +
                       "': it is not a parameter of a " +
                       describeModel(config) + hint);
    }
    Shape want = isTiedHead ? Shape{config.vocab, config.dim}
                            : specs[specIt->second].hfShape;
    if (!isFloatingPoint(stored.dtype()))
      return makeError("tensor '" + storedName + "' in '" + source +
                       "' has dtype " + dtypeName(stored.dtype()) +
                       "; expected a floating-point dtype (F32, F16, BF16 or "
                       "F64)");
    if (stored.shape() != llvm::ArrayRef<int64_t>(want))
      return makeError("tensor '" + storedName + "' in '" + source +
                       "' has shape " + formatShape(stored.shape()) +
                       ", but the config needs " + formatShape(want));
    Tensor f32 = stored.to(DType::F32);
    if (isTiedHead) {
      tiedHead = std::move(f32);
      tiedHeadName = storedName;
      continue;
    }
    const HFSpec &spec = specs[specIt->second];
    found[specIt->second] = true;
    switch (spec.conv) {
    case Conv::Copy:
      unordered.set(spec.canonical[0], std::move(f32));
      break;
    case Conv::Transpose:
      unordered.set(spec.canonical[0], transpose2d(f32));
      break;
    case Conv::QKVWeight:
      for (int part = 0; part < 3; ++part)
        unordered.set(spec.canonical[part],
                      columnsTransposed(f32, part * config.dim, config.dim));
      break;
    case Conv::QKVBias:
      for (int part = 0; part < 3; ++part)
        unordered.set(spec.canonical[part],
                      slice1d(f32, part * config.dim, config.dim));
      break;
    }
  }
  for (size_t i = 0; i < specs.size(); ++i)
    if (!found[i]) {
      std::string canonical = specs[i].canonical[0];
      for (size_t k = 1; k < specs[i].canonical.size(); ++k)
        canonical += "', '" + specs[i].canonical[k];
      return makeError("tensor '" + specs[i].hfName + "' (shape " +
                       formatShape(specs[i].hfShape) + ", for '" + canonical +
                       "') is missing from '" + source + "'");
    }
  if (tiedHead.valid()) {
    const Tensor *embed = unordered.find("embed.weight");
    if (!embed || !tiedHead.bitwiseEqual(*embed))
      return makeError("'" + tiedHeadName + "' in '" + source +
                       "' differs from the token embedding, but the config "
                       "ties them (tie_word_embeddings); expected equal "
                       "tensors or no '" +
                       tiedHeadName + "'");
  }
  ModelWeights weights;
  for (const ParamSpec &spec : canonicalParams(config))
    weights.set(spec.name, *unordered.find(spec.name));
  return weights;
}

llvm::Expected<std::vector<NamedTensor>>
ftl::rt::exportHFTensors(const ModelConfig &config, const ModelWeights &weights,
                         DType storeAs) {
  if (!isFloatingPoint(storeAs))
    return makeError("cannot store model weights as " + dtypeName(storeAs) +
                     "; expected F32, F16, BF16 or F64");
  if (llvm::Error err = checkModelWeights(config, weights))
    return std::move(err);
  std::vector<NamedTensor> out;
  for (const HFSpec &spec : hfSpecs(config)) {
    const Tensor &first = *weights.find(spec.canonical[0]);
    Tensor hf;
    switch (spec.conv) {
    case Conv::Copy:
      hf = first;
      break;
    case Conv::Transpose:
      hf = transpose2d(first);
      break;
    case Conv::QKVWeight: {
      // c_attn.weight[i, part * dim + j] = part's weight[j, i].
      int64_t dim = config.dim;
      hf = Tensor::zeros(DType::F32, spec.hfShape);
      float *dst = hf.dataAs<float>();
      for (int part = 0; part < 3; ++part) {
        const float *src = weights.find(spec.canonical[part])->dataAs<float>();
        for (int64_t j = 0; j < dim; ++j)
          for (int64_t i = 0; i < dim; ++i)
            dst[i * 3 * dim + part * dim + j] = src[j * dim + i];
      }
      break;
    }
    case Conv::QKVBias: {
      int64_t dim = config.dim;
      hf = Tensor::zeros(DType::F32, spec.hfShape);
      for (int part = 0; part < 3; ++part)
        std::memcpy(hf.dataAs<float>() + part * dim,
                    weights.find(spec.canonical[part])->dataAs<float>(),
                    static_cast<size_t>(dim) * sizeof(float));
      break;
    }
    }
    out.emplace_back(spec.hfName, storeAs == DType::F32 ? hf : hf.to(storeAs));
  }
  return out;
}

static std::string joinPath(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

llvm::Expected<LoadedModel> ftl::rt::loadHFModelFolder(llvm::StringRef dir) {
  if (!llvm::sys::fs::is_directory(dir))
    return makeError("model folder '" + dir +
                     "' does not exist or is not a folder");
  std::string configPath = joinPath(dir, "config.json");
  if (!llvm::sys::fs::exists(configPath))
    return makeError("no config.json in model folder '" + dir + "'");
  auto config = loadHFConfig(configPath);
  if (!config)
    return config.takeError();
  auto tensors = loadSafeTensorsFolder(dir);
  if (!tensors)
    return tensors.takeError();
  auto weights = importHFTensors(*config, *tensors, dir);
  if (!weights)
    return weights.takeError();
  return LoadedModel{std::move(*config), std::move(*weights)};
}

static const char *torchDtypeName(DType type) {
  switch (type) {
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  case DType::F64:
    return "float64";
  default:
    return "float32";
  }
}

llvm::Error ftl::rt::saveHFModelFolder(
    llvm::StringRef dir, const ModelConfig &config, const ModelWeights &weights,
    DType storeAs, size_t maxShardBytes,
    llvm::function_ref<llvm::Error(llvm::StringRef)> addFiles) {
  if (llvm::Error err = validateModelConfig(config, "the model config"))
    return err;
  auto tensors = exportHFTensors(config, weights, storeAs);
  if (!tensors)
    return tensors.takeError();
  llvm::SmallString<256> absolute(dir);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  while (absolute.size() > 1 && llvm::sys::path::is_separator(absolute.back()))
    absolute.pop_back();
  llvm::StringRef parent = llvm::sys::path::parent_path(absolute);
  if (std::error_code ec = llvm::sys::fs::create_directories(parent))
    return makeError("cannot create folder '" + parent + "': " + ec.message());
  auto tmp = createSiblingTempDir(absolute);
  if (!tmp)
    return tmp.takeError();
  ModelConfig stored = config;
  stored.torchDtype = torchDtypeName(storeAs);
  llvm::Error err = writeFileAtomically(joinPath(*tmp, "config.json"),
                                        toHFConfigJson(stored));
  if (!err)
    err = writeSafeTensorsFolder(*tmp, *tensors, maxShardBytes,
                                 {{"format", "pt"}});
  if (!err && addFiles)
    err = addFiles(*tmp);
  if (!err)
    err = replaceDirectory(*tmp, absolute);
  if (err) {
    llvm::consumeError(removeDirectoryTree(*tmp));
    return err;
  }
  return llvm::Error::success();
}
