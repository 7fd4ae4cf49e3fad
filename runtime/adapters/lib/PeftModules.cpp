//===- PeftModules.cpp - transformers module paths and PEFT matching -----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "PeftModules.h"

#include "ftl/Models/ModelConfig.h"
#include "ftl/Models/ModelWeights.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <re2/re2.h>

#include <numeric>

using namespace ftl::rt;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

int64_t PeftModule::out() const {
  return std::accumulate(partRows.begin(), partRows.end(), int64_t(0));
}

int64_t PeftModule::rowOffset(size_t i) const {
  return std::accumulate(partRows.begin(), partRows.begin() + i, int64_t(0));
}

std::vector<PeftModule> ftl::rt::peftModules(const ModelConfig &c) {
  llvm::StringMap<Shape> shapes;
  for (const ParamSpec &spec : canonicalParams(c))
    shapes[spec.name] = spec.shape;
  std::vector<PeftModule> mods;
  auto other = [&](std::string path, const char *kind) {
    PeftModule m;
    m.path = std::move(path);
    m.kind = kind;
    mods.push_back(std::move(m));
  };
  auto linear = [&](std::string path,
                    std::initializer_list<std::string> parts) {
    PeftModule m;
    m.path = std::move(path);
    for (const std::string &p : parts) {
      const Shape &shape = shapes.find(p)->second;
      m.parts.push_back(p);
      m.partRows.push_back(shape[0]);
      m.in = shape[1];
    }
    mods.push_back(std::move(m));
  };
  if (!c.isGPT2()) {
    other("model", "the decoder stack");
    other("model.embed_tokens", "an embedding");
    other("model.layers", "the list of layers");
    for (int64_t i = 0; i < c.layers; ++i) {
      std::string L = "layers." + std::to_string(i) + ".";
      std::string P = "model.layers." + std::to_string(i);
      other(P, "a decoder layer");
      other(P + ".self_attn", "an attention block");
      for (const char *x : {"q", "k", "v", "o"})
        linear(P + ".self_attn." + x + "_proj", {L + "attn." + x + ".weight"});
      other(P + ".self_attn.rotary_emb", "a rotary embedding");
      other(P + ".mlp", "an MLP block");
      for (const char *x : {"gate", "up", "down"})
        linear(P + ".mlp." + x + "_proj", {L + "mlp." + x + ".weight"});
      other(P + ".mlp.act_fn", "an activation");
      other(P + ".input_layernorm", "a norm");
      other(P + ".post_attention_layernorm", "a norm");
    }
    other("model.norm", "a norm");
    other("model.rotary_emb", "a rotary embedding");
  } else {
    other("transformer", "the decoder stack");
    other("transformer.wte", "an embedding");
    other("transformer.wpe", "an embedding");
    other("transformer.drop", "a dropout");
    other("transformer.h", "the list of layers");
    for (int64_t i = 0; i < c.layers; ++i) {
      std::string L = "layers." + std::to_string(i) + ".";
      std::string P = "transformer.h." + std::to_string(i);
      other(P, "a decoder layer");
      other(P + ".ln_1", "a norm");
      other(P + ".attn", "an attention block");
      linear(P + ".attn.c_attn",
             {L + "attn.q.weight", L + "attn.k.weight", L + "attn.v.weight"});
      linear(P + ".attn.c_proj", {L + "attn.o.weight"});
      other(P + ".attn.attn_dropout", "a dropout");
      other(P + ".attn.resid_dropout", "a dropout");
      other(P + ".ln_2", "a norm");
      other(P + ".mlp", "an MLP block");
      linear(P + ".mlp.c_fc", {L + "mlp.up.weight"});
      linear(P + ".mlp.c_proj", {L + "mlp.down.weight"});
      other(P + ".mlp.act", "an activation");
      other(P + ".mlp.dropout", "a dropout");
    }
    other("transformer.ln_f", "a norm");
  }
  if (c.tiedEmbeddings)
    other("lm_head", "the output layer, whose weight is the tied embedding");
  else
    linear("lm_head", {"head.weight"});
  return mods;
}

//===----------------------------------------------------------------------===//
// Target modules
//===----------------------------------------------------------------------===//

