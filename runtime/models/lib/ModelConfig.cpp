//===- ModelConfig.cpp - Model architecture settings ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/ModelConfig.h"

#include "PythonJson.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>

using namespace ftl::rt;
namespace json = llvm::json;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static const char kSupported[] = "llama, mistral, qwen2, gpt2";

llvm::StringRef ftl::rt::archName(Arch arch) {
  return arch == Arch::GPT2 ? "gpt2" : "llama";
}

static std::string describe(const json::Value &value) {
  switch (value.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return *value.getAsBoolean() ? "true" : "false";
  case json::Value::Number: {
    std::string text;
    llvm::raw_string_ostream(text) << value;
    return text;
  }
  case json::Value::String:
    return "the string \"" + value.getAsString()->str() + "\"";
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  return "a value";
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

llvm::Error ftl::rt::validateModelConfig(const ModelConfig &c,
                                         llvm::StringRef where) {
  struct Size {
    const char *name;
    int64_t value, max;
  } sizes[] = {
      {"vocab", c.vocab, int64_t(1) << 31}, {"dim", c.dim, int64_t(1) << 20},
      {"layers", c.layers, 4096},           {"heads", c.heads, 65536},
      {"kv_heads", c.kvHeads, 65536},       {"head_dim", c.headDim, 65536},
      {"ffn", c.ffn, int64_t(1) << 22},     {"ctx", c.ctx, int64_t(1) << 24},
  };
  for (const Size &s : sizes) {
    if (s.value <= 0)
      return makeError(where + ": " + s.name + " must be positive, found " +
                       llvm::Twine(s.value));
    if (s.value > s.max)
      return makeError(where + ": " + s.name + " = " + llvm::Twine(s.value) +
                       " is absurdly large (at most " + llvm::Twine(s.max) +
                       " is supported)");
  }
  if (c.heads % c.kvHeads != 0)
    return makeError(where + ": kv_heads (" + llvm::Twine(c.kvHeads) +
                     ") must divide heads (" + llvm::Twine(c.heads) + ")");
  if (c.isGPT2() || c.hfModelType == "qwen2") {
    if (c.dim % c.heads != 0)
      return makeError(where + ": heads (" + llvm::Twine(c.heads) +
                       ") must divide dim (" + llvm::Twine(c.dim) + ")");
    if (c.headDim != c.dim / c.heads)
      return makeError(where + ": head_dim must be dim / heads = " +
                       llvm::Twine(c.dim / c.heads) + " for " + c.hfModelType +
                       ", found " + llvm::Twine(c.headDim));
  }
  if (c.isGPT2() && c.kvHeads != c.heads)
    return makeError(where + ": gpt2 has no grouped-query attention; kv_heads "
                             "must equal heads");
  if (!c.isGPT2() && c.headDim % 2 != 0)
    return makeError(where + ": head_dim (" + llvm::Twine(c.headDim) +
                     ") must be even for rotary position embeddings");
  if (!c.isGPT2() && !(c.ropeTheta > 0 && std::isfinite(c.ropeTheta)))
    return makeError(where + ": rope_theta must be a positive number, found " +
                     pythonFloatRepr(c.ropeTheta));
  if (!(c.normEps > 0 && std::isfinite(c.normEps)))
    return makeError(where +
                     ": the norm epsilon must be a positive number, "
                     "found " +
                     pythonFloatRepr(c.normEps));
  if (!(c.initStd >= 0 && std::isfinite(c.initStd)))
    return makeError(where +
                     ": init_std (initializer_range) must be a "
                     "non-negative number, found " +
                     pythonFloatRepr(c.initStd));
  if (c.isGPT2() && !c.tiedEmbeddings)
    return makeError(where + ": gpt2 models always tie the output head to the "
                             "token embedding");
  if (c.isGPT2()) {
    if (c.activation != "gelu_new" && c.activation != "gelu_pytorch_tanh")
      return makeError(where + ": unsupported activation '" + c.activation +
                       "' for gpt2; expected 'gelu_new' or "
                       "'gelu_pytorch_tanh'");
  } else if (c.activation != "silu") {
    return makeError(where + ": unsupported activation '" + c.activation +
                     "' for " + c.hfModelType + "; expected 'silu'");
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// config.json
//===----------------------------------------------------------------------===//

namespace {
/// Typed field access with messages naming the file and the key.
class Fields {
public:
  Fields(const json::Object &object, llvm::StringRef file)
      : object(object), file(file) {}

  /// Missing and null both count as absent.
  const json::Value *find(llvm::StringRef key) const {
    const json::Value *v = object.get(key);
    return v && v->kind() != json::Value::Null ? v : nullptr;
  }

  llvm::Expected<int64_t> integer(llvm::StringRef key,
                                  std::optional<int64_t> fallback) const {
    const json::Value *v = find(key);
    if (!v) {
      if (fallback)
        return *fallback;
      return makeError("'" + file + "' has no '" + key +
                       "'; expected an integer");
    }
    auto i = v->getAsInteger();
    if (!i || v->kind() == json::Value::Boolean)
      return makeError("'" + key + "' in '" + file +
                       "' must be an integer, found " + describe(*v));
    return *i;
  }

  /// Token ids: a missing key takes the model class default, null is unset.
  llvm::Expected<int64_t> tokenId(llvm::StringRef key, int64_t fallback) const {
    const json::Value *v = object.get(key);
    if (v && v->kind() == json::Value::Null)
      return -1;
    return integer(key, fallback);
  }

  llvm::Expected<double> number(llvm::StringRef key, double fallback) const {
    const json::Value *v = find(key);
    if (!v)
      return fallback;
    auto d = v->getAsNumber();
    if (!d)
      return makeError("'" + key + "' in '" + file +
                       "' must be a number, found " + describe(*v));
    return *d;
  }

  llvm::Expected<bool> boolean(llvm::StringRef key, bool fallback) const {
    const json::Value *v = find(key);
    if (!v)
      return fallback;
    auto b = v->getAsBoolean();
    if (!b)
      return makeError("'" + key + "' in '" + file +
                       "' must be true or false, found " + describe(*v));
    return *b;
  }

  llvm::Expected<std::string> string(llvm::StringRef key,
                                     llvm::StringRef fallback) const {
    const json::Value *v = find(key);
    if (!v)
      return fallback.str();
    auto s = v->getAsString();
    if (!s)
      return makeError("'" + key + "' in '" + file +
                       "' must be a string, found " + describe(*v));
    return s->str();
  }

  const json::Object &object;
  llvm::StringRef file;
};
} // namespace

#define FTL_CAT_(a, b) a##b
#define FTL_CAT(a, b) FTL_CAT_(a, b)
/// Assigns the value of an Expected to `lhs`, or returns its error.
#define FTL_TRY(lhs, expr)                                                     \
  auto FTL_CAT(tryValue, __LINE__) = (expr);                                   \
  if (!FTL_CAT(tryValue, __LINE__))                                            \
    return FTL_CAT(tryValue, __LINE__).takeError();                            \
  lhs = *FTL_CAT(tryValue, __LINE__);

/// eos_token_id may be an integer or a list of integers.
static llvm::Error readEos(const Fields &f, ModelConfig &c,
                           std::optional<int64_t> fallback) {
  const json::Value *v = f.object.get("eos_token_id");
  if (!v || v->kind() == json::Value::Null) {
    c.eosId = v ? -1 : fallback.value_or(-1);
    return llvm::Error::success();
  }
  if (const json::Array *list = v->getAsArray()) {
    for (size_t i = 0; i < list->size(); ++i) {
      auto id = (*list)[i].getAsInteger();
      if (!id)
        return makeError("'eos_token_id' in '" + f.file +
                         "' must be an integer or a list of integers, found " +
                         describe((*list)[i]) + " in the list");
      if (i == 0)
        c.eosId = *id;
      else
        c.extraEosIds.push_back(*id);
    }
    return llvm::Error::success();
  }
  auto id = f.integer("eos_token_id", std::nullopt);
  if (!id)
    return makeError("'eos_token_id' in '" + f.file +
                     "' must be an integer or a list of integers, found " +
                     describe(*v));
  c.eosId = *id;
  return llvm::Error::success();
}

static llvm::Error parseLlamaFamily(const Fields &f, ModelConfig &c) {
  llvm::StringRef type = c.hfModelType;
  FTL_TRY(c.vocab, f.integer("vocab_size", std::nullopt));
  FTL_TRY(c.dim, f.integer("hidden_size", std::nullopt));
  FTL_TRY(c.layers, f.integer("num_hidden_layers", std::nullopt));
  FTL_TRY(c.heads, f.integer("num_attention_heads", std::nullopt));
  FTL_TRY(c.ffn, f.integer("intermediate_size", std::nullopt));
  FTL_TRY(c.kvHeads, f.integer("num_key_value_heads", c.heads));
  if (c.heads <= 0)
    return makeError("'" + f.file +
                     "': num_attention_heads must be positive, "
                     "found " +
                     llvm::Twine(c.heads));
  int64_t defaultHeadDim = c.dim / c.heads;
  if (type == "qwen2") {
    // Qwen2 has no head_dim setting; it is always hidden_size / heads.
    c.headDim = defaultHeadDim;
    if (c.dim % c.heads != 0)
      return makeError("'" + f.file + "': num_attention_heads (" +
                       llvm::Twine(c.heads) + ") must divide hidden_size (" +
                       llvm::Twine(c.dim) + ")");
  } else {
    FTL_TRY(c.headDim, f.integer("head_dim", defaultHeadDim));
    if (!f.find("head_dim") && c.dim % c.heads != 0)
      return makeError("'" + f.file + "': num_attention_heads (" +
                       llvm::Twine(c.heads) + ") must divide hidden_size (" +
                       llvm::Twine(c.dim) + ") when there is no 'head_dim'");
  }
  int64_t defaultCtx = type == "llama"     ? 2048
                       : type == "mistral" ? 131072
                                           : 32768;
  FTL_TRY(c.ctx, f.integer("max_position_embeddings", defaultCtx));
  FTL_TRY(c.ropeTheta, f.number("rope_theta", 10000.0));
  FTL_TRY(c.normEps, f.number("rms_norm_eps", 1e-6));
  FTL_TRY(c.initStd, f.number("initializer_range", 0.02));
  FTL_TRY(c.tiedEmbeddings, f.boolean("tie_word_embeddings", false));
  FTL_TRY(c.activation, f.string("hidden_act", "silu"));
  if (type == "llama") {
    bool attentionBias = false;
    FTL_TRY(attentionBias, f.boolean("attention_bias", false));
    c.qkvBias = c.oBias = attentionBias;
    FTL_TRY(c.mlpBias, f.boolean("mlp_bias", false));
  } else if (type == "qwen2") {
    c.qkvBias = true; // Qwen2 always has q/k/v biases and no others.
  }
  std::optional<int64_t> bos, eos;
  if (type != "qwen2")
    bos = 1, eos = 2;
  FTL_TRY(c.bosId, f.tokenId("bos_token_id", bos.value_or(-1)));
  if (llvm::Error err = readEos(f, c, eos))
    return err;
  FTL_TRY(c.padId, f.tokenId("pad_token_id", -1));

  if (const json::Value *scaling = f.find("rope_scaling"))
    return makeError("'" + f.file + "' sets 'rope_scaling' to " +
                     describe(*scaling) +
                     "; ftl supports only plain RoPE (rope_scaling null)");
  if (type == "mistral") {
    // MistralConfig defaults the window to 4096 when the key is missing.
    const json::Value *window = f.object.get("sliding_window");
    std::optional<int64_t> size;
    if (!window)
      size = 4096;
    else if (window->kind() != json::Value::Null) {
      int64_t w = 0;
      FTL_TRY(w, f.integer("sliding_window", std::nullopt));
      size = w;
    }
    if (size && *size < c.ctx)
      return makeError("'" + f.file + "' uses a sliding attention window of " +
                       llvm::Twine(*size) +
                       " tokens (smaller than max_position_embeddings = " +
                       llvm::Twine(c.ctx) +
                       "); ftl does not support sliding-window attention, "
                       "expected 'sliding_window': null");
  }
  if (type == "qwen2") {
    bool sliding = false;
    FTL_TRY(sliding, f.boolean("use_sliding_window", false));
    if (sliding)
      return makeError("'" + f.file +
                       "' sets 'use_sliding_window' to true; ftl does not "
                       "support sliding-window attention");
  }
  return llvm::Error::success();
}

static llvm::Error parseGPT2(const Fields &f, ModelConfig &c) {
  FTL_TRY(c.vocab, f.integer("vocab_size", std::nullopt));
  FTL_TRY(c.dim, f.integer("n_embd", std::nullopt));
  FTL_TRY(c.layers, f.integer("n_layer", std::nullopt));
  FTL_TRY(c.heads, f.integer("n_head", std::nullopt));
  c.kvHeads = c.heads;
  if (c.heads <= 0)
    return makeError("'" + f.file + "': n_head must be positive, found " +
                     llvm::Twine(c.heads));
  if (c.dim % c.heads != 0)
    return makeError("'" + f.file + "': n_head (" + llvm::Twine(c.heads) +
                     ") must divide n_embd (" + llvm::Twine(c.dim) + ")");
  c.headDim = c.dim / c.heads;
  FTL_TRY(c.ffn, f.integer("n_inner", 4 * c.dim));
  FTL_TRY(c.ctx, f.integer("n_positions", 1024));
  FTL_TRY(c.normEps, f.number("layer_norm_epsilon", 1e-5));
  FTL_TRY(c.initStd, f.number("initializer_range", 0.02));
  FTL_TRY(c.tiedEmbeddings, f.boolean("tie_word_embeddings", true));
  FTL_TRY(c.activation, f.string("activation_function", "gelu_new"));
  c.qkvBias = c.oBias = c.mlpBias = true;
  c.ropeTheta = 0;
  FTL_TRY(c.bosId, f.tokenId("bos_token_id", 50256));
  if (llvm::Error err = readEos(f, c, 50256))
    return err;
  FTL_TRY(c.padId, f.tokenId("pad_token_id", -1));
  struct Flag {
    const char *key;
    bool supported;
    bool fallback;
  } flags[] = {{"scale_attn_weights", true, true},
               {"scale_attn_by_inverse_layer_idx", false, false},
               {"reorder_and_upcast_attn", false, false},
               {"add_cross_attention", false, false}};
  for (const Flag &flag : flags) {
    bool value = flag.fallback;
    FTL_TRY(value, f.boolean(flag.key, flag.fallback));
    if (value != flag.supported)
      return makeError("'" + f.file + "' sets '" + flag.key + "' to " +
                       (value ? "true" : "false") + "; ftl supports only " +
                       (flag.supported ? "true" : "false"));
  }
  return llvm::Error::success();
}

llvm::Expected<ModelConfig>
ftl::rt::parseHFConfig(llvm::StringRef jsonText,
                       llvm::StringRef fileNameForErrors) {
  auto parsed = json::parse(jsonText);
  if (!parsed)
    return makeError("'" + fileNameForErrors +
                     "' is not valid JSON: " + toString(parsed.takeError()));
  const json::Object *object = parsed->getAsObject();
  if (!object)
    return makeError("'" + fileNameForErrors +
                     "' must be a JSON object (a model config)");
  Fields f(*object, fileNameForErrors);
  ModelConfig c;
  const json::Value *typeValue = f.find("model_type");
  if (!typeValue)
    return makeError("'" + fileNameForErrors +
                     "' has no 'model_type'; supported: " + kSupported);
  auto type = typeValue->getAsString();
  if (!type)
    return makeError("'model_type' in '" + fileNameForErrors +
                     "' must be a string, found " + describe(*typeValue));
  c.hfModelType = type->str();
  if (*type == "llama" || *type == "mistral" || *type == "qwen2") {
    c.arch = Arch::Llama;
    if (llvm::Error err = parseLlamaFamily(f, c))
      return std::move(err);
  } else if (*type == "gpt2") {
    c.arch = Arch::GPT2;
    if (llvm::Error err = parseGPT2(f, c))
      return std::move(err);
  } else {
    return makeError("unknown architecture '" + *type + "' in " +
                     fileNameForErrors + "; supported: " + kSupported);
  }
  auto dtype = f.string("torch_dtype", "");
  if (!dtype)
    return dtype.takeError();
  c.torchDtype = *dtype;
  if (llvm::Error err =
          validateModelConfig(c, ("'" + fileNameForErrors + "'").str()))
    return std::move(err);
  c.sourceJson = jsonText.str();
  return c;
}

llvm::Expected<ModelConfig> ftl::rt::loadHFConfig(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError("cannot read model config '" + path +
                     "': " + buffer.getError().message());
  return parseHFConfig((*buffer)->getBuffer(), path);
}

std::string ftl::rt::toHFConfigJson(const ModelConfig &c) {
  json::Object out;
  if (!c.sourceJson.empty())
    if (auto parsed = json::parse(c.sourceJson))
      if (json::Object *source = parsed->getAsObject())
        out = std::move(*source);
  auto id = [](int64_t v) -> json::Value {
    return v < 0 ? json::Value(nullptr) : json::Value(v);
  };
  out["model_type"] = c.hfModelType;
  out["vocab_size"] = c.vocab;
  out["initializer_range"] = c.initStd;
  // transformers leaves out values equal to PretrainedConfig's defaults
  // (tie_word_embeddings: true) unless the model class overrides them.
  if (!c.tiedEmbeddings || out.get("tie_word_embeddings") || !c.isGPT2())
    out["tie_word_embeddings"] = c.tiedEmbeddings;
  out["bos_token_id"] = id(c.bosId);
  if (c.extraEosIds.empty()) {
    out["eos_token_id"] = id(c.eosId);
  } else {
    json::Array ids{c.eosId};
    for (int64_t extra : c.extraEosIds)
      ids.push_back(extra);
    out["eos_token_id"] = std::move(ids);
  }
  if (c.padId >= 0)
    out["pad_token_id"] = c.padId;
  else if (out.get("pad_token_id"))
    out["pad_token_id"] = nullptr;
  out["torch_dtype"] = c.torchDtype.empty() ? "float32" : c.torchDtype;

  if (c.isGPT2()) {
    out["architectures"] = json::Array{"GPT2LMHeadModel"};
    out["n_embd"] = c.dim;
    out["n_layer"] = c.layers;
    out["n_head"] = c.heads;
    out["n_positions"] = c.ctx;
    // transformers writes n_inner null for the default 4 * n_embd.
    const json::Value *inner = out.get("n_inner");
    bool explicitInner = inner && inner->getAsInteger();
    if (c.ffn == 4 * c.dim && !explicitInner)
      out["n_inner"] = nullptr;
    else
      out["n_inner"] = c.ffn;
    out["activation_function"] = c.activation;
    out["layer_norm_epsilon"] = c.normEps;
    if (c.sourceJson.empty()) {
      // ftl trains without dropout; say so, so transformers does the same.
      out["resid_pdrop"] = 0.0;
      out["embd_pdrop"] = 0.0;
      out["attn_pdrop"] = 0.0;
    }
  } else {
    const char *archClass = c.hfModelType == "mistral" ? "MistralForCausalLM"
                            : c.hfModelType == "qwen2" ? "Qwen2ForCausalLM"
                                                       : "LlamaForCausalLM";
    out["architectures"] = json::Array{archClass};
    out["hidden_size"] = c.dim;
    out["intermediate_size"] = c.ffn;
    out["num_hidden_layers"] = c.layers;
    out["num_attention_heads"] = c.heads;
    out["num_key_value_heads"] = c.kvHeads;
    out["max_position_embeddings"] = c.ctx;
    out["rope_theta"] = c.ropeTheta;
    out["rms_norm_eps"] = c.normEps;
    out["hidden_act"] = c.activation;
    out["rope_scaling"] = nullptr;
    if (c.hfModelType != "qwen2")
      out["head_dim"] = c.headDim;
    if (c.hfModelType == "llama") {
      out["attention_bias"] = c.qkvBias;
      out["mlp_bias"] = c.mlpBias;
    }
    if (c.hfModelType == "mistral") {
      const json::Value *window = out.get("sliding_window");
      if (!window || !window->getAsInteger())
        out["sliding_window"] = nullptr;
    }
    if (c.hfModelType == "qwen2")
      out["use_sliding_window"] = false;
  }
  return pythonJsonDumps(json::Value(std::move(out))) + "\n";
}

//===----------------------------------------------------------------------===//
// llama(...) / gpt2(...)
//===----------------------------------------------------------------------===//

llvm::Expected<ModelConfig>
ftl::rt::modelConfigFromArgs(llvm::StringRef family,
                             llvm::ArrayRef<ModelArg> args) {
  bool isLlama = family == "llama";
  if (!isLlama && family != "gpt2")
    return makeError("unknown model family '" + family +
                     "'; expected llama(...) or gpt2(...)");
  static const char *llamaArgs[] = {
      "vocab",      "dim",  "layers",   "heads",    "kv_heads", "ffn", "ctx",
      "rope_theta", "tied", "norm_eps", "init_std", "bos",      "eos"};
  static const char *gpt2Args[] = {"vocab", "dim", "layers",   "heads",
                                   "ctx",   "ffn", "norm_eps", "init_std",
                                   "bos",   "eos"};
  llvm::ArrayRef<const char *> allowed =
      isLlama ? llvm::ArrayRef<const char *>(llamaArgs)
              : llvm::ArrayRef<const char *>(gpt2Args);
  std::string call = (family + "(...)").str();
  std::string allowedList;
  for (const char *name : allowed)
    allowedList += (allowedList.empty() ? "" : ", ") + std::string(name);

  llvm::StringMap<const ModelArg *> given;
  for (const ModelArg &arg : args) {
    if (!llvm::is_contained(allowed, llvm::StringRef(arg.name)))
      return makeError(call + ": unknown argument '" + arg.name +
                       "'; expected one of " + allowedList);
    if (!given.try_emplace(arg.name, &arg).second)
      return makeError(call + ": argument '" + arg.name +
                       "' is given more than once");
  }
  auto integer =
      [&](llvm::StringRef name,
          std::optional<int64_t> fallback) -> llvm::Expected<int64_t> {
    auto it = given.find(name);
    if (it == given.end()) {
      if (fallback)
        return *fallback;
      return makeError(call + ": missing argument '" + name + "' (an integer)");
    }
    if (auto *i = std::get_if<int64_t>(&it->second->value))
      return *i;
    return makeError(call + ": argument '" + name +
                     "' must be an integer, found " +
                     (std::holds_alternative<bool>(it->second->value)
                          ? "a boolean"
                          : "a number with a fraction"));
  };
  auto number = [&](llvm::StringRef name,
                    double fallback) -> llvm::Expected<double> {
    auto it = given.find(name);
    if (it == given.end())
      return fallback;
    if (auto *d = std::get_if<double>(&it->second->value))
      return *d;
    if (auto *i = std::get_if<int64_t>(&it->second->value))
      return static_cast<double>(*i);
    return makeError(call + ": argument '" + name +
                     "' must be a number, found a boolean");
  };
  auto boolean = [&](llvm::StringRef name,
                     bool fallback) -> llvm::Expected<bool> {
    auto it = given.find(name);
    if (it == given.end())
      return fallback;
    if (auto *b = std::get_if<bool>(&it->second->value))
      return *b;
    return makeError(call + ": argument '" + name +
                     "' must be true or false, found a number");
  };

  ModelConfig c;
  c.arch = isLlama ? Arch::Llama : Arch::GPT2;
  c.hfModelType = family.str();
  FTL_TRY(c.vocab, integer("vocab", std::nullopt));
  FTL_TRY(c.dim, integer("dim", std::nullopt));
  FTL_TRY(c.layers, integer("layers", std::nullopt));
  FTL_TRY(c.heads, integer("heads", std::nullopt));
  if (c.heads <= 0)
    return makeError(call + ": heads must be positive, found " +
                     llvm::Twine(c.heads));
  if (c.dim % c.heads != 0)
    return makeError(call + ": heads (" + llvm::Twine(c.heads) +
                     ") must divide dim (" + llvm::Twine(c.dim) + ")");
  c.headDim = c.dim / c.heads;
  FTL_TRY(c.initStd, number("init_std", 0.02));
  FTL_TRY(c.bosId, integer("bos", -1));
  FTL_TRY(c.eosId, integer("eos", -1));
  if (isLlama) {
    FTL_TRY(c.kvHeads, integer("kv_heads", c.heads));
    int64_t swiglu = (8 * c.dim + 2) / 3; // ceil(8 * dim / 3)
    FTL_TRY(c.ffn, integer("ffn", (swiglu + 7) / 8 * 8));
    FTL_TRY(c.ctx, integer("ctx", 2048));
    FTL_TRY(c.ropeTheta, number("rope_theta", 10000.0));
    FTL_TRY(c.tiedEmbeddings, boolean("tied", false));
    FTL_TRY(c.normEps, number("norm_eps", 1e-6));
    c.activation = "silu";
  } else {
    c.kvHeads = c.heads;
    FTL_TRY(c.ffn, integer("ffn", 4 * c.dim));
    FTL_TRY(c.ctx, integer("ctx", 1024));
    FTL_TRY(c.normEps, number("norm_eps", 1e-5));
    c.tiedEmbeddings = true;
    c.qkvBias = c.oBias = c.mlpBias = true;
    c.activation = "gelu_new";
    c.ropeTheta = 0;
  }
  if (c.bosId < -1 || c.eosId < -1 || c.bosId >= c.vocab || c.eosId >= c.vocab)
    return makeError(call + ": bos and eos must be token ids below vocab (" +
                     llvm::Twine(c.vocab) + ")");
  if (llvm::Error err = validateModelConfig(c, call))
    return std::move(err);
  return c;
}
