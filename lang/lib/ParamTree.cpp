//===- ParamTree.cpp - The typed parameter tree ---------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Lang/ParamTree.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace ftl::lang;
using llvm::StringRef;

int64_t ParamTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

StringRef ParamTensor::module() const {
  return StringRef(name).rsplit('.').first;
}

int64_t ParamTensor::layer() const {
  StringRef rest = name;
  if (!rest.consume_front("layers."))
    return -1;
  int64_t index = -1;
  rest.consumeInteger(10, index);
  return index;
}

static StringRef roleOfComponent(StringRef component) {
  if (component == "attn_norm" || component == "mlp_norm" ||
      component == "final_norm")
    return "norm";
  if (component == "embed" || component == "pos_embed")
    return "embed";
  return component;
}

StringRef ParamTensor::role() const {
  llvm::SmallVector<StringRef, 6> parts;
  StringRef(name).split(parts, '.');
  if (parts.empty())
    return "";
  if (parts[0] != "layers")
    return roleOfComponent(parts[0]);
  return parts.size() > 2 ? roleOfComponent(parts[2]) : "";
}

std::vector<ParamTensor> ftl::lang::enumerateParams(const ModelInfo &info) {
  std::vector<ParamTensor> out;
  auto add = [&](std::string name, std::initializer_list<int64_t> shape) {
    ParamTensor t;
    t.name = std::move(name);
    t.shape.assign(shape.begin(), shape.end());
    out.push_back(std::move(t));
  };
  bool gpt2 = info.arch == ModelInfo::Arch::GPT2;
  int64_t hd = info.headDim();
  int64_t qDim = info.heads * hd, kvDim = info.kvHeads * hd;
  add("embed.weight", {info.vocab, info.dim});
  if (gpt2)
    add("pos_embed.weight", {info.ctx, info.dim});
  for (int64_t i = 0; i < info.layers; ++i) {
    std::string p = "layers." + std::to_string(i) + ".";
    add(p + "attn_norm.weight", {info.dim});
    if (gpt2)
      add(p + "attn_norm.bias", {info.dim});
    add(p + "attn.q.weight", {qDim, info.dim});
    if (info.qkvBias || gpt2)
      add(p + "attn.q.bias", {qDim});
    add(p + "attn.k.weight", {kvDim, info.dim});
    if (info.qkvBias || gpt2)
      add(p + "attn.k.bias", {kvDim});
    add(p + "attn.v.weight", {kvDim, info.dim});
    if (info.qkvBias || gpt2)
      add(p + "attn.v.bias", {kvDim});
    add(p + "attn.o.weight", {info.dim, qDim});
    if (gpt2)
      add(p + "attn.o.bias", {info.dim});
    add(p + "mlp_norm.weight", {info.dim});
    if (gpt2)
      add(p + "mlp_norm.bias", {info.dim});
    if (!gpt2)
      add(p + "mlp.gate.weight", {info.ffn, info.dim});
    add(p + "mlp.up.weight", {info.ffn, info.dim});
    if (gpt2)
      add(p + "mlp.up.bias", {info.ffn});
    add(p + "mlp.down.weight", {info.dim, info.ffn});
    if (gpt2)
      add(p + "mlp.down.bias", {info.dim});
  }
  add("final_norm.weight", {info.dim});
  if (gpt2)
    add("final_norm.bias", {info.dim});
  if (!info.tied)
    add("head.weight", {info.vocab, info.dim});
  return out;
}

