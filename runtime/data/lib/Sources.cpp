//===- Sources.cpp - JSONL, text and in-memory sources --------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "ftl/Data/Dataset.h"
#include "ftl/Data/Json.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

using namespace ftl::rt;
using namespace ftl::rt::detail;

static const char kBom[] = "\xEF\xBB\xBF";

static std::string hexHash(llvm::StringRef bytes) {
  llvm::XXH128_hash_t h = llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::format_hex_no_prefix(h.high64, 16)
     << llvm::format_hex_no_prefix(h.low64, 16);
  return out;
}

// 1-based column in code points of byte `offset` of `line`.
static size_t columnOf(llvm::StringRef line, size_t offset) {
  return countCodePoints(line.take_front(offset)) + 1;
}

static void describeMappingAndOptions(llvm::raw_ostream &os,
                                      const FieldMapping &mapping,
                                      OnError onError, InvalidUtf8 utf8) {
  for (const FieldAlias &a : mapping.aliases) {
    os << ", " << a.name << ": ";
    for (const std::string &k : a.path)
      os << "." << k;
  }
  if (onError == OnError::Skip)
    os << ", on_error: skip";
  if (utf8 == InvalidUtf8::Replace)
    os << ", invalid_utf8: replace";
}

//===----------------------------------------------------------------------===//
// JSONL
//===----------------------------------------------------------------------===//

namespace {

struct JsonlConfig {
  std::string path;                            // or the buffer's name
  std::shared_ptr<const std::string> contents; // null for a file
  JsonlOptions options;
  std::shared_ptr<const FieldMapping> mapping;
  std::shared_ptr<const std::string> sourceName;
  std::shared_ptr<const OpChain> chain;

  llvm::Expected<std::shared_ptr<ByteSource>> openSource() const {
    if (contents) {
      if (contents->empty())
        return makeError("'" + path + "' is empty, expected JSON lines");
      return memorySource(path, contents);
    }
    return openFileSource(path, "a JSON lines file");
  }
};

/// Turns lines into records; shared by the stream, the index builder and
/// random access.
class JsonlLineParser {
public:
  JsonlLineParser(const JsonlConfig &cfg, const DataContext &ctx)
      : cfg(cfg), ctx(ctx) {
    popts.replaceInvalidUtf8 = cfg.options.invalidUtf8 == InvalidUtf8::Replace;
  }

  enum class Result { Record, Blank, Skipped };

  /// Parses one line. With on_error: fail, problems are errors; with skip
  /// they are counted and give Skipped.
  llvm::Expected<Result> parse(llvm::StringRef line, int64_t lineNo,
                               uint64_t lineOffset, int64_t index,
                               Record &out) {
    if (lineOffset == 0 && line.starts_with(kBom)) {
      line = line.drop_front(3);
      lineOffset += 3;
    }
    if (isBlank(line))
      return Result::Blank;
    Value v;
    JsonParseError err;
    if (!parseJson(line, v, err, popts)) {
      std::string msg = cfg.path + ":" + std::to_string(lineNo) + ":" +
                        std::to_string(columnOf(line, err.offset)) + ": " +
                        err.message;
      if (err.invalidUtf8)
        msg += " (byte offset " + std::to_string(lineOffset + err.offset) +
               " in the file; use invalid_utf8: replace to substitute "
               "U+FFFD)";
      return problem(err.invalidUtf8 ? "invalid UTF-8" : "invalid JSON", msg);
    }
    if (!v.isObject())
      return problem("not an object", cfg.path + ":" + std::to_string(lineNo) +
                                          ": expected a JSON object, found a " +
                                          v.kindName().str());
    out = Record(std::move(v.getObject()));
    out.setMapping(cfg.mapping);
    Provenance &p = out.provenance();
    p.source = cfg.sourceName;
    p.line = lineNo;
    p.index = index;
    p.chain = cfg.chain;
    if (cfg.mapping)
      for (const FieldAlias &a : cfg.mapping->aliases)
        if (!out.get(a.name)) {
          auto e = out.require(a.name);
          return problem("missing field", llvm::toString(e.takeError()));
        }
    return Result::Record;
  }

