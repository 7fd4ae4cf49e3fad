//===- SemaFiles.cpp - What the checker reads from input files ------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The checker looks into input files just enough to check a script: the
// field names of the first record of a JSON-lines file, and the shape of a
// model folder. Reading is bounded so `ftl check` stays fast on big files.
//
//===----------------------------------------------------------------------===//

#include "SemaImpl.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace ftl::lang;
using llvm::StringRef;

bool ftl::lang::peekJsonlFields(StringRef path,
                                std::vector<std::string> &fields,
                                std::string &error) {
  // Read at most the first 4 MiB: enough for any sane first record.
  uint64_t size = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, size)) {
    error = ec.message();
    return false;
  }
  uint64_t sliceSize = std::min<uint64_t>(size, 4 << 20);
  if (sliceSize == 0) {
    error = "the file has no records";
    return false;
  }
  auto buffer = llvm::MemoryBuffer::getFileSlice(path, sliceSize, 0);
  if (!buffer) {
    error = buffer.getError().message();
    return false;
  }
  StringRef text = (*buffer)->getBuffer();
  unsigned lineNo = 0;
  while (!text.empty()) {
    auto [line, rest] = text.split('\n');
    text = rest;
    ++lineNo;
    if (line.trim().empty())
      continue;
    auto value = llvm::json::parse(line);
    if (!value) {
      error = "line " + std::to_string(lineNo) +
              " is not valid JSON: " + llvm::toString(value.takeError());
      return false;
    }
    const llvm::json::Object *object = value->getAsObject();
    if (!object) {
      error = "line " + std::to_string(lineNo) + " is not a JSON object";
      return false;
    }
    for (const auto &entry : *object)
      fields.push_back(entry.first.str());
    llvm::sort(fields);
    return true;
  }
  error = "the file has no records";
  return false;
}

bool ftl::lang::readModelFolder(StringRef dir, ModelInfo &info,
                                bool &isAdapter, std::string &error) {
  llvm::SmallString<256> adapterConfig(dir);
  llvm::sys::path::append(adapterConfig, "adapter_config.json");
  if (llvm::sys::fs::exists(adapterConfig)) {
    isAdapter = true;
    return true;
  }
  llvm::SmallString<256> config(dir);
  llvm::sys::path::append(config, "config.json");
  auto buffer = llvm::MemoryBuffer::getFile(config);
  if (!buffer) {
    error = "it has no config.json (nor adapter_config.json)";
    return false;
  }
  auto value = llvm::json::parse((*buffer)->getBuffer());
  if (!value) {
    error = "config.json is not valid JSON: " +
            llvm::toString(value.takeError());
    return false;
  }
  const llvm::json::Object *object = value->getAsObject();
  if (!object) {
    error = "config.json is not a JSON object";
    return false;
  }
  std::optional<StringRef> type = object->getString("model_type");
  if (!type) {
    error = "config.json has no 'model_type'";
    return false;
  }
  auto integer = [&](std::initializer_list<StringRef> keys,
                     int64_t fallback) -> int64_t {
    for (StringRef key : keys)
      if (auto v = object->getInteger(key))
        return *v;
    return fallback;
  };
  if (*type == "llama" || *type == "mistral" || *type == "qwen2") {
    info.arch = ModelInfo::Arch::Llama;
    info.vocab = integer({"vocab_size"}, 0);
    info.dim = integer({"hidden_size"}, 0);
    info.layers = integer({"num_hidden_layers"}, 0);
    info.heads = integer({"num_attention_heads"}, 0);
    info.kvHeads = integer({"num_key_value_heads"}, info.heads);
    info.ffn = integer({"intermediate_size"}, 0);
    info.ctx = integer({"max_position_embeddings"}, 2048);
    info.tied = object->getBoolean("tie_word_embeddings").value_or(false);
    info.qkvBias = *type == "qwen2" ||
                   object->getBoolean("attention_bias").value_or(false);
  } else if (*type == "gpt2") {
    info.arch = ModelInfo::Arch::GPT2;
    info.vocab = integer({"vocab_size"}, 50257);
    info.dim = integer({"n_embd"}, 768);
    info.layers = integer({"n_layer"}, 12);
    info.heads = integer({"n_head"}, 12);
    info.kvHeads = info.heads;
    info.ffn = integer({"n_inner"}, 4 * info.dim);
    info.ctx = integer({"n_positions"}, 1024);
    info.tied = true;
    info.qkvBias = true;
  } else {
    error = "unknown architecture '" + type->str() +
            "' in config.json; supported: llama, mistral, qwen2, gpt2";
    return false;
  }
  if (info.dim <= 0 || info.layers <= 0 || info.heads <= 0 ||
      info.vocab <= 0) {
    error = "config.json lacks a positive hidden size, layer count, head "
            "count or vocabulary size";
    return false;
  }
  const std::pair<const char *, int64_t> sizes[] = {
      {"layer count", info.layers}, {"vocabulary size", info.vocab},
      {"hidden size", info.dim},    {"head count", info.heads},
      {"key/value head count", info.kvHeads},
      {"intermediate size", info.ffn}, {"context length", info.ctx}};
  for (auto [what, value] : sizes) {
    int64_t limit = StringRef(what) == "layer count" ? maxModelLayers
                                                    : maxModelSize;
    if (value > limit || value < 0) {
      error = "config.json's " + std::string(what) + " is " +
              std::to_string(value) + "; expected at most " +
              std::to_string(limit);
      return false;
    }
  }
  if (info.dim % info.heads != 0 ||
      (info.kvHeads > 0 && info.heads % info.kvHeads != 0)) {
    error = "config.json's hidden size, head count and key/value head count "
            "do not fit together; expected the hidden size to be a multiple "
            "of the head count, and the head count of the key/value head count";
    return false;
  }
  return true;
}
