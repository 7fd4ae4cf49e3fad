//===- TokenCache.cpp - On-disk cache of tokenized data -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "ftl/Data/TokenCache.h"
#include "ftl/Runtime/FileUtil.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <cstdlib>
#include <cstring>
#include <map>

using namespace ftl::rt;
using namespace ftl::rt::detail;

// File layout (all integers little-endian, as the host writes them):
//   header  64 B: "FTLTOKC\0", u32 version, u32 kind, u64 xxh3(keyTag), 0...
//   data        : examples: ids (i32 x len) then weights (f32 x len) each;
//                 rows: ids then weights (x seqLen) each (segment ids and
//                 positions follow from the segment table)
//   index   (8-aligned): ExampleEntry or RowEntry per item
//   extra   (8-aligned): examples: source names (u32 count, (u32 len,
//                 bytes)...); rows: SegmentEntry per segment
//   footer  64 B: "FTLTOKE\0", count, indexOffset, extraOffset,
//                 footerOffset, seqLen, checksum, extraCount
// checksum: h = 0; for each 1 MiB block of bytes [0, footerOffset):
// h = mix64(h ^ xxh3_64(block)).

namespace {

constexpr char kHeaderMagic[8] = {'F', 'T', 'L', 'T', 'O', 'K', 'C', 0};
constexpr char kFooterMagic[8] = {'F', 'T', 'L', 'T', 'O', 'K', 'E', 0};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kKindExamples = 1, kKindRows = 2;
constexpr size_t kHeaderSize = 64, kFooterSize = 64;
constexpr size_t kBlock = 1 << 20;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t kind;
  uint64_t keyHash;
  uint64_t reserved[5];
};
static_assert(sizeof(Header) == kHeaderSize, "header size");

struct Footer {
  char magic[8];
  uint64_t count;
  uint64_t indexOffset;
  uint64_t extraOffset;
  uint64_t footerOffset;
  uint64_t seqLen;
  uint64_t checksum;
  uint64_t extraCount;
};
static_assert(sizeof(Footer) == kFooterSize, "footer size");

struct ExampleEntry {
  uint64_t offset;
  uint32_t length;
  int32_t promptLength;
  int64_t exampleIndex;
  int64_t line;
  int64_t sourceIndex;
  uint32_t sourceId; // UINT32_MAX = none
  uint8_t part;
  uint8_t truncated;
  uint16_t reserved;
};
static_assert(sizeof(ExampleEntry) == 48, "entry size");

struct RowEntry {
  uint64_t offset;
  uint64_t segBegin;
  uint32_t segCount;
  uint32_t reserved;
};
static_assert(sizeof(RowEntry) == 24, "row entry size");

struct SegmentEntry {
  int64_t exampleIndex;
  int32_t start;
  int32_t length;
  int32_t piece;
  int32_t reserved;
};
static_assert(sizeof(SegmentEntry) == 24, "segment entry size");

uint64_t hashTag(llvm::StringRef tag) {
  return llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(tag.data()), tag.size()));
}

uint64_t checksumOf(const char *data, size_t n) {
  uint64_t h = 0;
  for (size_t off = 0; off < n; off += kBlock) {
    size_t len = std::min(kBlock, n - off);
    h = mix64(h ^ llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
                      reinterpret_cast<const uint8_t *>(data + off), len)));
  }
  return h;
}

/// Buffers output in 1 MiB blocks and checksums them as they go.
class BlockWriter {
public:
  explicit BlockWriter(llvm::raw_ostream &os) : os(os) { buf.reserve(kBlock); }