  llvm::Expected<Result> problem(llvm::StringRef reason,
                                 const std::string &message) {
    if (firstProblem.empty())
      firstProblem = message;
    if (cfg.options.onError == OnError::Fail)
      return makeError(message);
    std::string key = ("skipped: " + reason).str();
    ctx.count(key);
    if (ctx.stats)
      ctx.stats->note(key, message);
    ++skipped;
    return Result::Skipped;
  }

  std::string firstProblem;
  int64_t skipped = 0;

private:
  const JsonlConfig &cfg;
  DataContext ctx;
  JsonParseOptions popts;
};

class JsonlStream : public RecordStream {
public:
  JsonlStream(std::shared_ptr<const JsonlConfig> cfg,
              std::shared_ptr<ByteSource> src, const DataContext &ctx)
      : cfg(std::move(cfg)), reader(std::move(src)), parser(*this->cfg, ctx),
        ctx(ctx) {}

  llvm::Expected<bool> next(Record &out) override {
    if (done)
      return false;
    llvm::StringRef line;
    while (true) {
      auto more = reader.next(line);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      auto res = parser.parse(line, reader.lineNumber(), reader.lineOffset(),
                              produced, out);
      if (!res)
        return res.takeError();
      if (*res == JsonlLineParser::Result::Blank)
        continue;
      if (*res == JsonlLineParser::Result::Skipped)
        continue;
      lastOffset = reader.lineOffset();
      lastLength = line.size();
      ++produced;
      ctx.count("records read");
      return true;
    }
    done = true;
    if (produced == 0) {
      if (parser.skipped == 0)
        return makeError("'" + cfg->path +
                         "' has no records: it has only blank lines "
                         "(expected one JSON object per line)");
      return makeError(
          "'" + cfg->path + "' has no valid records: all " +
          std::to_string(parser.skipped) +
          " non-blank lines were skipped (first: " + parser.firstProblem + ")");
    }
    return false;
  }

  uint64_t lastOffset = 0, lastLength = 0;

private:
  std::shared_ptr<const JsonlConfig> cfg;
  LineReader reader;
  JsonlLineParser parser;
  DataContext ctx;
  int64_t produced = 0;
  bool done = false;
};

struct LineRef {
  uint64_t offset;
  uint64_t length;
  int64_t line;
};

class JsonlIndexed : public IndexedRecords {
public:
  JsonlIndexed(std::shared_ptr<const JsonlConfig> cfg,
               std::shared_ptr<ByteSource> src, std::vector<LineRef> lines,
               const DataContext &ctx)
      : cfg(std::move(cfg)), src(std::move(src)), lines(std::move(lines)),
        parser(*this->cfg, DataContext{ctx.seed, ctx.tokenizer, nullptr}) {}
  size_t size() const override { return lines.size(); }
  llvm::Expected<Record> get(size_t i) override {
    const LineRef &l = lines[i];
    buf.resize(l.length);
    auto got = src->read(buf.data(), l.length, l.offset);
    if (!got)
      return got.takeError();
    if (*got != l.length)
      return makeError("'" + cfg->path + "' changed while being read");
    Record r;
    auto res = parser.parse(llvm::StringRef(buf.data(), buf.size()), l.line,
                            l.offset, i, r);
    if (!res)
      return res.takeError();
    if (*res != JsonlLineParser::Result::Record)
      return makeError("'" + cfg->path + "' changed while being read (line " +
                       std::to_string(l.line) + ")");
    return r;
  }

private:
  std::shared_ptr<const JsonlConfig> cfg;
  std::shared_ptr<ByteSource> src;
  std::vector<LineRef> lines;
  JsonlLineParser parser;
  std::vector<char> buf;
};

class JsonlDataset : public Dataset {
public:
  explicit JsonlDataset(std::shared_ptr<const JsonlConfig> cfg)
      : cfg(std::move(cfg)) {}

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override {
    auto src = cfg->openSource();
    if (!src)
      return src.takeError();
    return std::make_unique<JsonlStream>(cfg, std::move(*src), ctx);
  }

  llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const override {
    auto src = cfg->openSource();
    if (!src)
      return src.takeError();
    JsonlStream scan(cfg, *src, ctx);
    std::vector<LineRef> lines;
    Record r;
    while (true) {
      auto more = scan.next(r);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      lines.push_back(
          LineRef{scan.lastOffset, scan.lastLength, r.provenance().line});
    }
    return std::make_unique<JsonlIndexed>(cfg, std::move(*src),
                                          std::move(lines), ctx);
  }

  std::optional<std::vector<std::string>> schema() const override {
    return std::nullopt;
  }

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    os << "jsonl(";
    if (!forKey)
      describeString(os, cfg->path);
    else if (cfg->contents)
      os << "xxh3:" << hexHash(*cfg->contents);
    else
      os << "#file";
    describeMappingAndOptions(os, *cfg->mapping, cfg->options.onError,
                              cfg->options.invalidUtf8);
    os << ")";
  }

  void sourceFiles(std::vector<std::string> &out) const override {
    if (!cfg->contents)
      out.push_back(cfg->path);
  }

private:
  std::shared_ptr<const JsonlConfig> cfg;
};

llvm::Expected<DatasetRef>
makeJsonl(llvm::StringRef path, std::shared_ptr<const std::string> contents,
          JsonlOptions options) {
  llvm::StringSet<> names;
  for (const FieldAlias &a : options.mapping) {
    if (a.name.empty())
      return makeError("jsonl '" + path +
                       "': a field mapping has an empty name");
    if (a.path.empty())
      return makeError("jsonl '" + path + "': the mapping of '" + a.name +
                       "' has an empty path, expected e.g. '.question'");
    if (!names.insert(a.name).second)
      return makeError("jsonl '" + path + "': field '" + a.name +
                       "' is mapped twice");
  }
  auto cfg = std::make_shared<JsonlConfig>();
  cfg->path = path.str();
  cfg->contents = std::move(contents);
  auto mapping = std::make_shared<FieldMapping>();
  mapping->aliases = options.mapping;
  cfg->mapping = std::move(mapping);
  cfg->options = std::move(options);
  cfg->sourceName = std::make_shared<const std::string>(path.str());
  cfg->chain = std::make_shared<OpChain>(OpChain{"jsonl", nullptr});
  return std::make_shared<JsonlDataset>(std::move(cfg));
}

} // namespace

llvm::Expected<DatasetRef> ftl::rt::jsonlDataset(llvm::StringRef path,
                                                 JsonlOptions options) {
  return makeJsonl(path, nullptr, std::move(options));
}

llvm::Expected<DatasetRef> ftl::rt::jsonlBufferDataset(llvm::StringRef name,
                                                       std::string contents,
                                                       JsonlOptions options) {
  return makeJsonl(name,
                   std::make_shared<const std::string>(std::move(contents)),
                   std::move(options));
}

llvm::Expected<std::vector<std::string>>
ftl::rt::peekFieldNames(llvm::StringRef path) {
  auto src = openFileSource(path, "a JSON lines file");
  if (!src)
    return src.takeError();
  LineReader reader(*src);
  llvm::StringRef line;
  std::string firstProblem;
  while (true) {
    auto more = reader.next(line);
    if (!more)
      return more.takeError();
    if (!*more)
      break;
    if (reader.lineOffset() == 0)
      line.consume_front(kBom);
    if (isBlank(line))
      continue;
    Value v;
    JsonParseError err;
    if (parseJson(line, v, err) && v.isObject()) {
      std::vector<std::string> names;
      for (const Member &m : v.getObject())
        names.push_back(m.name);
      return names;
    }
    if (firstProblem.empty())
      firstProblem =
          path.str() + ":" + std::to_string(reader.lineNumber()) + ": " +
          (v.isObject() || err.message.size()
               ? err.message
               : "expected a JSON object, found a " + v.kindName().str());
  }
  if (firstProblem.empty())
    return makeError("'" + path +
                     "' has no records: it has only blank lines (expected "
                     "one JSON object per line)");
  return makeError("'" + path + "' has no valid JSON object record (first: " +
                   firstProblem + ")");
}

