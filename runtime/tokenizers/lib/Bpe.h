//===- Bpe.h - The BPE model ------------------------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Internal to FTLTokenizers: the BPE model of Hugging Face `tokenizers`
/// (merges applied by rank with a priority queue over a linked list of
/// symbols, byte fallback, unk fusing, ignore_merges) and a bounded, sharded
/// per-word cache so that parallel encoding shares it.
///
/// In byte-level mode the model works on raw bytes: vocabulary strings are
/// stored with the GPT-2 byte-to-unicode mapping undone, so the pre-tokenizer
/// output is looked up directly.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_TOKENIZERS_LIB_BPE_H
#define FTL_TOKENIZERS_LIB_BPE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace ftl::rt::tok {

struct BpeOptions {
  bool byteLevel = false;
  bool byteFallback = false;
  bool fuseUnk = false;
  bool ignoreMerges = false;
  std::optional<int32_t> unkId;
};

class BpeModel {
public:
  /// `vocab` maps model-space strings (raw bytes in byte-level mode) to
  /// ids; `merges` lists (left id, right id, merged id) by rank.
  BpeModel(llvm::StringMap<int32_t> vocab,
           llvm::ArrayRef<std::array<int32_t, 3>> merges, BpeOptions options);
  ~BpeModel();

  /// Appends the ids of one pre-tokenized word.
  void tokenize(llvm::StringRef word, std::vector<int32_t> &out) const;

  /// Number of cached words (for tests).
  size_t cacheSize() const;

  /// Largest word (in bytes) the cache keeps.
  static constexpr size_t kMaxCachedWord = 256;

private:
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    uint32_t len;
  };
  struct MergeInfo {
    int32_t rank, newId;
  };

  void mergeWord(llvm::StringRef word, std::vector<int32_t> &out) const;
  void tokenizePart(llvm::StringRef word, std::vector<int32_t> &out) const;
  void addSymbol(llvm::SmallVectorImpl<Symbol> &syms, int32_t id,
                 uint32_t len) const;
  const MergeInfo *findMerge(int32_t a, int32_t b) const {
    auto it = merges.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b));
    return it == merges.end() ? nullptr : &it->second;
  }

  llvm::StringMap<int32_t> vocab;
  llvm::DenseMap<uint64_t, MergeInfo> merges;
  BpeOptions options;
  /// Id of each one-byte symbol (byte-level) or ASCII character, or -1.
  std::array<int32_t, 256> singleByteIds;
  /// Id of "<0xNN>" for each byte, or -1.
  std::array<int32_t, 256> fallbackIds;
  /// Whether no merge can cross the start of a "▁" that follows another
  /// character: "▁" is a token and no token has "▁" after anything but
  /// "▁". Then words (whole sentences without a pre-tokenizer, as in
  /// Llama-2) are cut there and the pieces go through the cache.
  bool splitAtMetaspace = false;

  struct CacheShard;
  static constexpr unsigned kShards = 64;
  static constexpr size_t kShardCapacity = 2048;
  std::unique_ptr<CacheShard[]> cache;
};

} // namespace ftl::rt::tok

#endif // FTL_TOKENIZERS_LIB_BPE_H
