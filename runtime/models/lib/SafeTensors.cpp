//===- SafeTensors.cpp - safetensors files and folders --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Models/SafeTensors.h"
#include "ftl/Runtime/FileUtil.h"

#include "PythonJson.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <optional>

using namespace ftl::rt;
namespace json = llvm::json;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// "an array", "a string", ... for "found ..." parts of messages.
static std::string describe(const json::Value &value) {
  switch (value.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return "a boolean";
  case json::Value::Number:
    return "a number";
  case json::Value::String:
    return "a string";
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  return "a value";
}

/// The JSON text of a (small) value, for messages.
static std::string jsonText(const json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << value;
  if (text.size() > 40)
    text = text.substr(0, 37) + "...";
  return text;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
struct Entry {
  std::string name;
  DType type;
  Shape shape;
  uint64_t begin, end;
};
} // namespace

/// Reads a non-negative integer, explaining what is wrong otherwise.
static llvm::Expected<uint64_t> readIndex(const json::Value &value,
                                          const llvm::Twine &what) {
  if (auto n = value.getAsUINT64())
    return *n;
  if (auto i = value.getAsInteger(); i && *i < 0)
    return makeError(what + " is negative (" + llvm::Twine(*i) + ")");
  if (value.kind() == json::Value::Number)
    return makeError(what + " is not an integer (" + jsonText(value) + ")");
  return makeError(what + " must be a non-negative integer, found " +
                   describe(value));
}

static llvm::Expected<Entry> parseEntry(llvm::StringRef name,
                                        const json::Value &value,
                                        llvm::StringRef path,
                                        uint64_t dataSize) {
  std::string where = ("tensor '" + name + "' in '" + path + "'").str();
  const json::Object *object = value.getAsObject();
  if (!object)
    return makeError(where +
                     " must be an object with dtype, shape and data_offsets, "
                     "found " +
                     describe(value));
  Entry entry;
  entry.name = name.str();

  const json::Value *dtype = object->get("dtype");
  if (!dtype)
    return makeError(where + " has no 'dtype'");
  auto typeName = dtype->getAsString();
  if (!typeName)
    return makeError(where + ": 'dtype' must be a string, found " +
                     describe(*dtype));
  auto type = parseDType(*typeName);
  if (!type)
    return makeError(where + " has unknown dtype '" + *typeName +
                     "'; expected one of " + allDTypeNames());
  entry.type = *type;

  const json::Value *shape = object->get("shape");
  if (!shape)
    return makeError(where + " has no 'shape'");
  const json::Array *dims = shape->getAsArray();
  if (!dims)
    return makeError(where +
                     ": 'shape' must be an array of dimensions, found " +
                     describe(*shape));
  uint64_t numel = 1;
  bool overflow = false;
  for (size_t i = 0; i < dims->size(); ++i) {
    auto dim = readIndex((*dims)[i], where + ": dimension " + llvm::Twine(i) +
                                         " of 'shape'");
    if (!dim)
      return dim.takeError();
    if (*dim > (uint64_t(1) << 62))
      return makeError(where + ": dimension " + llvm::Twine(i) + " (" +
                       llvm::Twine(*dim) + ") is absurdly large");
    overflow |= __builtin_mul_overflow(numel, *dim, &numel);
    entry.shape.push_back(static_cast<int64_t>(*dim));
  }

  const json::Value *offsets = object->get("data_offsets");
  if (!offsets)
    return makeError(where + " has no 'data_offsets'");
  const json::Array *pair = offsets->getAsArray();
  if (!pair || pair->size() != 2)
    return makeError(
        where + ": 'data_offsets' must be an array [begin, end], found " +
        (pair ? "an array of " + llvm::Twine(pair->size()) + " elements"
              : llvm::Twine(describe(*offsets))));
  auto begin = readIndex((*pair)[0], where + ": data_offsets begin");
  if (!begin)
    return begin.takeError();
  auto end = readIndex((*pair)[1], where + ": data_offsets end");
  if (!end)
    return end.takeError();
  entry.begin = *begin;
  entry.end = *end;
  if (entry.begin > entry.end)
    return makeError(where + " has reversed data_offsets [" +
                     llvm::Twine(entry.begin) + ", " + llvm::Twine(entry.end) +
                     "]; expected begin <= end");
  if (entry.end > dataSize)
    return makeError(where + " has data_offsets [" + llvm::Twine(entry.begin) +
                     ", " + llvm::Twine(entry.end) +
                     "] past the end of the data section (" +
                     llvm::Twine(dataSize) + " bytes)");
  uint64_t need = 0;
  overflow |= __builtin_mul_overflow(numel, dtypeSize(entry.type), &need);
  if (overflow || need != entry.end - entry.begin)
    return makeError(
        where + " has shape " + formatShape(entry.shape) + " and dtype " +
        dtypeName(entry.type) + ", which need " +
        (overflow ? llvm::Twine("more than 2^64") : llvm::Twine(need)) +
        " bytes, but its data_offsets [" + llvm::Twine(entry.begin) + ", " +
        llvm::Twine(entry.end) + "] span " +
        llvm::Twine(entry.end - entry.begin) + " bytes");
  return entry;
}

/// llvm::json keeps only one of several equal keys; count the top-level keys
/// of the (already validated) header text to catch repeated tensor names.
/// Returns the first repeated key as written, or "" if every key is unique
/// but the count still differs (the same key spelled with escapes).
static std::optional<std::string> findRepeatedKey(llvm::StringRef text,
                                                  size_t uniqueKeys) {
  llvm::StringSet<> keys;
  size_t count = 0;
  int depth = 0;
  std::optional<std::string> repeated;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      size_t start = ++i;
      while (i < text.size() && text[i] != '"')
        i += text[i] == '\\' ? 2 : 1;
      llvm::StringRef literal = text.slice(start, i);
      size_t next = text.find_first_not_of(" \t\r\n", i + 1);
      bool isKey = next != llvm::StringRef::npos && text[next] == ':';
      if (depth == 1 && isKey) {
        ++count;
        if (!keys.insert(literal).second && !repeated)
          repeated = literal.str();
      }
    }
  }
  if (count == uniqueKeys)
    return std::nullopt;
  return repeated ? repeated : std::optional<std::string>("");
}