//===----------------------------------------------------------------------===//
// Text
//===----------------------------------------------------------------------===//

namespace {

struct TextConfig {
  std::string path;
  std::shared_ptr<const std::string> contents;
  TextOptions options;
  std::shared_ptr<const std::string> sourceName;
  std::shared_ptr<const OpChain> chain;

  llvm::Expected<std::shared_ptr<ByteSource>> openSource() const {
    if (contents) {
      if (contents->empty())
        return makeError("'" + path + "' is empty, expected text");
      return memorySource(path, contents);
    }
    return openFileSource(path, "a text file");
  }
};

/// A record's lines as read: their text and file offsets.
struct TextPiece {
  std::string text;
  int64_t firstLine = 0;
  uint64_t startOffset = 0, endOffset = 0;
  std::vector<std::pair<size_t, uint64_t>> lineStarts; // text pos -> file off
};

llvm::Error makeTextRecord(const TextConfig &cfg, TextPiece &piece,
                           int64_t index, Record &out) {
  size_t bad = findInvalidUtf8(piece.text);
  if (bad != llvm::StringRef::npos) {
    if (cfg.options.invalidUtf8 == InvalidUtf8::Error) {
      // Find the line holding the bad byte.
      size_t k = 0;
      while (k + 1 < piece.lineStarts.size() &&
             piece.lineStarts[k + 1].first <= bad)
        ++k;
      size_t lineBegin = piece.lineStarts[k].first;
      uint64_t fileOff = piece.lineStarts[k].second + (bad - lineBegin);
      llvm::StringRef text(piece.text);
      unsigned char byte = text[bad];
      static const char hex[] = "0123456789abcdef";
      std::string b = "0x";
      b += hex[byte >> 4];
      b += hex[byte & 15];
      return makeError(
          cfg.path + ":" + std::to_string(piece.firstLine + k) + ":" +
          std::to_string(columnOf(text.substr(lineBegin), bad - lineBegin)) +
          ": invalid UTF-8: byte " + b +
          " is not part of a valid character (byte offset " +
          std::to_string(fileOff) +
          " in the file; use invalid_utf8: replace to "
          "substitute U+FFFD)");
    }
    piece.text = repairUtf8(piece.text);
  }
  std::vector<Member> fields;
  fields.push_back(Member{"text", Value(std::move(piece.text))});
  out = Record(std::move(fields));
  Provenance &p = out.provenance();
  p.source = cfg.sourceName;
  p.line = piece.firstLine;
  p.index = index;
  p.chain = cfg.chain;
  return llvm::Error::success();
}

/// Groups lines into pieces per the split mode.
class TextPieceReader {
public:
  TextPieceReader(const TextConfig &cfg, std::shared_ptr<ByteSource> src,
                  int64_t firstLine = 1, bool atFileStart = true)
      : cfg(cfg), reader(std::move(src), 0, firstLine),
        atFileStart(atFileStart) {}

  llvm::Expected<bool> next(TextPiece &piece) {
    piece = TextPiece();
    bool have = false;
    llvm::StringRef line;
    while (true) {
      auto more = reader.next(line);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      uint64_t off = reader.lineOffset();
      if (off == 0 && atFileStart && line.starts_with(kBom)) {
        line = line.drop_front(3);
        off += 3;
      }
      bool blank = isBlank(line);
      if (cfg.options.split == TextSplit::Line && blank)
        continue;
      if (cfg.options.split == TextSplit::Paragraph && blank) {
        if (have)
          return true;
        continue;
      }
      if (!have) {
        have = true;
        piece.firstLine = reader.lineNumber();
        piece.startOffset = off;
      } else {
        piece.text += '\n';
      }
      piece.lineStarts.emplace_back(piece.text.size(), off);
      piece.text += line;
      piece.endOffset = off + line.size();
      if (cfg.options.split == TextSplit::Line)
        return true;
    }
    if (cfg.options.split == TextSplit::File && have && isBlank(piece.text))
      return false;
    return have;
  }

private:
  const TextConfig &cfg;
  LineReader reader;
  bool atFileStart;
};

class TextStream : public RecordStream {
public:
  TextStream(std::shared_ptr<const TextConfig> cfg,
             std::shared_ptr<ByteSource> src, const DataContext &ctx)
      : cfg(std::move(cfg)), pieces(*this->cfg, std::move(src)), ctx(ctx) {}

