//===- Peft.cpp - PEFT-compatible adapter folders -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Adapters/Peft.h"

#include "AdapterInternal.h"
#include "PeftModules.h"

#include "ftl/Models/ModelConfig.h"
#include "ftl/Models/ModelWeights.h"
#include "ftl/Models/SafeTensors.h"
#include "ftl/Runtime/FileUtil.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

using namespace ftl::rt;

static constexpr const char *kConfigFile = "adapter_config.json";
static constexpr const char *kWeightsFile = "adapter_model.safetensors";
static constexpr const char *kKeyPrefix = "base_model.model.";
static constexpr const char *kSuffixA = ".lora_A.weight";
static constexpr const char *kSuffixB = ".lora_B.weight";
/// safetensors metadata entry recording how GPT-2 c_attn LoRAs were fused.
static constexpr const char *kFusedKey = "ftl_fused_lora";

static llvm::Error makeError(const llvm::Twine &message) {
  return makeAdapterError(message);
}

/// "llama", "qwen2", "gpt2", ... for messages.
static std::string modelKind(const ModelConfig &config) {
  return config.hfModelType.empty() ? archName(config.arch).str()
                                    : config.hfModelType;
}

static std::string joinPath(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, name);
  return std::string(p);
}

//===----------------------------------------------------------------------===//
// JSON text as Python's json.dumps(indent=2, sort_keys=True) writes it
//===----------------------------------------------------------------------===//

namespace {
/// A JSON value that keeps integers and floats apart (Python writes 8 and
/// 8.0 differently, and PEFT's r is an int).
struct PyJson {
  enum Kind { Null, Bool, Int, Float, String, List, Object } kind = Null;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<PyJson> list;
  std::map<std::string, PyJson> object;

  PyJson() = default;
  static PyJson null() { return PyJson(); }
  static PyJson boolean(bool v) {
    PyJson j;
    j.kind = Bool;
    j.b = v;
    return j;
  }
  static PyJson integer(int64_t v) {
    PyJson j;
    j.kind = Int;
    j.i = v;
    return j;
  }
  static PyJson number(double v) {
    PyJson j;
    j.kind = Float;
    j.f = v;
    return j;
  }
  /// An int when `v` is integral (PEFT writes lora_alpha: 16), else a float.
  static PyJson intOrFloat(double v) {
    if (std::trunc(v) == v && std::fabs(v) < 9.0e15)
      return integer(static_cast<int64_t>(v));
    return number(v);
  }
  static PyJson string(llvm::StringRef v) {
    PyJson j;
    j.kind = String;
    j.s = v.str();
    return j;
  }
  static PyJson emptyList() {
    PyJson j;
    j.kind = List;
    return j;
  }
  static PyJson emptyObject() {
    PyJson j;
    j.kind = Object;
    return j;
  }
};
} // namespace

/// A JSON string literal (llvm::json escapes it; invalid UTF-8 is replaced).
static void writeJsonString(llvm::raw_ostream &os, llvm::StringRef text) {
  os << llvm::json::Value(llvm::json::fixUTF8(text));
}

/// Python's repr() of a finite float: the shortest text that reads back as
/// `v`, with ".0" on integral values.
static std::string pythonFloat(double v) {
  std::string text = fmt::format("{}", v);
  if (text.find_first_of(".eEn") == std::string::npos)
    text += ".0";
  return text;
}

static void dumpJson(llvm::raw_ostream &os, const PyJson &v, unsigned level) {
  std::string pad(2 * (level + 1), ' '), closePad(2 * level, ' ');
  switch (v.kind) {
  case PyJson::Null:
    os << "null";
    return;
  case PyJson::Bool:
    os << (v.b ? "true" : "false");
    return;
  case PyJson::Int:
    os << v.i;
    return;
  case PyJson::Float:
    os << pythonFloat(v.f);
    return;
  case PyJson::String:
    writeJsonString(os, v.s);
    return;
  case PyJson::List:
    if (v.list.empty()) {
      os << "[]";
      return;
    }
    os << "[\n";
    for (size_t i = 0; i < v.list.size(); ++i) {
      os << pad;
      dumpJson(os, v.list[i], level + 1);
      os << (i + 1 < v.list.size() ? ",\n" : "\n");
    }
    os << closePad << "]";
    return;
  case PyJson::Object:
    if (v.object.empty()) {
      os << "{}";
      return;
    }
    os << "{\n";
    size_t n = 0;
    for (const auto &[key, value] : v.object) {
      os << pad;
      writeJsonString(os, key);
      os << ": ";
      dumpJson(os, value, level + 1);
      os << (++n < v.object.size() ? ",\n" : "\n");
    }
    os << closePad << "}";
    return;
  }
}

static std::string toJsonText(const PyJson &v) {
  std::string text;
  llvm::raw_string_ostream os(text);
  dumpJson(os, v, 0);
  return text;
}

//===----------------------------------------------------------------------===//
// Reading adapter_config.json
//===----------------------------------------------------------------------===//

namespace {
/// Typed access to the fields of adapter_config.json with messages that name
/// the file, the field, what was expected and what was found.
class ConfigReader {
public:
  ConfigReader(const llvm::json::Object &object, std::string file)
      : object(object), file(std::move(file)) {}

  const std::string &fileName() const { return file; }
  const llvm::json::Value *get(llvm::StringRef key) const {
    return object.get(key);
  }
  /// Missing and null both count as absent.
  bool present(llvm::StringRef key) const {
    const llvm::json::Value *v = object.get(key);
    return v && v->kind() != llvm::json::Value::Null;
  }

  llvm::Error fieldError(llvm::StringRef key, const llvm::Twine &expected,
                         const llvm::json::Value *found) const {
    return makeError("'" + file + "': field '" + key + "': expected " +
                     expected + ", found " + describe(found));
  }

  static std::string describe(const llvm::json::Value *v) {
    if (!v)
      return "nothing (the field is missing)";
    std::string text;
    llvm::raw_string_ostream os(text);
    os << *v;
    os.flush();
    if (text.size() > 60)
      text = text.substr(0, 57) + "...";
    return text;
  }

  llvm::Expected<std::optional<std::string>>
  optString(llvm::StringRef key) const {
    if (!present(key))
      return std::nullopt;
    if (auto s = get(key)->getAsString())
      return std::optional<std::string>(s->str());
    return fieldError(key, "a string", get(key));
  }

  llvm::Expected<bool> boolOr(llvm::StringRef key, bool fallback) const {
    if (!present(key))
      return fallback;
    if (auto b = get(key)->getAsBoolean())
      return *b;
    return fieldError(key, "true or false", get(key));
  }

  llvm::Expected<double> numberOr(llvm::StringRef key, double fallback) const {
    if (!present(key))
      return fallback;
    if (auto d = get(key)->getAsNumber())
      return *d;
    return fieldError(key, "a number", get(key));
  }

  llvm::Expected<int64_t> positiveInt(llvm::StringRef key,
                                      std::optional<int64_t> fallback) const {
    if (!present(key)) {
      if (fallback)
        return *fallback;
      return fieldError(key, "a positive integer", get(key));
    }
    auto i = get(key)->getAsInteger();
    if (!i || *i <= 0)
      return fieldError(key, "a positive integer", get(key));
    return *i;
  }

private:
  const llvm::json::Object &object;
  std::string file;
};
} // namespace