llvm::Expected<SafeTensorsFile>
SafeTensorsFile::parseStorage(std::shared_ptr<Storage> storage,
                              llvm::StringRef path) {
  const uint8_t *bytes = storage->data();
  uint64_t size = storage->size();
  if (size < 8)
    return makeError("'" + path + "' is not a safetensors file: it is " +
                     llvm::Twine(size) +
                     " bytes long, shorter than the 8-byte header length");
  uint64_t headerSize = llvm::support::endian::read64le(bytes);
  if (headerSize > kMaxSafeTensorsHeaderBytes)
    return makeError("'" + path + "' declares a header of " +
                     llvm::Twine(headerSize) + " bytes, more than the " +
                     llvm::Twine(kMaxSafeTensorsHeaderBytes) +
                     "-byte limit; it is not a valid safetensors file");
  if (headerSize > size - 8)
    return makeError("'" + path + "' declares a header of " +
                     llvm::Twine(headerSize) + " bytes but only " +
                     llvm::Twine(size - 8) +
                     " bytes follow the length; the file is truncated or not "
                     "a safetensors file");
  llvm::StringRef headerText(reinterpret_cast<const char *>(bytes + 8),
                             headerSize);
  auto parsed = json::parse(headerText);
  if (!parsed)
    return makeError("the header of '" + path +
                     "' is not valid JSON: " + toString(parsed.takeError()));
  const json::Object *header = parsed->getAsObject();
  if (!header)
    return makeError("the header of '" + path +
                     "' must be a JSON object, found " + describe(*parsed));

  if (auto repeated = findRepeatedKey(headerText, header->size()))
    return makeError("the header of '" + path + "' lists " +
                     (repeated->empty() ? std::string("a tensor name")
                                        : "'" + *repeated + "'") +
                     " more than once; expected unique tensor names");

  uint64_t dataStart = 8 + headerSize;
  uint64_t dataSize = size - dataStart;
  SafeTensorsFile file;
  file.filePath = path.str();
  file.storage = storage;
  std::vector<Entry> entries;
  for (const auto &kv : *header) {
    llvm::StringRef key = kv.first;
    if (key == "__metadata__") {
      const json::Object *meta = kv.second.getAsObject();
      if (!meta)
        return makeError("'__metadata__' in '" + path +
                         "' must be a map of strings, found " +
                         describe(kv.second));
      for (const auto &m : *meta) {
        auto text = m.second.getAsString();
        if (!text)
          return makeError("'__metadata__' entry '" + m.first.str() + "' in '" +
                           path + "' must be a string, found " +
                           describe(m.second));
        file.meta[m.first.str()] = text->str();
      }
      continue;
    }
    if (key.empty())
      return makeError("the header of '" + path +
                       "' has a tensor with an empty name; expected every "
                       "tensor to be named");
    auto entry = parseEntry(key, kv.second, path, dataSize);
    if (!entry)
      return entry.takeError();
    entries.push_back(std::move(*entry));
  }

  // The tensors must tile the data section exactly: no overlap, no hole.
  llvm::sort(entries, [](const Entry &a, const Entry &b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t pos = 0;
  const Entry *previous = nullptr;
  for (const Entry &entry : entries) {
    if (entry.begin < pos)
      return makeError("tensor '" + entry.name + "' in '" + path + "' (bytes " +
                       llvm::Twine(entry.begin) + ".." +
                       llvm::Twine(entry.end) + ") overlaps tensor '" +
                       previous->name + "' (bytes " +
                       llvm::Twine(previous->begin) + ".." +
                       llvm::Twine(previous->end) + ")");
    if (entry.begin > pos)
      return makeError("bytes " + llvm::Twine(pos) + ".." +
                       llvm::Twine(entry.begin) + " of the data in '" + path +
                       "' belong to no tensor (a hole before tensor '" +
                       entry.name + "'); expected tensors to be contiguous");
    pos = entry.end;
    previous = &entry;
  }
  if (pos != dataSize)
    return makeError("the last " + llvm::Twine(dataSize - pos) +
                     " bytes of the data in '" + path +
                     "' belong to no tensor; expected the tensors to end at "
                     "the end of the file");

  for (const Entry &entry : entries) {
    file.order.push_back(entry.name);
    file.byName[entry.name] =
        Tensor::view(storage, dataStart + entry.begin, entry.type, entry.shape);
  }
  return file;
}

llvm::Expected<SafeTensorsFile> SafeTensorsFile::open(llvm::StringRef path) {
  auto storage = Storage::mapFile(path);
  if (!storage) {
    std::string message = toString(storage.takeError());
    if (llvm::StringRef(message).ends_with("the file is empty"))
      return makeError("'" + path +
                       "' is not a safetensors file: it is 0 bytes long, "
                       "shorter than the 8-byte header length");
    return makeError(message);
  }
  return parseStorage(std::move(*storage), path);
}

llvm::Expected<SafeTensorsFile>
SafeTensorsFile::parse(llvm::MemoryBufferRef buffer) {
  auto storage = Storage::allocate(buffer.getBufferSize());
  if (buffer.getBufferSize())
    std::memcpy(storage->mutableData(), buffer.getBufferStart(),
                buffer.getBufferSize());
  return parseStorage(std::move(storage), buffer.getBufferIdentifier());
}

Tensor SafeTensorsFile::get(llvm::StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? Tensor() : it->second;
}

std::vector<NamedTensor> SafeTensorsFile::tensors() const {
  std::vector<NamedTensor> out;
  out.reserve(order.size());
  for (const std::string &name : order)
    out.emplace_back(name, byName.lookup(name));
  return out;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

llvm::Error ftl::rt::writeSafeTensors(llvm::raw_ostream &os,
                                      llvm::ArrayRef<NamedTensor> tensors,
                                      const SafeTensorsMetadata &metadata) {
  llvm::StringSet<> seen;
  for (const NamedTensor &nt : tensors) {
    if (nt.first.empty())
      return makeError("cannot write a safetensors tensor with an empty name");
    if (nt.first == "__metadata__")
      return makeError("cannot write a tensor named '__metadata__': the name "
                       "is reserved for the metadata map");
    if (!json::isUTF8(nt.first))
      return makeError("cannot write tensor name '" + nt.first +
                       "': it is not valid UTF-8");
    if (!seen.insert(nt.first).second)
      return makeError("cannot write two tensors named '" + nt.first + "'");
    if (!nt.second.valid())
      return makeError("cannot write tensor '" + nt.first +
                       "': it has no data");
  }
  for (const auto &kv : metadata)
    if (!json::isUTF8(kv.first) || !json::isUTF8(kv.second))
      return makeError("cannot write metadata entry '" + kv.first +
                       "': it is not valid UTF-8");

  std::string header;
  {
    llvm::raw_string_ostream hs(header);
    json::OStream j(hs);
    uint64_t offset = 0;
    j.object([&] {
      if (!metadata.empty())
        j.attributeObject("__metadata__", [&] {
          for (const auto &kv : metadata)
            j.attribute(kv.first, kv.second);
        });
      for (const NamedTensor &nt : tensors) {
        const Tensor &t = nt.second;
        uint64_t end = offset + t.nbytes();
        j.attributeObject(nt.first, [&] {
          j.attribute("dtype", dtypeName(t.dtype()));
          j.attributeArray("shape", [&] {
            for (int64_t d : t.shape())
              j.value(d);
          });
          j.attributeArray("data_offsets", [&] {
            j.value(static_cast<int64_t>(offset));
            j.value(static_cast<int64_t>(end));
          });
        });
        offset = end;
      }
    });
  }
  while (header.size() % 8)
    header.push_back(' ');
  char length[8];
  llvm::support::endian::write64le(length, header.size());
  os.write(length, 8);
  os << header;
  for (const NamedTensor &nt : tensors)
    os.write(static_cast<const char *>(nt.second.data()), nt.second.nbytes());
  return llvm::Error::success();
}

llvm::Error ftl::rt::writeSafeTensors(llvm::StringRef path,
                                      llvm::ArrayRef<NamedTensor> tensors,
                                      const SafeTensorsMetadata &metadata) {
  return writeFileAtomically(path, [&](llvm::raw_ostream &os) {
    return writeSafeTensors(os, tensors, metadata);
  });
}

//===----------------------------------------------------------------------===//
// Sharded folders
//===----------------------------------------------------------------------===//

static const char kSingleFile[] = "model.safetensors";
static const char kIndexFile[] = "model.safetensors.index.json";

static std::string joinPath(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

llvm::Expected<std::vector<NamedTensor>>
ftl::rt::loadSafeTensorsFolder(llvm::StringRef dir) {
  if (!llvm::sys::fs::is_directory(dir))
    return makeError("model folder '" + dir +
                     "' does not exist or is not a "
                     "folder");
  std::string single = joinPath(dir, kSingleFile);
  if (llvm::sys::fs::exists(single)) {
    auto file = SafeTensorsFile::open(single);
    if (!file)
      return file.takeError();
    return file->tensors();
  }
  std::string indexPath = joinPath(dir, kIndexFile);
  if (!llvm::sys::fs::exists(indexPath)) {
    std::string hint;
    for (const char *pickle :
         {"pytorch_model.bin", "pytorch_model.bin.index.json"})
      if (llvm::sys::fs::exists(joinPath(dir, pickle)) && hint.empty())
        hint = std::string("; found '") + pickle +
               "', a PyTorch pickle ftl does not read (save the model with "
               "safe_serialization=True)";
    return makeError("no weights in '" + dir + "': expected '" + kSingleFile +
                     "' or '" + kIndexFile + "'" + hint);
  }
  auto buffer = llvm::MemoryBuffer::getFile(indexPath);
  if (!buffer)
    return makeError("cannot read '" + indexPath +
                     "': " + buffer.getError().message());
  auto parsed = json::parse((*buffer)->getBuffer());
  if (!parsed)
    return makeError("'" + indexPath +
                     "' is not valid JSON: " + toString(parsed.takeError()));
  const json::Object *index = parsed->getAsObject();
  if (!index)
    return makeError("'" + indexPath + "' must be a JSON object, found " +
                     describe(*parsed));
  const json::Value *mapValue = index->get("weight_map");
  if (!mapValue)
    return makeError("'" + indexPath + "' has no 'weight_map'");
  const json::Object *weightMap = mapValue->getAsObject();
  if (!weightMap)
    return makeError("'weight_map' in '" + indexPath +
                     "' must be an object mapping tensor names to shard "
                     "files, found " +
                     describe(*mapValue));
  if (const json::Value *meta = index->get("metadata");
      meta && meta->kind() != json::Value::Object &&
      meta->kind() != json::Value::Null)
    return makeError("'metadata' in '" + indexPath +
                     "' must be an object, found " + describe(*meta));

  std::map<std::string, std::vector<std::string>> byShard;
  for (const auto &kv : *weightMap) {
    auto shard = kv.second.getAsString();
    if (!shard)
      return makeError("'weight_map' entry '" + kv.first.str() + "' in '" +
                       indexPath + "' must name a shard file, found " +
                       describe(kv.second));
    if (shard->empty() || shard->contains('/') || shard->contains('\\') ||
        *shard == "." || *shard == "..")
      return makeError("'weight_map' entry '" + kv.first.str() + "' in '" +
                       indexPath + "' names shard '" + *shard +
                       "'; expected a file name inside the model folder");
    byShard[shard->str()].push_back(kv.first.str());
  }
  if (byShard.empty())
    return makeError("'weight_map' in '" + indexPath + "' is empty");

  std::vector<NamedTensor> out;
  for (auto &[shardName, names] : byShard) {
    std::string shardPath = joinPath(dir, shardName);
    if (!llvm::sys::fs::exists(shardPath))
      return makeError("shard '" + shardName + "' listed in '" + indexPath +
                       "' (for tensor '" + names.front() + "') does not exist");
    auto file = SafeTensorsFile::open(shardPath);
    if (!file)
      return file.takeError();
    llvm::StringSet<> listed;
    for (const std::string &name : names) {
      listed.insert(name);
      if (!file->contains(name))
        return makeError("tensor '" + name + "' is mapped to shard '" +
                         shardName + "' by '" + indexPath +
                         "', but that shard does not contain it");
    }
    for (const std::string &name : file->names())
      if (!listed.count(name))
        return makeError("shard '" + shardPath + "' holds tensor '" + name +
                         "', which '" + indexPath + "' does not map to it");
    for (NamedTensor &nt : file->tensors())
      out.push_back(std::move(nt));
  }
  return out;
}

std::vector<std::vector<size_t>>
ftl::rt::planShards(llvm::ArrayRef<NamedTensor> tensors, size_t maxShardBytes) {
  std::vector<std::vector<size_t>> shards;
  if (maxShardBytes == 0) {
    shards.emplace_back();
    for (size_t i = 0; i < tensors.size(); ++i)
      shards.back().push_back(i);
    return shards;
  }
  // Same walk as huggingface_hub's split_state_dict_into_shards_factory,
  // including its order: an oversized tensor's own shard is appended before
  // the shard that is still being filled.
  std::vector<size_t> current;
  size_t currentSize = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    size_t size = tensors[i].second.nbytes();
    if (size > maxShardBytes) {
      shards.push_back({i});
      continue;
    }
    if (currentSize + size > maxShardBytes) {
      shards.push_back(std::move(current));
      current.clear();
      currentSize = 0;
    }
    current.push_back(i);
    currentSize += size;
  }
  if (!current.empty())
    shards.push_back(std::move(current));
  if (shards.empty())
    shards.emplace_back();
  return shards;
}

std::string ftl::rt::formatShardIndex(
    uint64_t totalSize,
    llvm::ArrayRef<std::pair<std::string, std::string>> weightMap) {
  json::Object map;
  for (const auto &kv : weightMap)
    map[kv.first] = kv.second;
  json::Object index{
      {"metadata", json::Object{{"total_size", totalSize}}},
      {"weight_map", std::move(map)},
  };
  return pythonJsonDumps(json::Value(std::move(index))) + "\n";
}

llvm::Error ftl::rt::writeSafeTensorsFolder(
    llvm::StringRef dir, llvm::ArrayRef<NamedTensor> tensors,
    size_t maxShardBytes, const SafeTensorsMetadata &metadata) {
  llvm::StringSet<> seen;
  for (const NamedTensor &nt : tensors)
    if (!seen.insert(nt.first).second)
      return makeError("cannot write two tensors named '" + nt.first + "'");
  std::vector<std::vector<size_t>> shards = planShards(tensors, maxShardBytes);
  if (shards.size() == 1)
    return writeSafeTensors(joinPath(dir, kSingleFile), tensors, metadata);
  std::vector<std::pair<std::string, std::string>> weightMap;
  uint64_t totalSize = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    std::string name;
    llvm::raw_string_ostream(name)
        << "model-" << llvm::format_decimal(s + 1, 5) << "-of-"
        << llvm::format_decimal(shards.size(), 5) << ".safetensors";
    std::replace(name.begin(), name.end(), ' ', '0');
    std::vector<NamedTensor> part;
    for (size_t i : shards[s]) {
      part.push_back(tensors[i]);
      weightMap.emplace_back(tensors[i].first, name);
      totalSize += tensors[i].second.nbytes();
    }
    if (llvm::Error err = writeSafeTensors(joinPath(dir, name), part, metadata))
      return err;
  }
  return writeFileAtomically(joinPath(dir, kIndexFile),
                             formatShardIndex(totalSize, weightMap));
}