  void write(const void *data, size_t n) {
    const char *p = static_cast<const char *>(data);
    while (n > 0) {
      size_t k = std::min(n, kBlock - buf.size());
      buf.insert(buf.end(), p, p + k);
      p += k;
      n -= k;
      if (buf.size() == kBlock)
        flush();
    }
  }
  template <typename T>
  void put(const T &v) {
    write(&v, sizeof(T));
  }
  void align(size_t a) {
    static const char zeros[8] = {};
    size_t rem = offset() % a;
    if (rem)
      write(zeros, a - rem);
  }
  uint64_t offset() const { return written + buf.size(); }
  /// Flushes everything and returns the checksum of all bytes written.
  uint64_t finish() {
    if (!buf.empty())
      flush();
    return hash;
  }
  /// Bytes after the checksummed part (the footer).
  void writeRaw(const void *data, size_t n) {
    os.write(static_cast<const char *>(data), n);
  }

private:
  void flush() {
    hash = mix64(
        hash ^ llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
                   reinterpret_cast<const uint8_t *>(buf.data()), buf.size())));
    os.write(buf.data(), buf.size());
    written += buf.size();
    buf.clear();
  }

  llvm::raw_ostream &os;
  std::vector<char> buf;
  uint64_t written = 0;
  uint64_t hash = 0;
};

void writeHeader(BlockWriter &w, uint32_t kind, llvm::StringRef keyTag) {
  Header h{};
  std::memcpy(h.magic, kHeaderMagic, 8);
  h.version = kVersion;
  h.kind = kind;
  h.keyHash = hashTag(keyTag);
  w.put(h);
}

void writeFooter(BlockWriter &w, Footer f) {
  f.footerOffset = w.offset();
  f.checksum = w.finish();
  std::memcpy(f.magic, kFooterMagic, 8);
  w.writeRaw(&f, sizeof(f));
}

/// A validated, mapped cache file.
struct MappedCache {
  std::unique_ptr<llvm::MemoryBuffer> buf;
  Footer footer;
  const char *data() const { return buf->getBufferStart(); }
};

llvm::Expected<MappedCache> mapCache(llvm::StringRef path, uint32_t kind,
                                     llvm::StringRef keyTag) {
  auto bufOr = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!bufOr)
    return makeError("cannot read token cache '" + path +
                     "': " + bufOr.getError().message());
  MappedCache m;
  m.buf = std::move(*bufOr);
  size_t size = m.buf->getBufferSize();
  auto bad = [&](const llvm::Twine &what) {
    return makeError("token cache '" + path + "' is invalid: " + what);
  };
  if (size < kHeaderSize + kFooterSize)
    return bad("truncated (" + llvm::Twine(size) + " bytes)");
  Header h;
  std::memcpy(&h, m.data(), sizeof(h));
  if (std::memcmp(h.magic, kHeaderMagic, 8) != 0)
    return bad("not a token cache file (bad magic)");
  if (h.version != kVersion)
    return bad("format version " + llvm::Twine(h.version) + ", expected " +
               llvm::Twine(kVersion));
  if (h.kind != kind)
    return bad("holds " +
               llvm::Twine(h.kind == kKindRows ? "packed rows" : "examples") +
               ", expected " +
               (kind == kKindRows ? "packed rows" : "examples"));
  if (h.keyHash != hashTag(keyTag))
    return bad("written for another pipeline (key mismatch)");
  std::memcpy(&m.footer, m.data() + size - kFooterSize, kFooterSize);
  const Footer &f = m.footer;
  if (std::memcmp(f.magic, kFooterMagic, 8) != 0)
    return bad("truncated or incomplete (bad footer)");
  if (f.footerOffset != size - kFooterSize)
    return bad("truncated (footer says " + llvm::Twine(f.footerOffset) +
               " bytes of data, file has " + llvm::Twine(size - kFooterSize) +
               ")");
  if (!(kHeaderSize <= f.indexOffset && f.indexOffset <= f.extraOffset &&
        f.extraOffset <= f.footerOffset && f.indexOffset % 8 == 0 &&
        f.extraOffset % 8 == 0))
    return bad("section offsets out of order");
  if (checksumOf(m.data(), f.footerOffset) != f.checksum)
    return bad("checksum mismatch (the file is corrupt)");
  return m;
}

class CachedExampleStream : public ExampleStream {
public:
  CachedExampleStream(MappedCache m,
                      std::vector<std::shared_ptr<const std::string>> sources)
      : m(std::move(m)), sources(std::move(sources)) {}