/// Reads and parses `dir`/adapter_config.json.
static llvm::Expected<llvm::json::Object> readConfig(llvm::StringRef dir,
                                                     std::string &path) {
  path = joinPath(dir, kConfigFile);
  if (!llvm::sys::fs::is_directory(dir))
    return makeError("cannot read the adapter folder '" + dir +
                     "': it does not exist or is not a folder");
  if (!llvm::sys::fs::exists(path))
    return makeError("'" + dir + "' is not a PEFT adapter folder: it has no " +
                     kConfigFile);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError("cannot read '" + path +
                     "': " + buffer.getError().message());
  auto value = llvm::json::parse((*buffer)->getBuffer());
  if (!value)
    return makeError("'" + path + "' is not valid JSON: " +
                     llvm::toString(value.takeError()));
  if (!value->getAsObject())
    return makeError("'" + path + "': expected a JSON object at the top");
  return std::move(*value->getAsObject());
}

/// Checks peft_type and task_type.
static llvm::Error checkKind(const ConfigReader &cfg, llvm::StringRef want,
                             llvm::StringRef loader) {
  auto type = cfg.optString("peft_type");
  if (!type)
    return type.takeError();
  if (!*type)
    return cfg.fieldError("peft_type", "\"" + want + "\"",
                          cfg.get("peft_type"));
  if (**type != want) {
    std::string hint;
    if (**type == "LORA")
      hint = " (a LoRA adapter: read it with loadPeftLora)";
    else if (**type == "PROMPT_TUNING")
      hint = " (a prompt-tuning adapter: read it with loadPeftPrompt)";
    else
      hint = " (ftl reads LORA and PROMPT_TUNING adapters)";
    return makeError("'" + cfg.fileName() + "': expected peft_type \"" + want +
                     "\" for " + loader + ", found \"" + **type + "\"" + hint);
  }
  auto task = cfg.optString("task_type");
  if (!task)
    return task.takeError();
  if (*task && **task != "CAUSAL_LM")
    return makeError("'" + cfg.fileName() +
                     "': expected task_type \"CAUSAL_LM\" (or null), found \"" +
                     **task + "\"; ftl runs decoder-only language models");
  return llvm::Error::success();
}

static llvm::Expected<SafeTensorsFile> openWeights(llvm::StringRef dir) {
  std::string path = joinPath(dir, kWeightsFile);
  if (!llvm::sys::fs::exists(path)) {
    if (llvm::sys::fs::exists(joinPath(dir, "adapter_model.bin")))
      return makeError("'" + dir + "' has adapter_model.bin but no " +
                       kWeightsFile +
                       "; ftl reads only safetensors (save the adapter with "
                       "safe_serialization=True)");
    return makeError("'" + dir + "' is not a complete PEFT adapter folder: " +
                     "it has no " + kWeightsFile);
  }
  return SafeTensorsFile::open(path);
}

/// An owned F32 copy of a floating-point tensor.
static llvm::Expected<Tensor> toF32(const Tensor &t, llvm::StringRef name,
                                    llvm::StringRef file) {
  if (!isFloatingPoint(t.dtype()))
    return makeError("tensor '" + name + "' in '" + file +
                     "': expected a floating-point dtype (F32, F16, BF16, "
                     "F64), found " +
                     dtypeName(t.dtype()));
  return t.dtype() == DType::F32 ? t.clone() : t.to(DType::F32);
}

//===----------------------------------------------------------------------===//
// Writing folders
//===----------------------------------------------------------------------===//