  llvm::Expected<bool> next(Record &out) override {
    if (done)
      return false;
    auto more = pieces.next(piece);
    if (!more)
      return more.takeError();
    if (!*more) {
      done = true;
      if (produced == 0)
        return makeError("'" + cfg->path +
                         "' has no text: it has only blank lines");
      return false;
    }
    lastStart = piece.startOffset;
    lastEnd = piece.endOffset;
    lastLine = piece.firstLine;
    if (llvm::Error e = makeTextRecord(*cfg, piece, produced, out))
      return std::move(e);
    ++produced;
    ctx.count("records read");
    return true;
  }

  uint64_t lastStart = 0, lastEnd = 0;
  int64_t lastLine = 0;

private:
  std::shared_ptr<const TextConfig> cfg;
  TextPieceReader pieces;
  TextPiece piece;
  DataContext ctx;
  int64_t produced = 0;
  bool done = false;
};

struct TextRef {
  uint64_t start, end;
  int64_t line;
};

class TextIndexed : public IndexedRecords {
public:
  TextIndexed(std::shared_ptr<const TextConfig> cfg,
              std::shared_ptr<ByteSource> src, std::vector<TextRef> refs)
      : cfg(std::move(cfg)), src(std::move(src)), refs(std::move(refs)) {}
  size_t size() const override { return refs.size(); }
  llvm::Expected<Record> get(size_t i) override {
    const TextRef &t = refs[i];
    // Re-read the record's bytes as its own small source.
    std::string bytes(t.end - t.start, '\0');
    auto got = src->read(bytes.data(), bytes.size(), t.start);
    if (!got)
      return got.takeError();
    if (*got != bytes.size())
      return makeError("'" + cfg->path + "' changed while being read");
    auto sub = memorySource(
        cfg->path, std::make_shared<const std::string>(std::move(bytes)));
    TextPieceReader reader(*cfg, sub, t.line, /*atFileStart=*/false);
    TextPiece piece;
    auto more = reader.next(piece);
    if (!more)
      return more.takeError();
    if (!*more)
      return makeError("'" + cfg->path + "' changed while being read");
    // Offsets in messages are relative to the record: shift them.
    for (auto &ls : piece.lineStarts)
      ls.second += t.start;
    Record r;
    if (llvm::Error e = makeTextRecord(*cfg, piece, i, r))
      return std::move(e);
    return r;
  }

private:
  std::shared_ptr<const TextConfig> cfg;
  std::shared_ptr<ByteSource> src;
  std::vector<TextRef> refs;
};

class TextDataset : public Dataset {
public:
  explicit TextDataset(std::shared_ptr<const TextConfig> cfg)
      : cfg(std::move(cfg)) {}

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override {
    auto src = cfg->openSource();
    if (!src)
      return src.takeError();
    return std::make_unique<TextStream>(cfg, std::move(*src), ctx);
  }

  llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const override {
    auto src = cfg->openSource();
    if (!src)
      return src.takeError();
    TextStream scan(cfg, *src, ctx);
    std::vector<TextRef> refs;
    Record r;
    while (true) {
      auto more = scan.next(r);
      if (!more)
        return more.takeError();
      if (!*more)
        break;
      refs.push_back(TextRef{scan.lastStart, scan.lastEnd, scan.lastLine});
    }
    return std::make_unique<TextIndexed>(cfg, std::move(*src), std::move(refs));
  }