  llvm::Expected<bool> next(TokenizedExample &out) override {
    if (pos >= m.footer.count)
      return false;
    ExampleEntry e;
    std::memcpy(&e, m.data() + m.footer.indexOffset + pos * sizeof(e),
                sizeof(e));
    ++pos;
    out = TokenizedExample();
    out.ids.resize(e.length);
    out.weights.resize(e.length);
    std::memcpy(out.ids.data(), m.data() + e.offset, 4 * size_t(e.length));
    std::memcpy(out.weights.data(), m.data() + e.offset + 4 * size_t(e.length),
                4 * size_t(e.length));
    out.exampleIndex = e.exampleIndex;
    out.promptLength = e.promptLength;
    out.part = static_cast<TokenizedExample::Part>(e.part);
    out.truncated = e.truncated != 0;
    out.provenance.line = e.line;
    out.provenance.index = e.sourceIndex;
    if (e.sourceId != UINT32_MAX)
      out.provenance.source = sources[e.sourceId];
    return true;
  }

private:
  MappedCache m;
  std::vector<std::shared_ptr<const std::string>> sources;
  uint64_t pos = 0;
};

class CachedRowStream : public RowStream {
public:
  explicit CachedRowStream(MappedCache m) : m(std::move(m)) {}

  llvm::Expected<bool> next(PackedRow &out) override {
    if (pos >= m.footer.count)
      return false;
    size_t s = m.footer.seqLen;
    RowEntry e;
    std::memcpy(&e, m.data() + m.footer.indexOffset + pos * sizeof(e),
                sizeof(e));
    ++pos;
    out = PackedRow();
    const char *p = m.data() + e.offset;
    out.ids.resize(s);
    out.weights.resize(s);
    std::memcpy(out.ids.data(), p, 4 * s);
    std::memcpy(out.weights.data(), p + 4 * s, 4 * s);
    out.segmentIds.assign(s, -1);
    out.positions.assign(s, 0);
    for (uint32_t k = 0; k < e.segCount; ++k) {
      SegmentEntry se;
      std::memcpy(
          &se, m.data() + m.footer.extraOffset + (e.segBegin + k) * sizeof(se),
          sizeof(se));
      out.segments.push_back(
          PackedSegment{se.exampleIndex, se.start, se.length, se.piece});
      for (int32_t i = 0; i < se.length; ++i) {
        out.segmentIds[se.start + i] = static_cast<int32_t>(k);
        out.positions[se.start + i] = i;
      }
    }
    return true;
  }

private:
  MappedCache m;
  uint64_t pos = 0;
};

} // namespace

//===----------------------------------------------------------------------===//
// Writing and reading files
//===----------------------------------------------------------------------===//

llvm::Error ftl::rt::writeExampleCache(llvm::StringRef path,
                                       llvm::StringRef keyTag,
                                       ExampleStream &examples) {
  return writeFileAtomically(path, [&](llvm::raw_ostream &os) -> llvm::Error {
    BlockWriter w(os);
    writeHeader(w, kKindExamples, keyTag);
    std::vector<ExampleEntry> entries;
    std::vector<std::string> names;
    llvm::DenseMap<const std::string *, uint32_t> byPtr;
    std::map<std::string, uint32_t> byName;
    TokenizedExample ex;
    while (true) {
      auto more = examples.next(ex);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      if (ex.weights.size() != ex.ids.size())
        return makeError("token cache: example " +
                         llvm::Twine(ex.exampleIndex) +
                         " has ids and weights of different lengths");
      ExampleEntry e{};
      e.offset = w.offset();
      e.length = static_cast<uint32_t>(ex.ids.size());
      e.promptLength = ex.promptLength;
      e.exampleIndex = ex.exampleIndex;
      e.line = ex.provenance.line;
      e.sourceIndex = ex.provenance.index;
      e.part = static_cast<uint8_t>(ex.part);
      e.truncated = ex.truncated;
      e.sourceId = UINT32_MAX;
      if (const std::string *src = ex.provenance.source.get()) {
        auto it = byPtr.find(src);
        if (it != byPtr.end()) {
          e.sourceId = it->second;
        } else {
          auto [nit, added] =
              byName.emplace(*src, static_cast<uint32_t>(names.size()));
          if (added)
            names.push_back(*src);
          byPtr[src] = nit->second;
          e.sourceId = nit->second;
        }
      }
      w.write(ex.ids.data(), 4 * ex.ids.size());
      w.write(ex.weights.data(), 4 * ex.weights.size());
      entries.push_back(e);
    }
    w.align(8);
    Footer f{};
    f.count = entries.size();
    f.indexOffset = w.offset();
    w.write(entries.data(), entries.size() * sizeof(ExampleEntry));
    f.extraOffset = w.offset();
    f.extraCount = names.size();
    for (const std::string &n : names) {
      w.put(static_cast<uint32_t>(n.size()));
      w.write(n.data(), n.size());
    }
    w.align(8);
    writeFooter(w, f);
    return llvm::Error::success();
  });
}

