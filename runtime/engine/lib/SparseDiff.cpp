//===- SparseDiff.cpp - Sparse fine-tuning diffs as folders ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "SparseDiff.h"

#include "ftl/Models/ModelWeights.h"
#include "ftl/Models/SafeTensors.h"
#include "ftl/Runtime/FileUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace ftl::rt;

static std::string pathIn(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, file);
  return std::string(p);
}

llvm::Expected<SparseDiff>(::ftl::rt::sparseDiffOf)(
    const std::map<std::string, Tensor> &initial, const ModelWeights &current) {
  SparseDiff diff;
  for (const auto &[name, before] : initial) {
    const Tensor *after = current.find(name);
    if (!after || after->numel() != before.numel())
      return llvm::createStringError("the model has no tensor '" + name +
                                     "' of the adapter's shape any more");
    SparseDiff::Entries e;
    e.shape.assign(before.shape().begin(), before.shape().end());
    const float *a = before.dataAs<const float>();
    const float *b = after->dataAs<const float>();
    for (int64_t i = 0; i < before.numel(); ++i)
      if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
        e.indices.push_back(int32_t(i));
        e.delta.push_back(b[i] - a[i]);
      }
    diff.tensors[name] = std::move(e);
  }
  return diff;
}

llvm::Error(::ftl::rt::saveSparseDiff)(const SparseDiff &diff,
                                       llvm::StringRef dir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError("cannot create '" + dir.str() +
                                   "': " + ec.message());
  std::vector<NamedTensor> tensors;
  llvm::json::Object shapes;
  int64_t entries = 0;
  for (const auto &[name, e] : diff.tensors) {
    int64_t k = int64_t(e.indices.size());
    Tensor indices = Tensor::zeros(DType::I32, {k});
    std::memcpy(indices.dataAs<int32_t>(), e.indices.data(), size_t(k) * 4);
    tensors.emplace_back(name + ".indices", std::move(indices));
    tensors.emplace_back(name + ".delta", Tensor::fromF32(e.delta, {k}));
    llvm::json::Array shape;
    for (int64_t d : e.shape)
      shape.push_back(d);
    shapes[name] = std::move(shape);
    entries += k;
  }
  llvm::json::Object config{{"ftl_adapter_type", "SPARSE_DIFF"},
                            {"tensors", std::move(shapes)},
                            {"entries", entries}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(config))) << "\n";
  os.flush();
  if (llvm::Error e = writeSafeTensors(pathIn(dir, "adapter_model.safetensors"),
                                       tensors, {{"format", "ftl"}}))
    return e;
  return writeFileAtomically(pathIn(dir, "adapter_config.json"), text);
}

static llvm::Expected<llvm::json::Object> readConfig(llvm::StringRef dir) {
  std::string path = pathIn(dir, "adapter_config.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError("cannot read '" + path +
                                   "': " + buffer.getError().message());
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed)
    return llvm::createStringError(
        "'" + path + "' is not JSON: " + llvm::toString(parsed.takeError()));
  if (!parsed->getAsObject())
    return llvm::createStringError("'" + path + "' is not a JSON object");
  return *parsed->getAsObject();
}

bool(::ftl::rt::isSparseDiffFolder)(llvm::StringRef dir) {
  auto config = readConfig(dir);
  if (!config) {
    llvm::consumeError(config.takeError());
    return false;
  }
  auto type = config->getString("ftl_adapter_type");
  return type && *type == "SPARSE_DIFF";
}

llvm::Expected<SparseDiff>(::ftl::rt::loadSparseDiff)(llvm::StringRef dir) {
  auto config = readConfig(dir);
  if (!config)
    return config.takeError();
  const llvm::json::Object *shapes = config->getObject("tensors");
  if (!shapes)
    return llvm::createStringError("'" + dir.str() +
                                   "': adapter_config.json has no 'tensors'");
  auto file = SafeTensorsFile::open(pathIn(dir, "adapter_model.safetensors"));
  if (!file)
    return file.takeError();
  SparseDiff diff;
  for (const auto &[key, value] : *shapes) {
    std::string name = key.str();
    SparseDiff::Entries e;
    if (const llvm::json::Array *shape = value.getAsArray())
      for (const llvm::json::Value &d : *shape)
        e.shape.push_back(d.getAsInteger().value_or(-1));
    Tensor indices = file->get(name + ".indices");
    Tensor delta = file->get(name + ".delta");
    if (!indices.valid() || !delta.valid() || indices.dtype() != DType::I32 ||
        delta.dtype() != DType::F32 || indices.numel() != delta.numel())
      return llvm::createStringError(
          "'" + dir.str() + "': tensor '" + name +
          "' needs I32 '.indices' and F32 '.delta' of one length");
    const int32_t *ix = indices.dataAs<const int32_t>();
    const float *dv = delta.dataAs<const float>();
    e.indices.assign(ix, ix + indices.numel());
    e.delta.assign(dv, dv + delta.numel());
    diff.tensors[name] = std::move(e);
  }
  return diff;
}

llvm::Expected<int64_t>(::ftl::rt::applySparseDiff)(const SparseDiff &diff,
                                                    ModelWeights &weights) {
  // Check everything first: on error the weights stay as they were.
  for (const auto &[name, e] : diff.tensors) {
    const Tensor *t = weights.find(name);
    if (!t)
      return llvm::createStringError("the sparse diff changes '" + name +
                                     "', which the model does not have");
    if (t->dtype() != DType::F32 ||
        llvm::ArrayRef<int64_t>(e.shape) != t->shape())
      return llvm::createStringError(
          "the sparse diff's '" + name +
          "' has another shape than the model's tensor");
    for (int32_t i : e.indices)
      if (i < 0 || int64_t(i) >= t->numel())
        return llvm::createStringError("the sparse diff's '" + name +
                                       "' has entry " + std::to_string(i) +
                                       ", outside the tensor");
  }
  int64_t changed = 0;
  for (const auto &[name, e] : diff.tensors) {
    Tensor t = weights.find(name)->clone();
    float *w = t.dataAs<float>();
    for (size_t j = 0; j < e.indices.size(); ++j)
      w[e.indices[j]] += e.delta[j];
    changed += int64_t(e.indices.size());
    weights.set(name, std::move(t));
  }
  return changed;
}
