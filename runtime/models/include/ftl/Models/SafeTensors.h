//===- ftl/Models/SafeTensors.h - safetensors files and folders -*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Reading and writing the safetensors format: an 8-byte little-endian header
/// length N, N bytes of JSON (an object mapping tensor names to
/// {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional
/// "__metadata__" map of strings), then the tensor bytes. Reading memory-maps
/// the file and hands out zero-copy read-only tensor views; every structural
/// rule is checked and broken files get an error naming the file and tensor.
///
/// Sharded checkpoints are a folder with "model.safetensors.index.json"
/// ({"metadata": {"total_size": N}, "weight_map": {name: shard file}}) next to
/// "model-00001-of-0000K.safetensors" files, as transformers writes them.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_MODELS_SAFETENSORS_H
#define FTL_MODELS_SAFETENSORS_H

#include "ftl/Runtime/Tensor.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class MemoryBufferRef;
class raw_ostream;
} // namespace llvm

namespace ftl::rt {

using NamedTensor = std::pair<std::string, Tensor>;
using SafeTensorsMetadata = std::map<std::string, std::string>;

/// The header is at most this long (the reference implementation's limit).
constexpr uint64_t kMaxSafeTensorsHeaderBytes = 100'000'000;

class SafeTensorsFile {
public:
  /// Maps and validates `path`.
  static llvm::Expected<SafeTensorsFile> open(llvm::StringRef path);
  /// Validates bytes already in memory (they are copied); the buffer's
  /// identifier stands in for the file name in messages.
  static llvm::Expected<SafeTensorsFile> parse(llvm::MemoryBufferRef buffer);

  /// The file name used in messages.
  llvm::StringRef path() const { return filePath; }
  /// Tensor names in the order of their data in the file.
  const std::vector<std::string> &names() const { return order; }
  size_t size() const { return order.size(); }
  bool contains(llvm::StringRef name) const { return byName.count(name); }
  /// The named tensor (a read-only view into the file), or an invalid
  /// `Tensor` when there is none.
  Tensor get(llvm::StringRef name) const;
  /// Every tensor, in file order.
  std::vector<NamedTensor> tensors() const;
  const SafeTensorsMetadata &metadata() const { return meta; }

private:
  static llvm::Expected<SafeTensorsFile>
  parseStorage(std::shared_ptr<Storage> storage, llvm::StringRef path);

  std::string filePath;
  std::shared_ptr<Storage> storage;
  std::vector<std::string> order;
  llvm::StringMap<Tensor> byName;
  SafeTensorsMetadata meta;
};

/// Writes the safetensors bytes for `tensors` (in the given order, contiguous,
/// no padding between tensors) to `os`. The JSON header is compact, lists
/// "__metadata__" first (when not empty) and then the tensors in order, and is
/// padded with spaces to a multiple of 8 bytes. Duplicate or empty names, the
/// reserved name "__metadata__" and invalid tensors are errors.
llvm::Error writeSafeTensors(llvm::raw_ostream &os,
                             llvm::ArrayRef<NamedTensor> tensors,
                             const SafeTensorsMetadata &metadata = {});

/// The same, written atomically to `path`.
llvm::Error writeSafeTensors(llvm::StringRef path,
                             llvm::ArrayRef<NamedTensor> tensors,
                             const SafeTensorsMetadata &metadata = {});

/// Reads "model.safetensors" from `dir`, or else
/// "model.safetensors.index.json" and its shards. Each shard must exist and
/// hold exactly the tensors the index maps to it. Tensors come back in shard
/// order (shards by file name), then file order.
llvm::Expected<std::vector<NamedTensor>>
loadSafeTensorsFolder(llvm::StringRef dir);

/// How transformers splits tensors (in order) into shards of at most
/// `maxShardBytes` (a tensor larger than that gets a shard of its own).
/// Returns, per shard, the indices of its tensors. `maxShardBytes == 0`
/// means one shard.
std::vector<std::vector<size_t>> planShards(llvm::ArrayRef<NamedTensor> tensors,
                                            size_t maxShardBytes);

/// The "model.safetensors.index.json" text transformers writes
/// (json.dumps(index, indent=2, sort_keys=True) + "\n").
std::string
formatShardIndex(uint64_t totalSize,
                 llvm::ArrayRef<std::pair<std::string, std::string>> weightMap);

/// Writes `tensors` into the existing folder `dir` as "model.safetensors"
/// or, when they do not fit in one shard of `maxShardBytes` (0 = never
/// shard), as "model-0000i-of-0000K.safetensors" files plus
/// "model.safetensors.index.json". Each file is written atomically.
llvm::Error writeSafeTensorsFolder(llvm::StringRef dir,
                                   llvm::ArrayRef<NamedTensor> tensors,
                                   size_t maxShardBytes = 0,
                                   const SafeTensorsMetadata &metadata = {
                                       {"format", "pt"}});

} // namespace ftl::rt

#endif // FTL_MODELS_SAFETENSORS_H