llvm::Error ftl::rt::writeRowCache(llvm::StringRef path, llvm::StringRef keyTag,
                                   int64_t seqLen, RowStream &rows) {
  return writeFileAtomically(path, [&](llvm::raw_ostream &os) -> llvm::Error {
    BlockWriter w(os);
    writeHeader(w, kKindRows, keyTag);
    std::vector<RowEntry> entries;
    std::vector<SegmentEntry> segments;
    PackedRow row;
    size_t s = seqLen;
    while (true) {
      auto more = rows.next(row);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      if (row.ids.size() != s || row.weights.size() != s)
        return makeError("token cache: a packed row does not have " +
                         llvm::Twine(seqLen) + " tokens");
      RowEntry e{};
      e.offset = w.offset();
      e.segBegin = segments.size();
      e.segCount = row.segments.size();
      w.write(row.ids.data(), 4 * s);
      w.write(row.weights.data(), 4 * s);
      for (const PackedSegment &seg : row.segments)
        segments.push_back(SegmentEntry{seg.exampleIndex, seg.start, seg.length,
                                        seg.piece, 0});
      entries.push_back(e);
    }
    w.align(8);
    Footer f{};
    f.count = entries.size();
    f.seqLen = seqLen;
    f.indexOffset = w.offset();
    w.write(entries.data(), entries.size() * sizeof(RowEntry));
    f.extraOffset = w.offset();
    f.extraCount = segments.size();
    w.write(segments.data(), segments.size() * sizeof(SegmentEntry));
    writeFooter(w, f);
    return llvm::Error::success();
  });
}

llvm::Expected<std::unique_ptr<ExampleStream>>
ftl::rt::openExampleCache(llvm::StringRef path, llvm::StringRef keyTag) {
  auto m = mapCache(path, kKindExamples, keyTag);
  if (!m)
    return m.takeError();
  const Footer &f = m->footer;
  auto bad = [&](const llvm::Twine &what) {
    return makeError("token cache '" + path + "' is invalid: " + what);
  };
  if ((f.extraOffset - f.indexOffset) / sizeof(ExampleEntry) != f.count ||
      (f.extraOffset - f.indexOffset) % sizeof(ExampleEntry) != 0)
    return bad("index size does not match the example count");
  // Source names.
  std::vector<std::shared_ptr<const std::string>> sources;
  uint64_t p = f.extraOffset;
  for (uint64_t i = 0; i < f.extraCount; ++i) {
    uint32_t len;
    if (p + 4 > f.footerOffset)
      return bad("source name table is truncated");
    std::memcpy(&len, m->data() + p, 4);
    p += 4;
    if (p + len > f.footerOffset)
      return bad("source name table is truncated");
    sources.push_back(std::make_shared<const std::string>(m->data() + p, len));
    p += len;
  }
  for (uint64_t i = 0; i < f.count; ++i) {
    ExampleEntry e;
    std::memcpy(&e, m->data() + f.indexOffset + i * sizeof(e), sizeof(e));
    if (e.offset < kHeaderSize || e.offset % 4 != 0 ||
        e.offset + 8 * uint64_t(e.length) > f.indexOffset)
      return bad("example " + llvm::Twine(i) + " points outside the data");
    if (e.part > 2 ||
        (e.sourceId != UINT32_MAX && e.sourceId >= sources.size()))
      return bad("example " + llvm::Twine(i) + " has an invalid entry");
  }
  return std::make_unique<CachedExampleStream>(std::move(*m),
                                               std::move(sources));
}