static llvm::Expected<std::shared_ptr<re2::RE2>>
compile(const std::string &pattern, const llvm::Twine &what,
        llvm::StringRef where) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<re2::RE2>(pattern, options);
  if (!re->ok())
    return makeError(where + ": " + what +
                     " is not a regular expression ftl "
                     "can use (" +
                     re->error() + ")");
  return re;
}

bool PeftTargetMatcher::namesModule(llvm::StringRef name,
                                    llvm::StringRef path) {
  return path == name || (path.size() > name.size() && path.ends_with(name) &&
                          path[path.size() - name.size() - 1] == '.');
}

llvm::Expected<PeftTargetMatcher>
PeftTargetMatcher::create(const PeftTargets &targets, llvm::StringRef where) {
  PeftTargetMatcher m;
  m.targets = targets;
  if (targets.regex &&
      llvm::StringRef(*targets.regex).lower() != "all-linear") {
    auto re = compile(*targets.regex, "target_modules '" + *targets.regex + "'",
                      where);
    if (!re)
      return re.takeError();
    m.regex = std::move(*re);
  }
  // PEFT: re.match(r".*\.[^.]*\.(\d+)\.", key), or with each layers_pattern
  // p, re.match(rf".*\.{p}\.(\d+)\.", key).
  if (targets.layersPattern.empty()) {
    auto re = compile(R"(.*\.[^.]*\.(\d+)\.)", "the layer pattern", where);
    if (!re)
      return re.takeError();
    m.layerRegexes.push_back(std::move(*re));
  }
  for (const std::string &p : targets.layersPattern) {
    auto re = compile(".*\\." + p + "\\.(\\d+)\\.",
                      "layers_pattern '" + p + "'", where);
    if (!re)
      return re.takeError();
    m.layerRegexes.push_back(std::move(*re));
  }
  return m;
}

bool PeftTargetMatcher::matches(const PeftModule &module) const {
  const std::string &path = module.path;
  if (targets.regex) {
    if (!regex) // all-linear: every linear layer but the output layer
      return module.isLinear() && path != "lm_head";
    return re2::RE2::FullMatch(path, *regex);
  }
  for (const std::string &name : targets.names)
    if (path == name)
      return true; // exact names skip the layer filter
  bool found = false;
  for (const std::string &name : targets.names)
    found |= namesModule(name, path);
  if (!found || targets.layers.empty())
    return found;
  for (const auto &re : layerRegexes) {
    re2::StringPiece groups[2];
    if (!re->Match(path, 0, path.size(), re2::RE2::ANCHOR_START, groups, 2))
      continue;
    int64_t layer = 0;
    if (!llvm::to_integer(llvm::StringRef(groups[1].data(), groups[1].size()),
                          layer, 10))
      return false;
    return llvm::is_contained(targets.layers, layer);
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Ranks and alphas
//===----------------------------------------------------------------------===//

llvm::Expected<PeftRankResolver>
PeftRankResolver::create(const PeftPatterns &patterns, llvm::StringRef where) {
  PeftRankResolver r;
  r.patterns = patterns;
  auto add = [&](const std::string &key, const char *field) -> llvm::Error {
    auto re = compile(".*\\." + key + "$",
                      llvm::Twine(field) + " key '" + key + "'", where);
    if (!re)
      return re.takeError();
    r.keys.emplace_back(key, std::move(*re));
    return llvm::Error::success();
  };
  for (const auto &[key, rank] : patterns.ranks)
    if (llvm::Error err = add(key, "rank_pattern"))
      return std::move(err);
  for (const auto &[key, alpha] : patterns.alphas)
    if (llvm::Error err = add(key, "alpha_pattern"))
      return std::move(err);
  return r;
}

std::pair<int64_t, double>
PeftRankResolver::resolve(llvm::StringRef path) const {
  std::string text = path.str();
  for (const auto &[key, re] : keys) {
    if (!re->Match(text, 0, text.size(), re2::RE2::ANCHOR_START, nullptr, 0))
      continue;
    std::pair<int64_t, double> out{patterns.r, patterns.alpha};
    for (const auto &[k, v] : patterns.ranks)
      if (k == key) {
        out.first = v;
        break;
      }
    for (const auto &[k, v] : patterns.alphas)
      if (k == key) {
        out.second = v;
        break;
      }
    return out;
  }
  return {patterns.r, patterns.alpha};
}
