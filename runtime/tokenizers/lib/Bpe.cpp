//===- Bpe.cpp - The BPE model --------------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Bpe.h"
#include "Pipeline.h"
#include "Unicode.h"

#include "llvm/Support/xxhash.h"

#include <algorithm>

using llvm::StringRef;

namespace ftl::rt::tok {

struct alignas(64) BpeModel::CacheShard {
  std::mutex mu;
  /// Word -> (offset, length) in `ids`.
  llvm::StringMap<std::pair<uint32_t, uint32_t>> index;
  std::vector<int32_t> ids;
};

BpeModel::BpeModel(llvm::StringMap<int32_t> vocabIn,
                   llvm::ArrayRef<std::array<int32_t, 3>> mergeList,
                   BpeOptions opts)
    : vocab(std::move(vocabIn)), options(opts), cache(new CacheShard[kShards]) {
  merges.reserve(mergeList.size());
  for (size_t rank = 0; rank < mergeList.size(); ++rank) {
    const auto &m = mergeList[rank];
    // A later duplicate wins, as when `tokenizers` collects its merge map.
    merges[(uint64_t(uint32_t(m[0])) << 32) | uint32_t(m[1])] = {int32_t(rank),
                                                                 m[2]};
  }
  singleByteIds.fill(-1);
  fallbackIds.fill(-1);
  for (unsigned b = 0; b < 256; ++b) {
    if (options.byteLevel || b < 0x80) {
      char c = char(b);
      auto it = vocab.find(StringRef(&c, 1));
      if (it != vocab.end())
        singleByteIds[b] = it->second;
    }
    char name[8];
    snprintf(name, sizeof(name), "<0x%02X>", b);
    // In byte-level mode the vocabulary is stored as raw bytes; a "<0xNN>"
    // token is plain ASCII either way.
    auto it = vocab.find(name);
    if (it != vocab.end())
      fallbackIds[b] = it->second;
  }
  static constexpr StringRef kMeta = "\xE2\x96\x81"; // U+2581
  if (!options.byteLevel && vocab.count(kMeta)) {
    splitAtMetaspace = llvm::none_of(vocab.keys(), [](StringRef token) {
      for (size_t p = token.find(kMeta, 1); p != StringRef::npos;
           p = token.find(kMeta, p + 1))
        if (p < 3 || token.substr(p - 3, 3) != kMeta)
          return true;
      return false;
    });
  }
}

BpeModel::~BpeModel() = default;

size_t BpeModel::cacheSize() const {
  size_t n = 0;
  for (unsigned s = 0; s < kShards; ++s) {
    std::lock_guard<std::mutex> lock(cache[s].mu);
    n += cache[s].index.size();
  }
  return n;
}

void BpeModel::addSymbol(llvm::SmallVectorImpl<Symbol> &syms, int32_t id,
                         uint32_t len) const {
  int32_t pos = int32_t(syms.size());
  syms.push_back({id, pos - 1, -1, len});
  if (pos > 0)
    syms[pos - 1].next = pos;
}

void BpeModel::mergeWord(StringRef word, std::vector<int32_t> &out) const {
  llvm::SmallVector<Symbol, 64> syms;
  // A pending unknown symbol (id, byte length), as `tokenizers` keeps it.
  int32_t unkId = -1;
  uint32_t unkLen = 0;
  for (size_t i = 0; i < word.size();) {
    unsigned len = 1;
    int32_t id;
    if (options.byteLevel) {
      id = singleByteIds[uint8_t(word[i])];
    } else if (uint8_t(word[i]) < 0x80) {
      id = singleByteIds[uint8_t(word[i])];
    } else {
      unicode::decodeUtf8(word, i, len);
      auto it = vocab.find(word.substr(i, len));
      id = it == vocab.end() ? -1 : it->second;
    }
    StringRef unit = word.substr(i, len);
    i += len;
    if (id >= 0) {
      if (unkId >= 0) {
        addSymbol(syms, unkId, unkLen);
        unkId = -1;
      }
      addSymbol(syms, id, len);
      continue;
    }
    if (options.byteFallback) {
      // The bytes of the symbol's string: in byte-level mode that is the
      // UTF-8 of the code point standing for the byte.
      std::string bytes;
      if (options.byteLevel)
        unicode::appendUtf8(byteToUnicode(uint8_t(unit[0])), bytes);
      else
        bytes = unit.str();
      bool all = llvm::all_of(
          bytes, [&](char b) { return fallbackIds[uint8_t(b)] >= 0; });
      if (all) {
        // Like `tokenizers`, a pending unknown is not flushed here.
        for (char b : bytes)
          addSymbol(syms, fallbackIds[uint8_t(b)], 1);
        continue;
      }
    }
    if (options.unkId) {
      if (unkId >= 0 && options.fuseUnk) {
        unkLen += len;
      } else {
        if (unkId >= 0)
          addSymbol(syms, unkId, unkLen);
        unkId = *options.unkId;
        unkLen = len;
      }
    }
  }
  if (unkId >= 0)
    addSymbol(syms, unkId, unkLen);

  struct Cand {
    int32_t rank, pos, newId;
  };
  // A max-heap on "goodness": lowest rank first, then leftmost.
  auto worse = [](const Cand &a, const Cand &b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  llvm::SmallVector<Cand, 64> heap;
  for (size_t i = 0; i + 1 < syms.size(); ++i)
    if (const MergeInfo *m = findMerge(syms[i].id, syms[i + 1].id))
      heap.push_back({m->rank, int32_t(i), m->newId});
  std::make_heap(heap.begin(), heap.end(), worse);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    Cand top = heap.back();
    heap.pop_back();
    Symbol &s = syms[top.pos];
    if (s.len == 0 || s.next < 0)
      continue;
    int32_t nextPos = s.next;
    Symbol right = syms[nextPos];
    const MergeInfo *m = findMerge(s.id, right.id);
    if (!m || m->newId != top.newId)
      continue; // stale
    s.id = top.newId;
    s.len += right.len;
    s.next = right.next;
    syms[nextPos].len = 0;
    if (right.next >= 0)
      syms[right.next].prev = top.pos;
    if (s.prev >= 0) {
      if (const MergeInfo *pm = findMerge(syms[s.prev].id, s.id)) {
        heap.push_back({pm->rank, s.prev, pm->newId});
        std::push_heap(heap.begin(), heap.end(), worse);
      }
    }
    if (s.next >= 0) {
      if (const MergeInfo *nm = findMerge(s.id, syms[s.next].id)) {
        heap.push_back({nm->rank, top.pos, nm->newId});
        std::push_heap(heap.begin(), heap.end(), worse);
      }
    }
  }
  for (const Symbol &s : syms)
    if (s.len)
      out.push_back(s.id);
}

void BpeModel::tokenize(StringRef word, std::vector<int32_t> &out) const {
  if (splitAtMetaspace) {
    // Cut before each "▁" that follows something else; merges cannot cross
    // those points, so the parts give the same ids as the whole.
    static constexpr StringRef kMeta = "\xE2\x96\x81";
    size_t start = 0;
    for (size_t p = word.find(kMeta, 1); p != StringRef::npos;
         p = word.find(kMeta, p + 3)) {
      if (p >= 3 && word.substr(p - 3, 3) == kMeta)
        continue;
      tokenizePart(word.slice(start, p), out);
      start = p;
    }
    tokenizePart(word.substr(start), out);
    return;
  }
  tokenizePart(word, out);
}

void BpeModel::tokenizePart(StringRef word, std::vector<int32_t> &out) const {
  if (word.empty())
    return;
  // With ignore_merges a word in the vocabulary is one token. The cache
  // holds the result either way, so it is consulted first.
  auto compute = [&] {
    if (options.ignoreMerges) {
      auto it = vocab.find(word);
      if (it != vocab.end()) {
        out.push_back(it->second);
        return;
      }
    }
    mergeWord(word, out);
  };
  if (word.size() > kMaxCachedWord) {
    compute();
    return;
  }
  CacheShard &shard = cache[llvm::xxh3_64bits(word) % kShards];
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.index.find(word);
    if (it != shard.index.end()) {
      const int32_t *ids = shard.ids.data() + it->second.first;
      out.insert(out.end(), ids, ids + it->second.second);
      return;
    }
  }
  size_t mark = out.size();
  compute();
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.index.size() >= kShardCapacity) {
    shard.index.clear();
    shard.ids.clear();
  }
  auto [it, inserted] = shard.index.try_emplace(
      word, uint32_t(shard.ids.size()), uint32_t(out.size() - mark));
  if (inserted)
    shard.ids.insert(shard.ids.end(), out.begin() + mark, out.end());
}

} // namespace ftl::rt::tok