llvm::Expected<std::unique_ptr<RowStream>>
ftl::rt::openRowCache(llvm::StringRef path, llvm::StringRef keyTag) {
  auto m = mapCache(path, kKindRows, keyTag);
  if (!m)
    return m.takeError();
  const Footer &f = m->footer;
  auto bad = [&](const llvm::Twine &what) {
    return makeError("token cache '" + path + "' is invalid: " + what);
  };
  if (f.seqLen == 0 || f.seqLen > INT32_MAX)
    return bad("sequence length " + llvm::Twine(f.seqLen));
  if ((f.extraOffset - f.indexOffset) != f.count * sizeof(RowEntry))
    return bad("index size does not match the row count");
  if (f.footerOffset - f.extraOffset != f.extraCount * sizeof(SegmentEntry))
    return bad("segment table size does not match its count");
  uint64_t s = f.seqLen;
  for (uint64_t i = 0; i < f.count; ++i) {
    RowEntry e;
    std::memcpy(&e, m->data() + f.indexOffset + i * sizeof(e), sizeof(e));
    if (e.offset < kHeaderSize || e.offset % 4 != 0 ||
        e.offset + 8 * s > f.indexOffset)
      return bad("row " + llvm::Twine(i) + " points outside the data");
    if (e.segBegin + e.segCount > f.extraCount)
      return bad("row " + llvm::Twine(i) + " has invalid segments");
    // Segments tile the row's start in order.
    uint64_t end = 0;
    for (uint32_t k = 0; k < e.segCount; ++k) {
      SegmentEntry se;
      std::memcpy(&se,
                  m->data() + f.extraOffset + (e.segBegin + k) * sizeof(se),
                  sizeof(se));
      if (se.start < 0 || uint64_t(se.start) != end || se.length <= 0 ||
          uint64_t(se.start) + se.length > s)
        return bad("row " + llvm::Twine(i) + " has an invalid segment");
      end = se.start + se.length;
    }
  }
  return std::make_unique<CachedRowStream>(std::move(*m));
}

//===----------------------------------------------------------------------===//
// TokenCache
//===----------------------------------------------------------------------===//

std::string TokenCache::defaultDirectory() {
  if (const char *env = std::getenv("FTL_CACHE_DIR"); env && *env)
    return env;
  llvm::SmallString<256> path;
  if (const char *home = std::getenv("HOME"); home && *home)
    path = home;
  else
    path = "/tmp";
  llvm::sys::path::append(path, ".cache", "ftl", "tokens");
  return std::string(path);
}

llvm::Expected<TokenCache> TokenCache::open(llvm::StringRef dir) {
  std::string d = dir.empty() ? defaultDirectory() : dir.str();
  if (std::error_code ec = llvm::sys::fs::create_directories(d))
    return makeError("cannot create the token cache folder '" + d +
                     "': " + ec.message());
  if (!llvm::sys::fs::is_directory(d))
    return makeError("token cache '" + d + "' is not a folder");
  return TokenCache(d);
}

static llvm::Error hashFile(llvm::StringRef path, llvm::SHA256 &sha) {
  auto src = openFileSource(path, "a data file");
  if (!src)
    return src.takeError();
  std::vector<char> buf(4 << 20);
  uint64_t off = 0;
  while (true) {
    auto got = (*src)->read(buf.data(), buf.size(), off);
    if (!got)
      return got.takeError();
    if (*got == 0)
      break;
    llvm::XXH128_hash_t h = llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(buf.data()), *got));
    sha.update(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(&h.high64), 8));
    sha.update(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(&h.low64), 8));
    off += *got;
  }
  sha.update("size:" + std::to_string(off) + "\n");
  return llvm::Error::success();
}