static llvm::Error writeAdapterFolder(llvm::StringRef dir,
                                      const std::string &configText,
                                      llvm::ArrayRef<NamedTensor> tensors,
                                      const SafeTensorsMetadata &metadata) {
  if (dir.empty())
    return makeError("cannot save an adapter: the folder name is empty");
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
  llvm::Error err =
      writeFileAtomically(joinPath(*tmp, kConfigFile), configText);
  if (!err)
    err = writeSafeTensors(llvm::StringRef(joinPath(*tmp, kWeightsFile)),
                           tensors, metadata);
  if (!err)
    err = replaceDirectory(*tmp, absolute);
  if (err) {
    llvm::consumeError(removeDirectoryTree(*tmp));
    return err;
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// F32 block copies
//===----------------------------------------------------------------------===//

/// Copies `src` [r, c] into `dst` at (row, col). `src` may be an unaligned
/// view of a mapped file, so rows are copied as bytes.
static void copyBlock(Tensor &dst, int64_t row, int64_t col,
                      const Tensor &src) {
  int64_t cols = dst.dim(1);
  auto *out = static_cast<uint8_t *>(dst.mutableData());
  auto *in = static_cast<const uint8_t *>(src.data());
  for (int64_t i = 0; i < src.dim(0); ++i)
    std::memcpy(out + ((row + i) * cols + col) * 4, in + i * src.dim(1) * 4,
                static_cast<size_t>(src.dim(1)) * 4);
}

/// A new F32 tensor with rows [row, row + rows) and columns
/// [col, col + cols) of the F32 matrix `src`.
static Tensor extractBlock(const Tensor &src, int64_t row, int64_t col,
                           int64_t rows, int64_t cols) {
  Tensor out = Tensor::zeros(DType::F32, {rows, cols});
  auto *o = static_cast<uint8_t *>(out.mutableData());
  auto *in = static_cast<const uint8_t *>(src.data());
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(o + i * cols * 4, in + ((row + i) * src.dim(1) + col) * 4,
                static_cast<size_t>(cols) * 4);
  return out;
}

/// Whether every element of the F32 matrix `src` in rows [row, row + rows)
/// outside columns [keepBegin, keepEnd) is +0 or -0.
static bool zeroOutside(const Tensor &src, int64_t row, int64_t rows,
                        int64_t keepBegin, int64_t keepEnd) {
  const auto *in = static_cast<const uint8_t *>(src.data());
  int64_t cols = src.dim(1);
  for (int64_t i = row; i < row + rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      if (j >= keepBegin && j < keepEnd)
        continue;
      float x;
      std::memcpy(&x, in + (i * cols + j) * 4, 4);
      if (x != 0.0f)
        return false;
    }
  return true;
}

//===----------------------------------------------------------------------===//
// LoRA: saving
//===----------------------------------------------------------------------===//

namespace {
/// One part of a fused GPT-2 c_attn LoRA: columns [begin, end) of the fused
/// A's rows / B's columns belong to canonical weight `weight`.
struct FusedPart {
  std::string weight;
  int64_t begin = 0, end = 0;
  double alpha = 0;
};

/// A LoRA on one transformers module, as written.
struct ModuleLora {
  const PeftModule *module = nullptr;
  Tensor A, B;
  Tensor magnitude; ///< DoRA

  int64_t rank = 0;
  double alpha = 0;
  std::vector<FusedPart> fused; // only for modules with several parts
};
} // namespace

static double scaleOf(int64_t rank, double alpha, bool rslora) {
  LoraAdapter::Pair p;
  p.rank = rank;
  p.alpha = alpha;
  return LoraAdapter::scale(p, rslora);
}

/// An alpha that gives `rank` exactly the scale `scale`.
static std::optional<double> alphaForScale(double scale, int64_t rank,
                                           bool rslora) {
  double r = static_cast<double>(rank);
  double guess = rslora ? scale * std::sqrt(r) : scale * r;
  double up = guess, down = guess;
  for (int step = 0; step < 8; ++step) {
    if (scaleOf(rank, up, rslora) == scale)
      return up;
    if (scaleOf(rank, down, rslora) == scale)
      return down;
    up = std::nextafter(up, INFINITY);
    down = std::nextafter(down, -INFINITY);
  }
  return std::nullopt;
}

static std::string describePair(llvm::StringRef name,
                                const LoraAdapter::Pair &p, bool rslora) {
  return ("'" + name + "' (scale " +
          pythonFloat(LoraAdapter::scale(p, rslora)) + " = alpha " +
          pythonFloat(p.alpha) + (rslora ? " / sqrt(rank " : " / rank ") +
          std::to_string(p.rank) + (rslora ? ")" : "") + ")")
      .str();
}

/// Builds the one LoRA PEFT sees on a module with several parts (GPT-2's
/// c_attn) from the deltas on its parts.
static llvm::Error fuseParts(const LoraAdapter &adapter, const PeftModule &m,
                             ModuleLora &out) {
  llvm::SmallVector<size_t, 3> present;
  for (size_t j = 0; j < m.parts.size(); ++j)
    if (adapter.deltas.count(m.parts[j]))
      present.push_back(j);
  const LoraAdapter::Pair &first = adapter.deltas.at(m.parts[present[0]]);
  double scale = LoraAdapter::scale(first, adapter.rslora);
  bool shared = true;
  for (size_t j : present) {
    const LoraAdapter::Pair &p = adapter.deltas.at(m.parts[j]);
    if (LoraAdapter::scale(p, adapter.rslora) != scale)
      return makeError(
          "cannot save the LoRA as a PEFT folder: GPT-2 computes q, k and v "
          "in one layer, '" +
          m.path + "', and PEFT gives a LoRA on it one scale, but " +
          describePair(m.parts[present[0]], first, adapter.rslora) + " and " +
          describePair(m.parts[j], p, adapter.rslora) +
          " differ; give q, k and v deltas of a layer the same alpha / rank");
    shared &= p.rank == first.rank && p.A.bitwiseEqual(first.A);
  }
  int64_t rows = m.out();
  if (shared) {
    // One A; B stacks the parts' B (zero rows for parts without a delta).
    out.rank = first.rank;
    out.alpha = first.alpha;
    out.A = first.A.clone();
    out.B = Tensor::zeros(DType::F32, {rows, out.rank});
    for (size_t j : present) {
      const LoraAdapter::Pair &p = adapter.deltas.at(m.parts[j]);
      copyBlock(out.B, m.rowOffset(j), 0, p.B);
      out.fused.push_back({m.parts[j], 0, out.rank, p.alpha});
    }
    return llvm::Error::success();
  }
  // A stacks the parts' A; B is block diagonal.
  int64_t rank = 0;
  for (size_t j : present)
    rank += adapter.deltas.at(m.parts[j]).rank;
  std::optional<double> alpha = alphaForScale(scale, rank, adapter.rslora);
  if (!alpha)
    return makeError("cannot save the LoRA on '" + m.path +
                     "' exactly: no lora_alpha gives the fused rank " +
                     llvm::Twine(rank) + " the parts' scale " +
                     pythonFloat(scale) +
                     "; give the q, k and v deltas of the layer one A");
  out.rank = rank;
  out.alpha = *alpha;
  out.A = Tensor::zeros(DType::F32, {rank, m.in});
  out.B = Tensor::zeros(DType::F32, {rows, rank});
  int64_t col = 0;
  for (size_t j : present) {
    const LoraAdapter::Pair &p = adapter.deltas.at(m.parts[j]);
    copyBlock(out.A, col, 0, p.A);
    copyBlock(out.B, m.rowOffset(j), col, p.B);
    out.fused.push_back({m.parts[j], col, col + p.rank, p.alpha});
    col += p.rank;
  }
  return llvm::Error::success();
}

/// The most common value (the smallest among ties).
template <class T>
static T mostCommon(llvm::ArrayRef<T> values) {
  std::map<T, size_t> counts;
  for (const T &v : values)
    ++counts[v];
  T best = counts.begin()->first;
  size_t bestCount = 0;
  for (const auto &[v, n] : counts)
    if (n > bestCount) {
      best = v;
      bestCount = n;
    }
  return best;
}

/// The rank_pattern / alpha_pattern key for a module: its path without the
/// first component ("layers.0.self_attn.q_proj"), which PEFT's `.*\.<key>$`
/// matches against "model.layers.0.self_attn.q_proj" and nothing else.
static std::string patternKey(llvm::StringRef path) {
  return path.split('.').second.str();
}

/// target_modules: for each adapted module the shortest dotted suffix that
/// names only adapted modules (PEFT matches list entries exactly or as
/// suffixes after a '.').
static std::vector<std::string>
targetNames(llvm::ArrayRef<PeftModule> modules,
            const std::set<std::string> &adapted) {
  std::set<std::string> names;
  for (const std::string &path : adapted) {
    llvm::SmallVector<llvm::StringRef, 8> pieces;
    llvm::StringRef(path).split(pieces, '.');
    for (size_t n = 1; n <= pieces.size(); ++n) {
      // "layers.0.self_attn.q_proj" reads better than "0.self_attn.q_proj".
      llvm::StringRef head = pieces[pieces.size() - n];
      if (n < pieces.size() && llvm::all_of(head, llvm::isDigit))
        continue;
      std::string suffix = llvm::join(llvm::ArrayRef(pieces).take_back(n), ".");
      bool onlyAdapted = true;
      for (const PeftModule &m : modules)
        if (PeftTargetMatcher::namesModule(suffix, m.path) &&
            !adapted.count(m.path))
          onlyAdapted = false;
      if (onlyAdapted) {
        names.insert(suffix);
        break;
      }
    }
  }
  return {names.begin(), names.end()};
}

llvm::Error ftl::rt::savePeftLora(const LoraAdapter &adapter,
                                  const ModelConfig &config,
                                  llvm::StringRef dir) {
  if (llvm::Error err = validateModelConfig(config, "the model config"))
    return err;
  if (adapter.deltas.empty())
    return makeError("cannot save the LoRA adapter to '" + dir +
                     "': it has no deltas");
  if (!(adapter.dropout >= 0 && adapter.dropout < 1))
    return makeError("cannot save the LoRA adapter: expected a dropout in "
                     "[0, 1), found " +
                     pythonFloat(adapter.dropout));
  std::vector<PeftModule> modules = peftModules(config);
  llvm::StringMap<const PeftModule *> byPart;
  for (const PeftModule &m : modules)
    for (const std::string &p : m.parts)
      byPart[p] = &m;
  llvm::StringMap<Shape> shapes;
  for (const ParamSpec &spec : canonicalParams(config))
    shapes[spec.name] = spec.shape;

  // Check every delta against the model.
  for (const auto &[name, pair] : adapter.deltas) {
    auto shape = shapes.find(name);
    if (shape == shapes.end())
      return makeError("cannot save a LoRA delta on '" + name + "': this " +
                       modelKind(config) + " model has no such weight");
    if (!byPart.count(name))
      return makeError("cannot save a LoRA delta on '" + name +
                       "' as a PEFT folder: PEFT folders hold LoRA only on "
                       "linear layers (attn.q/k/v/o, mlp.*, head weights)");
    if (llvm::Error err = checkLoraPair(name, pair, shape->second))
      return err;
  }

  // One LoRA per module, in module order.
  std::vector<ModuleLora> written;
  for (const PeftModule &m : modules) {
    if (!m.isLinear())
      continue;
    bool any = false;
    for (const std::string &p : m.parts)
      any |= adapter.deltas.count(p) > 0;
    if (!any)
      continue;
    ModuleLora ml;
    ml.module = &m;
    if (m.parts.size() == 1) {
      const LoraAdapter::Pair &p = adapter.deltas.at(m.parts[0]);
      ml.A = p.A;
      ml.B = p.B;
      ml.rank = p.rank;
      ml.alpha = p.alpha;
      ml.magnitude = p.magnitude;
    } else if (llvm::any_of(m.parts, [&](const std::string &part) {
                 auto it = adapter.deltas.find(part);
                 return it != adapter.deltas.end() &&
                        it->second.magnitude.valid();
               })) {
      return makeError("DoRA on '" + m.path +
                       "', a module that fuses several weights, has no PEFT "
                       "form (a fused module has one norm per output)");
    } else if (llvm::Error err = fuseParts(adapter, m, ml)) {
      return err;
    }
    written.push_back(std::move(ml));
  }

  // Defaults and patterns. lm_head's path has no '.', so no pattern key can
  // name it: when it is adapted its rank and alpha are the defaults.
  PeftPatterns patterns;
  std::vector<int64_t> ranks;
  std::vector<double> alphas;
  const ModuleLora *head = nullptr;
  for (const ModuleLora &ml : written) {
    ranks.push_back(ml.rank);
    alphas.push_back(ml.alpha);
    if (ml.module->path == "lm_head")
      head = &ml;
  }
  patterns.r = head ? head->rank : mostCommon<int64_t>(ranks);
  patterns.alpha = head ? head->alpha : mostCommon<double>(alphas);
  std::set<std::string> adapted;
  for (const ModuleLora &ml : written) {
    adapted.insert(ml.module->path);
    if (ml.rank != patterns.r)
      patterns.ranks.emplace_back(patternKey(ml.module->path), ml.rank);
    if (ml.alpha != patterns.alpha)
      patterns.alphas.emplace_back(patternKey(ml.module->path), ml.alpha);
  }
  std::sort(patterns.ranks.begin(), patterns.ranks.end());
  std::sort(patterns.alphas.begin(), patterns.alphas.end());
  PeftTargets targets;
  targets.names = targetNames(modules, adapted);

  // Check that PEFT's own rules pick exactly these modules, ranks and alphas.
  auto matcher = PeftTargetMatcher::create(targets, "target_modules");
  if (!matcher)
    return matcher.takeError();
  auto resolver = PeftRankResolver::create(patterns, "rank_pattern");
  if (!resolver)
    return resolver.takeError();
  for (const PeftModule &m : modules)
    if (matcher->matches(m) != (adapted.count(m.path) > 0))
      return makeError("internal error: target_modules would select '" +
                       m.path + "' wrongly");
  for (const ModuleLora &ml : written) {
    auto [r, alpha] = resolver->resolve(ml.module->path);
    if (r != ml.rank || alpha != ml.alpha)
      return makeError("internal error: rank_pattern / alpha_pattern would "
                       "give '" +
                       ml.module->path + "' the wrong rank or alpha");
  }

  // adapter_config.json, with exactly the fields PEFT 0.13.2 writes (it
  // refuses fields it does not know).
  PyJson cfg = PyJson::emptyObject();
  auto &o = cfg.object;
  PyJson rankPattern = PyJson::emptyObject(),
         alphaPattern = PyJson::emptyObject();
  for (const auto &[key, r] : patterns.ranks)
    rankPattern.object[key] = PyJson::integer(r);
  for (const auto &[key, a] : patterns.alphas)
    alphaPattern.object[key] = PyJson::intOrFloat(a);
  PyJson targetList = PyJson::emptyList();
  for (const std::string &t : targets.names)
    targetList.list.push_back(PyJson::string(t));
  o["alpha_pattern"] = alphaPattern;
  o["auto_mapping"] = PyJson::null();
  o["base_model_name_or_path"] = adapter.baseModel.empty()
                                     ? PyJson::null()
                                     : PyJson::string(adapter.baseModel);
  o["bias"] = PyJson::string("none");
  o["fan_in_fan_out"] = PyJson::boolean(config.isGPT2());
  o["inference_mode"] = PyJson::boolean(true);
  o["init_lora_weights"] = PyJson::boolean(true);
  o["layer_replication"] = PyJson::null();
  o["layers_pattern"] = PyJson::null();
  o["layers_to_transform"] = PyJson::null();
  o["loftq_config"] = PyJson::emptyObject();
  o["lora_alpha"] = PyJson::intOrFloat(patterns.alpha);
  o["lora_dropout"] = PyJson::number(adapter.dropout);
  o["megatron_config"] = PyJson::null();
  o["megatron_core"] = PyJson::string("megatron.core");
  o["modules_to_save"] = PyJson::null();
  o["peft_type"] = PyJson::string("LORA");
  o["r"] = PyJson::integer(patterns.r);
  o["rank_pattern"] = rankPattern;
  o["revision"] = PyJson::null();
  o["target_modules"] = targetList;
  o["task_type"] = PyJson::string("CAUSAL_LM");
  bool dora = llvm::any_of(
      written, [](const ModuleLora &ml) { return ml.magnitude.valid(); });
  if (dora && !llvm::all_of(written, [](const ModuleLora &ml) {
        return ml.magnitude.valid();
      }))
    return makeError("a PEFT adapter is DoRA for all its modules or none");
  o["use_dora"] = PyJson::boolean(dora);
  o["use_rslora"] = PyJson::boolean(adapter.rslora);

  // adapter_model.safetensors.
  std::vector<NamedTensor> tensors;
  llvm::json::Object fused;
  for (const ModuleLora &ml : written) {
    std::string key = kKeyPrefix + ml.module->path;
    tensors.emplace_back(key + kSuffixA, ml.A);
    tensors.emplace_back(key + kSuffixB, ml.B);
    if (ml.magnitude.valid())
      tensors.emplace_back(key + ".lora_magnitude_vector", ml.magnitude);
    if (ml.fused.empty())
      continue;
    llvm::json::Array parts;
    for (const FusedPart &p : ml.fused)
      parts.push_back(llvm::json::Object{{"weight", p.weight},
                                         {"begin", p.begin},
                                         {"end", p.end},
                                         {"alpha", p.alpha}});
    fused[ml.module->path] = std::move(parts);
  }
  SafeTensorsMetadata metadata{{"format", "pt"}};
  if (!fused.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::json::Value(std::move(fused));
    os.flush();
    metadata[kFusedKey] = text;
  }
  return writeAdapterFolder(dir, toJsonText(cfg), tensors, metadata);
}

//===----------------------------------------------------------------------===//
// LoRA: loading
//===----------------------------------------------------------------------===//

/// The model's linear module names, shortened to their last component
/// ("q_proj, k_proj, ..."), for messages.
static std::string linearNames(llvm::ArrayRef<PeftModule> modules) {
  std::vector<std::string> names;
  for (const PeftModule &m : modules) {
    if (!m.isLinear())
      continue;
    std::string last = llvm::StringRef(m.path).rsplit('.').second.str();
    if (last.empty())
      last = m.path;
    if (!llvm::is_contained(names, last))
      names.push_back(last);
  }
  return llvm::join(names, ", ");
}

/// Reads target_modules, layers_to_transform and layers_pattern.
static llvm::Expected<PeftTargets> readTargets(const ConfigReader &cfg) {
  PeftTargets t;
  const llvm::json::Value *tm = cfg.get("target_modules");
  if (!cfg.present("target_modules"))
    return cfg.fieldError("target_modules",
                          "a list of module names or a regular expression", tm);
  if (auto s = tm->getAsString()) {
    t.regex = s->str();
  } else if (auto *list = tm->getAsArray()) {
    for (const llvm::json::Value &v : *list) {
      auto s = v.getAsString();
      if (!s)
        return cfg.fieldError("target_modules", "a list of strings", tm);
      t.names.push_back(s->str());
    }
    if (t.names.empty())
      return cfg.fieldError("target_modules", "at least one module name", tm);
  } else {
    return cfg.fieldError("target_modules",
                          "a list of module names or a regular expression", tm);
  }
  if (cfg.present("layers_to_transform")) {
    const llvm::json::Value *v = cfg.get("layers_to_transform");
    if (auto i = v->getAsInteger()) {
      t.layers.push_back(*i);
    } else if (auto *list = v->getAsArray()) {
      for (const llvm::json::Value &x : *list) {
        auto i = x.getAsInteger();
        if (!i)
          return cfg.fieldError("layers_to_transform",
                                "a layer index or a list of them", v);
        t.layers.push_back(*i);
      }
    } else {
      return cfg.fieldError("layers_to_transform",
                            "a layer index or a list of them", v);
    }
    if (t.regex && !t.layers.empty())
      return makeError("'" + cfg.fileName() +
                       "': layers_to_transform cannot be used when "
                       "target_modules is a string (PEFT refuses this too)");
  }
  if (cfg.present("layers_pattern")) {
    const llvm::json::Value *v = cfg.get("layers_pattern");
    if (auto s = v->getAsString()) {
      t.layersPattern.push_back(s->str());
    } else if (auto *list = v->getAsArray()) {
      for (const llvm::json::Value &x : *list) {
        auto s = x.getAsString();
        if (!s)
          return cfg.fieldError("layers_pattern", "a string or a list of them",
                                v);
        t.layersPattern.push_back(s->str());
      }
    } else {
      return cfg.fieldError("layers_pattern", "a string or a list of them", v);
    }
    if (t.regex && !t.layersPattern.empty())
      return makeError("'" + cfg.fileName() +
                       "': layers_pattern cannot be used when target_modules "
                       "is a string (PEFT refuses this too)");
  }
  return t;
}

/// Reads r, lora_alpha, rank_pattern and alpha_pattern.
static llvm::Expected<PeftPatterns> readPatterns(const ConfigReader &cfg) {
  PeftPatterns p;
  auto r = cfg.positiveInt("r", int64_t(8));
  if (!r)
    return r.takeError();
  p.r = *r;
  auto alpha = cfg.numberOr("lora_alpha", 8);
  if (!alpha)
    return alpha.takeError();
  p.alpha = *alpha;
  for (const char *field : {"rank_pattern", "alpha_pattern"}) {
    if (!cfg.present(field))
      continue;
    const llvm::json::Object *obj = cfg.get(field)->getAsObject();
    if (!obj)
      return cfg.fieldError(field, "an object of module patterns",
                            cfg.get(field));
    for (const auto &[key, value] : *obj) {
      if (llvm::StringRef(field) == "rank_pattern") {
        auto i = value.getAsInteger();
        if (!i || *i <= 0)
          return makeError("'" + cfg.fileName() + "': rank_pattern['" +
                           key.str() +
                           "']: expected a positive integer, "
                           "found " +
                           ConfigReader::describe(&value));
        p.ranks.emplace_back(key.str(), *i);
      } else {
        auto d = value.getAsNumber();
        if (!d || !std::isfinite(*d))
          return makeError("'" + cfg.fileName() + "': alpha_pattern['" +
                           key.str() + "']: expected a number, found " +
                           ConfigReader::describe(&value));
        p.alphas.emplace_back(key.str(), *d);
      }
    }
  }
  // PEFT writes keys sorted and tries them in file order.
  std::sort(p.ranks.begin(), p.ranks.end());
  std::sort(p.alphas.begin(), p.alphas.end());
  return p;
}

/// Fields that make PEFT apply an adapter differently from W += s B A.
static llvm::Error checkLoraFeatures(const ConfigReader &cfg,
                                     const ModelConfig &config) {
  const std::string &file = cfg.fileName();
  auto dora = cfg.boolOr("use_dora", false);
  if (!dora)
    return dora.takeError();
  if (*dora)
    return makeError("'" + file +
                     "': DoRA adapters (use_dora: true) are not supported yet; "
                     "merge the adapter in PEFT or train a plain LoRA");
  auto bias = cfg.optString("bias");
  if (!bias)
    return bias.takeError();
  if (*bias && **bias != "none")
    return makeError("'" + file + "': expected bias \"none\", found \"" +
                     **bias +
                     "\"; ftl does not read adapters that train biases");
  if (cfg.present("modules_to_save")) {
    const llvm::json::Value *v = cfg.get("modules_to_save");
    const llvm::json::Array *list = v->getAsArray();
    if (!list || !list->empty())
      return makeError("'" + file + "': modules_to_save " +
                       ConfigReader::describe(v) +
                       " is not supported; expected null (ftl reads only the "
                       "LoRA tensors)");
  }
  if (cfg.present("layer_replication"))
    return makeError("'" + file +
                     "': layer_replication is not supported; expected null");
  // Fields of later PEFT versions that change which tensors exist.
  if (cfg.present("exclude_modules"))
    return makeError("'" + file +
                     "': exclude_modules is not supported yet; expected null");
  auto loraBias = cfg.boolOr("lora_bias", false);
  if (!loraBias)
    return loraBias.takeError();
  if (*loraBias)
    return makeError("'" + file +
                     "': lora_bias true (a bias on lora_B) is not supported");
  if (cfg.present("init_lora_weights")) {
    const llvm::json::Value *v = cfg.get("init_lora_weights");
    if (auto s = v->getAsString()) {
      llvm::StringRef init = *s;
      if (init.starts_with("pissa") || init == "olora" || init == "loftq" ||
          init.starts_with("corda"))
        return makeError(
            "'" + file + "': init_lora_weights \"" + init +
            "\" changes the base weights when PEFT loads the adapter, which "
            "ftl does not reproduce; convert it to a plain LoRA in PEFT "
            "first (save_pretrained with "
            "path_initial_model_for_weight_conversion)");
    } else if (!v->getAsBoolean()) {
      return cfg.fieldError("init_lora_weights", "true, false or a string", v);
    }
  }
  auto fifo = cfg.boolOr("fan_in_fan_out", false);
  if (!fifo)
    return fifo.takeError();
  if (*fifo != config.isGPT2())
    return makeError(
        "'" + file + "': fan_in_fan_out is " + (*fifo ? "true" : "false") +
        ", but " + modelKind(config) + " models store weights " +
        (config.isGPT2() ? "[in, out] (Conv1D), so expected true"
                         : "[out, in] (nn.Linear), so expected false") +
        "; is this adapter for another model?");
  return llvm::Error::success();
}

/// Which fused parts a c_attn LoRA of rank `rank` holds: ftl's own record in
/// the metadata when it is present and agrees with the tensors, otherwise
/// every part over the whole fused rank (an exact split too).
static std::vector<FusedPart> fusedParts(const PeftModule &m, const Tensor &B,
                                         int64_t rank, double alpha,
                                         bool rslora,
                                         const llvm::json::Object *record) {
  std::vector<FusedPart> generic;
  for (const std::string &p : m.parts)
    generic.push_back({p, 0, rank, alpha});
  const llvm::json::Array *list = record ? record->getArray(m.path) : nullptr;
  if (!list)
    return generic;
  double scale = scaleOf(rank, alpha, rslora);
  std::vector<FusedPart> parts;
  std::vector<bool> seen(m.parts.size(), false);
  for (const llvm::json::Value &v : *list) {
    const llvm::json::Object *o = v.getAsObject();
    if (!o)
      return generic;
    auto weight = o->getString("weight");
    auto begin = o->getInteger("begin"), end = o->getInteger("end");
    auto a = o->getNumber("alpha");
    if (!weight || !begin || !end || !a)
      return generic;
    auto it = llvm::find(m.parts, *weight);
    if (it == m.parts.end() || seen[it - m.parts.begin()])
      return generic;
    size_t j = it - m.parts.begin();
    if (*begin < 0 || *begin >= *end || *end > rank ||
        scaleOf(*end - *begin, *a, rslora) != scale)
      return generic;
    if (!zeroOutside(B, m.rowOffset(j), m.partRows[j], *begin, *end))
      return generic;
    seen[j] = true;
    parts.push_back({weight->str(), *begin, *end, *a});
  }
  for (size_t j = 0; j < m.parts.size(); ++j)
    if (!seen[j] && !zeroOutside(B, m.rowOffset(j), m.partRows[j], 0, 0))
      return generic;
  if (parts.empty())
    return generic;
  return parts;
}

llvm::Expected<LoraAdapter> ftl::rt::loadPeftLora(llvm::StringRef dir,
                                                  const ModelConfig &config) {
  if (llvm::Error err = validateModelConfig(config, "the model config"))
    return std::move(err);
  std::string configPath;
  auto object = readConfig(dir, configPath);
  if (!object)
    return object.takeError();
  ConfigReader cfg(*object, configPath);
  if (llvm::Error err = checkKind(cfg, "LORA", "loadPeftLora"))
    return std::move(err);
  if (llvm::Error err = checkLoraFeatures(cfg, config))
    return std::move(err);

  LoraAdapter adapter;
  auto rslora = cfg.boolOr("use_rslora", false);
  if (!rslora)
    return rslora.takeError();
  adapter.rslora = *rslora;
  auto dropout = cfg.numberOr("lora_dropout", 0);
  if (!dropout)
    return dropout.takeError();
  if (!(*dropout >= 0 && *dropout < 1))
    return cfg.fieldError("lora_dropout", "a number in [0, 1)",
                          cfg.get("lora_dropout"));
  adapter.dropout = *dropout;
  auto base = cfg.optString("base_model_name_or_path");
  if (!base)
    return base.takeError();
  adapter.baseModel = base->value_or("");

  auto patterns = readPatterns(cfg);
  if (!patterns)
    return patterns.takeError();
  auto resolver = PeftRankResolver::create(*patterns, "'" + configPath + "'");
  if (!resolver)
    return resolver.takeError();
  auto targets = readTargets(cfg);
  if (!targets)
    return targets.takeError();
  auto matcher = PeftTargetMatcher::create(*targets, "'" + configPath + "'");
  if (!matcher)
    return matcher.takeError();

  // Target modules.
  std::vector<PeftModule> modules = peftModules(config);
  std::string arch = modelKind(config);
  for (const std::string &name : targets->names) {
    bool known = false;
    for (const PeftModule &m : modules)
      known |= PeftTargetMatcher::namesModule(name, m.path);
    if (!known)
      return makeError("'" + configPath + "': unknown target module '" + name +
                       "': this " + arch +
                       " model has no module of that name "
                       "(its linear layers: " +
                       linearNames(modules) + ")");
  }
  llvm::StringMap<const PeftModule *> byPath, targeted;
  for (const PeftModule &m : modules) {
    byPath[m.path] = &m;
    if (!matcher->matches(m))
      continue;
    if (!m.isLinear())
      return makeError("'" + configPath + "': target_modules selects '" +
                       m.path + "', " + m.kind +
                       "; ftl reads LoRA only on linear layers (" +
                       linearNames(modules) + ")");
    targeted[m.path] = &m;
  }
  if (targeted.empty())
    return makeError(
        "'" + configPath + "': target_modules selects no module of this " +
        arch + " model (its linear layers: " + linearNames(modules) + ")");

  // Tensors.
  auto file = openWeights(dir);
  if (!file)
    return file.takeError();
  std::string weightsPath = file->path().str();
  llvm::StringMap<std::pair<Tensor, Tensor>> found;
  for (const std::string &name : file->names()) {
    llvm::StringRef rest = name;
    bool isA = false, ok = rest.consume_front(kKeyPrefix);
    if (ok) {
      if (rest.consume_back(kSuffixA))
        isA = true;
      else
        ok = rest.consume_back(kSuffixB);
    }
    if (!ok || !targeted.count(rest)) {
      std::string why;
      llvm::StringRef n = name;
      if (n.contains("lora_magnitude_vector"))
        why = "a DoRA magnitude vector (DoRA is not supported yet)";
      else if (n.contains("lora_embedding_"))
        why = "an embedding LoRA (not supported)";
      else if (n.ends_with(".bias"))
        why = "a bias (expected bias \"none\")";
      else if (ok && byPath.count(rest))
        why = "its module '" + rest.str() +
              "' is not selected by target_modules in " + kConfigFile;
      else if (ok)
        why = "this " + arch + " model has no module '" + rest.str() + "'";
      else
        why = "expected only base_model.model.<module>.lora_A.weight and "
              ".lora_B.weight";
      return makeError("unexpected tensor '" + name + "' in '" + weightsPath +
                       "': " + why);
    }
    auto &slot = found[rest];
    (isA ? slot.first : slot.second) = file->get(name);
  }

  std::optional<llvm::json::Value> record;
  auto meta = file->metadata().find(kFusedKey);
  if (meta != file->metadata().end()) {
    auto parsed = llvm::json::parse(meta->second);
    if (parsed)
      record = std::move(*parsed);
    else
      llvm::consumeError(parsed.takeError());
  }
  const llvm::json::Object *recordObject =
      record ? record->getAsObject() : nullptr;

  for (const PeftModule &m : modules) {
    if (!targeted.count(m.path))
      continue;
    std::string key = kKeyPrefix + m.path;
    auto it = found.find(m.path);
    for (bool wantA : {true, false}) {
      bool have = it != found.end() &&
                  (wantA ? it->second.first : it->second.second).valid();
      if (!have)
        return makeError("missing tensor '" + key +
                         (wantA ? kSuffixA : kSuffixB) + "' in '" +
                         weightsPath + "': target module '" + m.path +
                         "' needs both lora_A and lora_B");
    }
    auto [rank, alpha] = resolver->resolve(m.path);
    const Tensor &rawA = it->second.first, &rawB = it->second.second;
    int64_t wantA[] = {rank, m.in}, wantB[] = {m.out(), rank};
    for (bool isA : {true, false}) {
      const Tensor &t = isA ? rawA : rawB;
      llvm::ArrayRef<int64_t> want = isA ? wantA : wantB;
      if (t.shape() == want)
        continue;
      return makeError("shape mismatch for tensor '" + key +
                       (isA ? kSuffixA : kSuffixB) + "' in '" + weightsPath +
                       "': expected " + formatShape(want) + " (rank " +
                       llvm::Twine(rank) + " from " + kConfigFile +
                       ", module '" + m.path + "' maps " + llvm::Twine(m.in) +
                       " -> " + llvm::Twine(m.out()) + " in this " + arch +
                       " model), found " + formatShape(t.shape()));
    }
    auto A = toF32(rawA, key + kSuffixA, weightsPath);
    if (!A)
      return A.takeError();
    auto B = toF32(rawB, key + kSuffixB, weightsPath);
    if (!B)
      return B.takeError();
    if (m.parts.size() == 1) {
      adapter.deltas[m.parts[0]] = {*A, *B, rank, alpha};
      continue;
    }
    for (const FusedPart &p :
         fusedParts(m, *B, rank, alpha, adapter.rslora, recordObject)) {
      size_t j = llvm::find(m.parts, p.weight) - m.parts.begin();
      int64_t r = p.end - p.begin;
      adapter.deltas[p.weight] = {
          extractBlock(*A, p.begin, 0, r, m.in),
          extractBlock(*B, m.rowOffset(j), p.begin, m.partRows[j], r), r,
          p.alpha};
    }
  }
  return adapter;
}

//===----------------------------------------------------------------------===//
// Prompt tuning
//===----------------------------------------------------------------------===//

llvm::Error ftl::rt::savePeftPrompt(const PromptAdapter &adapter,
                                    const ModelConfig &config,
                                    llvm::StringRef dir) {
  if (llvm::Error err = validateModelConfig(config, "the model config"))
    return err;
  const Tensor &e = adapter.embeddings;
  if (!e.valid())
    return makeError("cannot save the prompt adapter to '" + dir +
                     "': it has no embeddings");
  if (e.dtype() != DType::F32)
    return makeError("prompt embeddings: expected F32, found " +
                     dtypeName(e.dtype()));
  if (e.rank() != 2 || e.dim(0) <= 0 || e.dim(1) != config.dim)
    return makeError("prompt embeddings: expected shape [tokens, " +
                     llvm::Twine(config.dim) +
                     "] (tokens > 0, the model's "
                     "hidden size " +
                     llvm::Twine(config.dim) + "), found " +
                     formatShape(e.shape()));
  PyJson cfg = PyJson::emptyObject();
  auto &o = cfg.object;
  o["auto_mapping"] = PyJson::null();
  o["base_model_name_or_path"] = adapter.baseModel.empty()
                                     ? PyJson::null()
                                     : PyJson::string(adapter.baseModel);
  o["inference_mode"] = PyJson::boolean(true);
  o["num_attention_heads"] = PyJson::integer(config.heads);
  o["num_layers"] = PyJson::integer(config.layers);
  o["num_transformer_submodules"] = PyJson::integer(1);
  o["num_virtual_tokens"] = PyJson::integer(e.dim(0));
  o["peft_type"] = PyJson::string("PROMPT_TUNING");
  o["prompt_tuning_init"] = PyJson::string("RANDOM");
  o["prompt_tuning_init_text"] = PyJson::null();
  o["revision"] = PyJson::null();
  o["task_type"] = PyJson::string("CAUSAL_LM");
  o["token_dim"] = PyJson::integer(config.dim);
  o["tokenizer_kwargs"] = PyJson::null();
  o["tokenizer_name_or_path"] = PyJson::null();
  std::vector<NamedTensor> tensors{{"prompt_embeddings", e}};
  return writeAdapterFolder(dir, toJsonText(cfg), tensors, {{"format", "pt"}});
}

llvm::Error ftl::rt::savePeftPrefix(llvm::ArrayRef<const Tensor *> keys,
                                    llvm::ArrayRef<const Tensor *> values,
                                    const ModelConfig &config,
                                    llvm::StringRef dir) {
  if (llvm::Error err = validateModelConfig(config, "the model config"))
    return err;
  const int64_t L = config.layers, kvDim = config.kvHeads * config.headDim;
  if (int64_t(keys.size()) != L || int64_t(values.size()) != L)
    return makeError("prefix adapter: expected keys and values for " +
                     llvm::Twine(L) + " layers, found " +
                     llvm::Twine(keys.size()) + " and " +
                     llvm::Twine(values.size()));
  const int64_t P = keys[0] ? keys[0]->dim(0) : 0;
  for (int64_t l = 0; l < L; ++l)
    for (const Tensor *t : {keys[l], values[l]})
      if (!t || t->dtype() != DType::F32 || t->rank() != 2 || t->dim(0) != P ||
          P <= 0 || t->dim(1) != kvDim)
        return makeError("prefix adapter, layer " + llvm::Twine(l) +
                         ": expected F32 [tokens, " + llvm::Twine(kvDim) +
                         "] keys and values, found " +
                         (t ? formatShape(t->shape()) : std::string("none")));
  Tensor table = Tensor::zeros(DType::F32, {P, L * 2 * kvDim});
  float *out = table.dataAs<float>();
  for (int64_t p = 0; p < P; ++p)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t which = 0; which < 2; ++which) {
        const float *src =
            (which ? values[l] : keys[l])->dataAs<const float>() + p * kvDim;
        std::copy(src, src + kvDim,
                  out + p * L * 2 * kvDim + (2 * l + which) * kvDim);
      }
  PyJson cfg = PyJson::emptyObject();
  auto &o = cfg.object;
  o["auto_mapping"] = PyJson::null();
  o["base_model_name_or_path"] = PyJson::null();
  o["encoder_hidden_size"] = PyJson::integer(config.dim);
  o["inference_mode"] = PyJson::boolean(true);
  o["num_attention_heads"] = PyJson::integer(config.heads);
  o["num_layers"] = PyJson::integer(L);
  o["num_transformer_submodules"] = PyJson::integer(1);
  o["num_virtual_tokens"] = PyJson::integer(P);
  o["peft_type"] = PyJson::string("PREFIX_TUNING");
  o["prefix_projection"] = PyJson::boolean(false);
  o["revision"] = PyJson::null();
  o["task_type"] = PyJson::string("CAUSAL_LM");
  o["token_dim"] = PyJson::integer(config.dim);
  std::vector<NamedTensor> tensors{{"prompt_embeddings", table}};
  return writeAdapterFolder(dir, toJsonText(cfg), tensors, {{"format", "pt"}});
}

/// The adapter_config.json of a prompt-learning folder of type `kind`, for
/// a valid model config; `configPath` is set for messages.
static llvm::Expected<llvm::json::Object>
readPromptLearningConfig(llvm::StringRef dir, const ModelConfig &config,
                         const char *kind, const char *loader,
                         std::string &configPath) {
  if (llvm::Error err = validateModelConfig(config, "the model config"))
    return std::move(err);
  auto object = readConfig(dir, configPath);
  if (!object)
    return object.takeError();
  ConfigReader cfg(*object, configPath);
  if (llvm::Error err = checkKind(cfg, kind, loader))
    return std::move(err);
  return object;
}

llvm::Expected<PromptAdapter>
ftl::rt::loadPeftPrompt(llvm::StringRef dir, const ModelConfig &config) {
  std::string configPath;
  auto object = readPromptLearningConfig(dir, config, "PROMPT_TUNING",
                                         "loadPeftPrompt", configPath);
  if (!object)
    return object.takeError();
  ConfigReader cfg(*object, configPath);
  auto tokens = cfg.positiveInt("num_virtual_tokens", std::nullopt);
  if (!tokens)
    return tokens.takeError();
  auto subs = cfg.positiveInt("num_transformer_submodules", int64_t(1));
  if (!subs)
    return subs.takeError();
  if (*subs != 1)
    return cfg.fieldError("num_transformer_submodules",
                          "1 (a decoder-only model)",
                          cfg.get("num_transformer_submodules"));
  auto tokenDim = cfg.positiveInt("token_dim", config.dim);
  if (!tokenDim)
    return tokenDim.takeError();
  if (*tokenDim != config.dim)
    return makeError("'" + configPath + "': token_dim is " +
                     llvm::Twine(*tokenDim) + ", but the " + modelKind(config) +
                     " model's hidden size is " + llvm::Twine(config.dim) +
                     "; is this adapter for another model?");
  auto base = cfg.optString("base_model_name_or_path");
  if (!base)
    return base.takeError();

  auto file = openWeights(dir);
  if (!file)
    return file.takeError();
  std::string weightsPath = file->path().str();
  for (const std::string &name : file->names())
    if (name != "prompt_embeddings")
      return makeError("unexpected tensor '" + name + "' in '" + weightsPath +
                       "': a prompt-tuning adapter holds only "
                       "'prompt_embeddings'");
  Tensor raw = file->get("prompt_embeddings");
  if (!raw.valid())
    return makeError("missing tensor 'prompt_embeddings' in '" + weightsPath +
                     "'");
  int64_t want[] = {*tokens, config.dim};
  if (raw.shape() != llvm::ArrayRef<int64_t>(want))
    return makeError("shape mismatch for tensor 'prompt_embeddings' in '" +
                     weightsPath + "': expected " + formatShape(want) +
                     " (num_virtual_tokens " + llvm::Twine(*tokens) +
                     ", hidden size " + llvm::Twine(config.dim) + "), found " +
                     formatShape(raw.shape()));
  auto e = toF32(raw, "prompt_embeddings", weightsPath);
  if (!e)
    return e.takeError();
  PromptAdapter adapter;
  adapter.embeddings = std::move(*e);
  adapter.baseModel = base->value_or("");
  return adapter;
}

llvm::Expected<PrefixAdapter>
ftl::rt::loadPeftPrefix(llvm::StringRef dir, const ModelConfig &config) {
  std::string configPath;
  auto object = readPromptLearningConfig(dir, config, "PREFIX_TUNING",
                                         "loadPeftPrefix", configPath);
  if (!object)
    return object.takeError();
  ConfigReader cfg(*object, configPath);
  auto projection = cfg.boolOr("prefix_projection", false);
  if (!projection)
    return projection.takeError();
  if (*projection)
    return makeError("'" + configPath +
                     "': prefix_projection (the MLP re-parameterisation) is "
                     "not supported yet");
  auto tokens = cfg.positiveInt("num_virtual_tokens", std::nullopt);
  if (!tokens)
    return tokens.takeError();
  auto layers = cfg.positiveInt("num_layers", config.layers);
  if (!layers)
    return layers.takeError();
  if (*layers != config.layers)
    return makeError("'" + configPath + "': num_layers is " +
                     llvm::Twine(*layers) + ", but the model has " +
                     llvm::Twine(config.layers));
  auto file = openWeights(dir);
  if (!file)
    return file.takeError();
  std::string weightsPath = file->path().str();
  Tensor raw = file->get("prompt_embeddings");
  if (!raw.valid())
    return makeError("missing tensor 'prompt_embeddings' in '" + weightsPath +
                     "'");
  const int64_t L = config.layers, kvDim = config.kvHeads * config.headDim;
  int64_t want[] = {*tokens, L * 2 * kvDim};
  if (raw.shape() != llvm::ArrayRef<int64_t>(want))
    return makeError("shape mismatch for tensor 'prompt_embeddings' in '" +
                     weightsPath + "': expected " + formatShape(want) +
                     " (num_virtual_tokens x layers * 2 * kv_heads * "
                     "head_dim), found " +
                     formatShape(raw.shape()));
  auto table = toF32(raw, "prompt_embeddings", weightsPath);
  if (!table)
    return table.takeError();
  PrefixAdapter adapter;
  const float *src = table->dataAs<const float>();
  for (int64_t l = 0; l < L; ++l)
    for (int64_t which = 0; which < 2; ++which) {
      Tensor t = Tensor::zeros(DType::F32, {*tokens, kvDim});
      float *dst = t.dataAs<float>();
      for (int64_t p = 0; p < *tokens; ++p)
        std::copy(src + p * L * 2 * kvDim + (2 * l + which) * kvDim,
                  src + p * L * 2 * kvDim + (2 * l + which + 1) * kvDim,
                  dst + p * kvDim);
      (which ? adapter.values : adapter.keys).push_back(std::move(t));
    }
  return adapter;
}