  std::optional<std::vector<std::string>> schema() const override {
    return std::vector<std::string>{"text"};
  }

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    os << "text(";
    if (!forKey)
      describeString(os, cfg->path);
    else if (cfg->contents)
      os << "xxh3:" << hexHash(*cfg->contents);
    else
      os << "#file";
    switch (cfg->options.split) {
    case TextSplit::Line:
      os << ", split: line";
      break;
    case TextSplit::Paragraph:
      os << ", split: paragraph";
      break;
    case TextSplit::File:
      os << ", split: file";
      break;
    }
    if (cfg->options.invalidUtf8 == InvalidUtf8::Replace)
      os << ", invalid_utf8: replace";
    os << ")";
  }

  void sourceFiles(std::vector<std::string> &out) const override {
    if (!cfg->contents)
      out.push_back(cfg->path);
  }

private:
  std::shared_ptr<const TextConfig> cfg;
};

DatasetRef makeText(llvm::StringRef path,
                    std::shared_ptr<const std::string> contents,
                    TextOptions options) {
  auto cfg = std::make_shared<TextConfig>();
  cfg->path = path.str();
  cfg->contents = std::move(contents);
  cfg->options = options;
  cfg->sourceName = std::make_shared<const std::string>(path.str());
  cfg->chain = std::make_shared<OpChain>(OpChain{"text", nullptr});
  return std::make_shared<TextDataset>(std::move(cfg));
}

} // namespace

DatasetRef ftl::rt::textDataset(llvm::StringRef path, TextOptions options) {
  return makeText(path, nullptr, options);
}

DatasetRef ftl::rt::textBufferDataset(llvm::StringRef name,
                                      std::string contents,
                                      TextOptions options) {
  return makeText(
      name, std::make_shared<const std::string>(std::move(contents)), options);
}

//===----------------------------------------------------------------------===//
// In-memory records
//===----------------------------------------------------------------------===//

namespace {

class RecordsDataset : public Dataset {
public:
  RecordsDataset(std::string name, std::vector<Record> recs)
      : name(std::move(name)) {
    auto src = std::make_shared<const std::string>(this->name);
    auto chain = std::make_shared<OpChain>(OpChain{"records", nullptr});
    for (size_t i = 0; i < recs.size(); ++i) {
      Provenance &p = recs[i].provenance();
      if (!p.source) {
        p.source = src;
        p.index = i;
      }
      if (!p.chain)
        p.chain = chain;
    }
    records = std::make_shared<const std::vector<Record>>(std::move(recs));
  }

  llvm::Expected<std::unique_ptr<RecordStream>>
  open(const DataContext &ctx) const override {
    return std::make_unique<Stream>(records, ctx);
  }

  llvm::Expected<std::unique_ptr<IndexedRecords>>
  openIndexed(const DataContext &ctx) const override {
    ctx.count("records read", records->size());
    return std::make_unique<VectorIndexed>(records);
  }

  void describe(llvm::raw_ostream &os, bool forKey) const override {
    os << "records(";
    describeString(os, name);
    if (forKey) {
      std::string all;
      llvm::raw_string_ostream js(all);
      for (const Record &r : *records) {
        r.toObject().writeCanonicalJson(js);
        js << '\n';
      }
      os << ", xxh3:" << hexHash(all);
    }
    os << ", n: " << records->size() << ")";
  }

private:
  class Stream : public RecordStream {
  public:
    Stream(std::shared_ptr<const std::vector<Record>> records,
           const DataContext &ctx)
        : records(std::move(records)), ctx(ctx) {}
    llvm::Expected<bool> next(Record &out) override {
      if (pos >= records->size())
        return false;
      out = (*records)[pos++];
      ctx.count("records read");
      return true;
    }

  private:
    std::shared_ptr<const std::vector<Record>> records;
    DataContext ctx;
    size_t pos = 0;
  };

  std::string name;
  std::shared_ptr<const std::vector<Record>> records;
};

} // namespace

DatasetRef ftl::rt::recordsDataset(llvm::StringRef name,
                                   std::vector<Record> records) {
  return std::make_shared<RecordsDataset>(name.str(), std::move(records));
}
