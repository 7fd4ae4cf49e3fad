//===- ModelWeights.cpp - The canonical parameter tree --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/ModelWeights.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cstring>

using namespace ftl::rt;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::vector<ParamSpec> ftl::rt::canonicalParams(const ModelConfig &c) {
  std::vector<ParamSpec> out;
  auto add = [&](std::string name, Shape shape) {
    out.push_back({std::move(name), std::move(shape)});
  };
  auto norm = [&](const std::string &prefix) {
    add(prefix + ".weight", {c.dim});
    if (c.normHasBias())
      add(prefix + ".bias", {c.dim});
  };
  auto linear = [&](const std::string &prefix, int64_t outDim, int64_t inDim,
                    bool bias) {
    add(prefix + ".weight", {outDim, inDim});
    if (bias)
      add(prefix + ".bias", {outDim});
  };
  add("embed.weight", {c.vocab, c.dim});
  if (c.hasPositionEmbedding())
    add("pos_embed.weight", {c.ctx, c.dim});
  int64_t qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim;
  for (int64_t i = 0; i < c.layers; ++i) {
    std::string layer = "layers." + std::to_string(i) + ".";
    norm(layer + "attn_norm");
    linear(layer + "attn.q", qDim, c.dim, c.qkvBias);
    linear(layer + "attn.k", kvDim, c.dim, c.qkvBias);
    linear(layer + "attn.v", kvDim, c.dim, c.qkvBias);
    linear(layer + "attn.o", c.dim, qDim, c.oBias);
    norm(layer + "mlp_norm");
    if (c.hasGate())
      linear(layer + "mlp.gate", c.ffn, c.dim, c.mlpBias);
    linear(layer + "mlp.up", c.ffn, c.dim, c.mlpBias);
    linear(layer + "mlp.down", c.dim, c.ffn, c.mlpBias);
  }
  norm("final_norm");
  if (!c.tiedEmbeddings)
    add("head.weight", {c.vocab, c.dim});
  return out;
}

std::optional<std::string> ftl::rt::hfTensorName(const ModelConfig &c,
                                                 llvm::StringRef name) {
  bool known = false;
  for (const ParamSpec &spec : canonicalParams(c))
    known |= spec.name == name;
  if (!known)
    return std::nullopt;
  llvm::StringRef rest = name;
  llvm::StringRef suffix = rest.substr(rest.rfind('.')); // ".weight"/".bias"
  rest = rest.drop_back(suffix.size());
  if (!c.isGPT2()) {
    if (rest == "embed")
      return "model.embed_tokens" + suffix.str();
    if (rest == "final_norm")
      return "model.norm" + suffix.str();
    if (rest == "head")
      return "lm_head" + suffix.str();
    llvm::StringRef index, module;
    std::tie(index, module) = rest.drop_front(strlen("layers.")).split('.');
    std::string prefix = ("model.layers." + index + ".").str();
    if (module == "attn_norm")
      return prefix + "input_layernorm" + suffix.str();
    if (module == "mlp_norm")
      return prefix + "post_attention_layernorm" + suffix.str();
    if (module.consume_front("attn."))
      return prefix + "self_attn." + module.str() + "_proj" + suffix.str();
    if (module.consume_front("mlp."))
      return prefix + "mlp." + module.str() + "_proj" + suffix.str();
    return std::nullopt;
  }
  if (rest == "embed")
    return "transformer.wte" + suffix.str();
  if (rest == "pos_embed")
    return "transformer.wpe" + suffix.str();
  if (rest == "final_norm")
    return "transformer.ln_f" + suffix.str();
  llvm::StringRef index, module;
  std::tie(index, module) = rest.drop_front(strlen("layers.")).split('.');
  std::string prefix = ("transformer.h." + index + ".").str();
  if (module == "attn_norm")
    return prefix + "ln_1" + suffix.str();
  if (module == "mlp_norm")
    return prefix + "ln_2" + suffix.str();
  if (module == "attn.o")
    return prefix + "attn.c_proj" + suffix.str();
  if (module == "mlp.up")
    return prefix + "mlp.c_fc" + suffix.str();
  if (module == "mlp.down")
    return prefix + "mlp.c_proj" + suffix.str();
  return std::nullopt; // q, k, v live fused in attn.c_attn
}

void ModelWeights::set(llvm::StringRef name, Tensor tensor) {
  auto it = index.find(name);
  if (it != index.end()) {
    entries[it->second].second = std::move(tensor);
    return;
  }
  index[name] = entries.size();
  entries.emplace_back(name.str(), std::move(tensor));
}

const Tensor *ModelWeights::find(llvm::StringRef name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &entries[it->second].second;
}

Tensor *ModelWeights::find(llvm::StringRef name) {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &entries[it->second].second;
}

bool ModelWeights::bitwiseEqual(const ModelWeights &other) const {
  if (size() != other.size())
    return false;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].first != other.entries[i].first ||
        !entries[i].second.bitwiseEqual(other.entries[i].second))
      return false;
  return true;
}

llvm::Error ftl::rt::checkModelWeights(const ModelConfig &config,
                                       const ModelWeights &weights) {
  llvm::StringSet<> expected;
  for (const ParamSpec &spec : canonicalParams(config)) {
    expected.insert(spec.name);
    const Tensor *t = weights.find(spec.name);
    if (!t || !t->valid())
      return makeError("the model has no parameter '" + spec.name +
                       "' (expected shape " + formatShape(spec.shape) + ")");
    if (t->shape() != llvm::ArrayRef<int64_t>(spec.shape))
      return makeError("parameter '" + spec.name + "' has shape " +
                       formatShape(t->shape()) + ", expected " +
                       formatShape(spec.shape));
    if (t->dtype() != DType::F32)
      return makeError("parameter '" + spec.name + "' has dtype " +
                       dtypeName(t->dtype()) + ", expected F32");
  }
  for (const auto &[name, tensor] : weights)
    if (!expected.count(name))
      return makeError("'" + name + "' is not a parameter of a " +
                       config.hfModelType + " model with " +
                       llvm::Twine(config.layers) + " layers");
  return llvm::Error::success();
}