bool ftl::lang::globMatch(StringRef pattern, StringRef text) {
  // Iterative matcher with backtracking on the last star.
  size_t p = 0, t = 0, starP = StringRef::npos, starT = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      starP = p++;
      starT = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (starP != StringRef::npos) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

std::string SelectorSegment::str() const {
  switch (kind) {
  case Kind::Name:
    return "." + names.front();
  case Kind::Set:
    return ".{" + llvm::join(names, ", ") + "}";
  case Kind::Index:
    switch (indexKind) {
    case IndexKind::All:
      return "[*]";
    case IndexKind::Single:
      return "[" + std::to_string(*lo) + "]";
    case IndexKind::Range:
      return "[" + (lo ? std::to_string(*lo) : std::string()) + ".." +
             (hi ? std::to_string(*hi) : std::string()) + "]";
    case IndexKind::List: {
      std::vector<std::string> parts;
      for (int64_t i : list)
        parts.push_back(std::to_string(i));
      return "[" + llvm::join(parts, ", ") + "]";
    }
    }
  }
  return "";
}

std::string ftl::lang::selectorToString(
    llvm::ArrayRef<SelectorSegment> segments) {
  std::string out;
  for (const SelectorSegment &segment : segments)
    out += segment.str();
  if (!out.empty() && out[0] == '.')
    out.erase(0, 1);
  return out;
}

namespace {
/// A tensor name split into components: names and indices.
struct Components {
  llvm::SmallVector<StringRef, 6> parts;
};
} // namespace

static bool nameMatches(const SelectorSegment &segment, StringRef component) {
  StringRef role = roleOfComponent(component);
  for (const std::string &name : segment.names)
    if (globMatch(name, component) || name == role)
      return true;
  return false;
}

SelectorMatch ftl::lang::resolveSelector(
    const ModelInfo &info, llvm::ArrayRef<SelectorSegment> segments) {
  SelectorMatch result;
  // Validate indices against the layer count first: an index segment always
  // follows `layers` in this tree.
  for (const SelectorSegment &segment : segments) {
    if (segment.kind != SelectorSegment::Kind::Index)
      continue;
    auto check = [&](int64_t index) {
      if (index >= info.layers || index < -info.layers) {
        result.error = "index out of range";
        result.badIndex = index;
        result.listSize = info.layers;
        result.listName = "layers";
        return false;
      }
      return true;
    };
    switch (segment.indexKind) {
    case SelectorSegment::IndexKind::All:
      break;
    case SelectorSegment::IndexKind::Single:
      if (!check(*segment.lo))
        return result;
      break;
    case SelectorSegment::IndexKind::Range:
      if ((segment.lo && !check(*segment.lo)) ||
          (segment.hi && !check(*segment.hi)))
        return result;
      break;
    case SelectorSegment::IndexKind::List:
      for (int64_t i : segment.list)
        if (!check(i))
          return result;
      break;
    }
  }

  auto normalize = [&](int64_t i) { return i < 0 ? info.layers + i : i; };
  auto indexMatches = [&](const SelectorSegment &segment, int64_t index) {
    switch (segment.indexKind) {
    case SelectorSegment::IndexKind::All:
      return true;
    case SelectorSegment::IndexKind::Single:
      return normalize(*segment.lo) == index;
    case SelectorSegment::IndexKind::Range: {
      int64_t lo = segment.lo ? normalize(*segment.lo) : 0;
      int64_t hi = segment.hi ? normalize(*segment.hi) : info.layers - 1;
      return index >= lo && index <= hi;
    }
    case SelectorSegment::IndexKind::List:
      return llvm::any_of(segment.list,
                          [&](int64_t i) { return normalize(i) == index; });
    }
    return false;
  };

  std::vector<ParamTensor> params = enumerateParams(info);
  // A tied head is the embedding: `base.head` selects embed.weight.
  if (info.tied)
    params.push_back(ParamTensor{"head.weight", {}});
  for (const ParamTensor &tensor : params) {
    llvm::SmallVector<StringRef, 6> parts;
    StringRef(tensor.name).split(parts, '.');
    size_t c = 0;
    bool ok = true;
    for (const SelectorSegment &segment : segments) {
      if (c >= parts.size()) {
        ok = false;
        break;
      }
      StringRef component = parts[c];
      bool isIndex = !component.empty() && llvm::isDigit(component[0]);
      if (segment.kind == SelectorSegment::Kind::Index) {
        int64_t index = 0;
        if (!isIndex || component.getAsInteger(10, index) ||
            !indexMatches(segment, index)) {
          ok = false;
          break;
        }
      } else if (isIndex || !nameMatches(segment, component)) {
        ok = false;
        break;
      }
      ++c;
    }
    if (!ok)
      continue;
    std::string name = tensor.name;
    if (info.tied && name == "head.weight")
      name = "embed.weight";
    if (!llvm::is_contained(result.tensors, name))
      result.tensors.push_back(name);
  }
  return result;
}