llvm::Expected<std::string> TokenCache::key(const Dataset &data,
                                            const Tokenizer &tokenizer,
                                            llvm::StringRef stage) {
  llvm::SHA256 sha;
  sha.update("ftl-token-cache v" + std::to_string(kVersion) + "\n");
  sha.update(data.describe(/*forKey=*/true) + "\n");
  std::vector<std::string> files;
  data.sourceFiles(files);
  for (const std::string &f : files)
    if (llvm::Error e = hashFile(f, sha))
      return std::move(e);
  sha.update("tokenizer: " + tokenizer.fingerprint() + "\n");
  sha.update(("stage: " + stage + "\n").str());
  std::array<uint8_t, 32> digest = sha.final();
  return llvm::toHex(digest, /*LowerCase=*/true);
}

template <typename Stream, typename OpenFn, typename BuildFn>
static llvm::Expected<std::unique_ptr<Stream>>
throughCache(const std::string &path, const std::string &key,
             CacheOutcome *outcome, OpenFn openFn, BuildFn buildFn) {
  CacheOutcome local;
  CacheOutcome &out = outcome ? *outcome : local;
  out = CacheOutcome();
  out.path = path;
  if (llvm::sys::fs::exists(path)) {
    auto s = openFn(path, key);
    if (s) {
      out.kind = CacheOutcome::Kind::Hit;
      return s;
    }
    out.kind = CacheOutcome::Kind::Rebuilt;
    out.reason = llvm::toString(s.takeError());
    llvm::sys::fs::remove(path);
  }
  if (llvm::Error e = buildFn(path, key))
    return std::move(e);
  return openFn(path, key);
}

llvm::Expected<std::unique_ptr<ExampleStream>>
TokenCache::examples(DatasetRef data, const Tokenizer &tokenizer,
                     const TokenizeOptions &options, const DataContext &ctx,
                     CacheOutcome *outcome) const {
  std::string stage = options.describe();
  auto k = key(*data, tokenizer, stage);
  if (!k)
    return k.takeError();
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, *k + ".examples.ftlcache");
  return throughCache<ExampleStream>(
      std::string(path), *k, outcome,
      [](llvm::StringRef p, llvm::StringRef key) {
        return openExampleCache(p, key);
      },
      [&](llvm::StringRef p, llvm::StringRef key) -> llvm::Error {
        auto s = tokenizeDataset(data, tokenizer, options, ctx);
        if (!s)
          return s.takeError();
        return writeExampleCache(p, key, **s);
      });
}

llvm::Expected<std::unique_ptr<RowStream>>
TokenCache::packedRows(DatasetRef data, const Tokenizer &tokenizer,
                       const TokenizeOptions &options, const PackOptions &pack,
                       const DataContext &ctx, CacheOutcome *outcome) const {
  int32_t pad = pack.padId >= 0 ? pack.padId : defaultPadId(&tokenizer);
  std::string stage =
      options.describe() + " |> pack(" + std::to_string(pack.seqLen) +
      ", pad: " + std::to_string(pad) +
      (pack.virtualTokens ? ", virtual: " + std::to_string(pack.virtualTokens)
                          : std::string()) +
      ")";
  auto k = key(*data, tokenizer, stage);
  if (!k)
    return k.takeError();
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, *k + ".rows.ftlcache");
  return throughCache<RowStream>(
      std::string(path), *k, outcome,
      [](llvm::StringRef p, llvm::StringRef key) {
        return openRowCache(p, key);
      },
      [&](llvm::StringRef p, llvm::StringRef key) -> llvm::Error {
        auto s = tokenizeDataset(data, tokenizer, options, ctx);
        if (!s)
          return s.takeError();
        PackOptions po = pack;
        po.padId = pad;
        auto rows = packExamples(std::move(*s), po, &tokenizer, ctx.stats);
        if (!rows)
          return rows.takeError();
        return writeRowCache(p, key, pack.seqLen, **rows);
      });
}
